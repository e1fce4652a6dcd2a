"""An in-memory Dfns implementing the ``DfnsGateway`` port, for logic tests.

Faithful where the logic depends on it (DFNS.md §2, §4.6, §5): wallets with tags and externalId,
policies replaced whole, a ``Policies:Modify`` governance policy turning updates into 202 change
requests with an approval, one pending change request per policy (a second is a 409), approvals that
apply or reject the change. Failure injection: ``fail(method, nth=..., error=..., after_effect=...)``
raises on the Nth call of a method, before or after the call took effect.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from managed_accounts.dfns.errors import DfnsConflict, DfnsError, DfnsNotFound, DfnsUnavailable
from managed_accounts.dfns.models import (
    Approval,
    ApprovalActivity,
    AuditLogRow,
    ChangeRequest,
    CreateWalletBody,
    HistoryEvent,
    Policy,
    PolicyBody,
    PolicyEvaluation,
    TransferBody,
    TransferRequest,
    Wallet,
    WalletAssets,
    WhitelistRule,
)
from managed_accounts.domain.ports import ChangeRequestPending, PolicyApplied, PolicyChangeOutcome

DuplicateExternalId = Literal["conflict", "return_existing", "create_another"]


@dataclass
class _Fault:
    nth: int
    error: DfnsError
    after_effect: bool


class FakeDfns:
    def __init__(self, *, duplicate_external_id: DuplicateExternalId = "conflict") -> None:
        self.duplicate_external_id = duplicate_external_id
        self.wallets: dict[str, Wallet] = {}
        self.policies: dict[str, Policy] = {}
        self.approvals: dict[str, Approval] = {}
        self.transfers: dict[str, TransferRequest] = {}
        self.blocked_recipients: set[str] = set()  # transfers to these end Rejected, as a Block policy does
        self.calls: Counter[str] = Counter()
        self._faults: dict[str, list[_Fault]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # --- test controls ------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        nth: int = 1,
        error: DfnsError | None = None,
        after_effect: bool = False,
    ) -> None:
        """The ``nth`` next call of ``method`` raises ``error`` (DfnsUnavailable by default); with
        ``after_effect`` the call takes effect first, as when Dfns acted but the answer was lost."""
        error = error or DfnsUnavailable("injected outage", status=503, may_have_reached_dfns=after_effect)
        self._faults.setdefault(method, []).append(_Fault(self.calls[method] + nth, error, after_effect))

    def install_governance(self, approver_ids: list[str] | None = None) -> Policy:
        """The one-time Policies:Modify + AlwaysTrigger + RequestApproval policy (compliance approval)."""
        approvers = {"userId": {"in": approver_ids or ["us-co"]}}
        body = PolicyBody.model_validate(
            {
                "name": "governance",
                "activityKind": "Policies:Modify",
                "rule": {"kind": "AlwaysTrigger", "configuration": {}},
                "action": {
                    "kind": "RequestApproval",
                    "approvalGroups": [{"quorum": 1, "approvers": approvers}],
                },
            }
        )
        return self._store_policy(body)

    def decide(self, approval_id: str, value: Literal["Approved", "Denied", "Expired"]) -> Approval:
        """A compliance officer's decision (or expiry): applies or rejects the change request."""
        with self._lock:
            approval = self.approvals[approval_id]
            if approval.status != "Pending":
                return approval
            change = approval.activity.change_request if approval.activity else None
            assert change is not None
            policy = self.policies[str(change.entity_id)]
            applied = value == "Approved"
            if applied and change.body is not None:
                policy = Policy.model_validate({**policy.model_dump(by_alias=True), **change.body})
            resolved = change.model_copy(update={"status": "Applied" if applied else "Rejected"})
            self.policies[policy.id] = policy.model_copy(update={"pending_change_request": None})
            approval = approval.model_copy(
                update={
                    "status": value,
                    "date_resolved": datetime.now(UTC),
                    "activity": ApprovalActivity(kind="Policies:Modify", change_request=resolved),
                }
            )
            self.approvals[approval_id] = approval
            return approval

    def pending_approval_ids(self) -> list[str]:
        with self._lock:
            return [a.id for a in self.approvals.values() if a.status == "Pending"]

    def whitelist(self, policy_id: str) -> list[str]:
        rule = self.policies[policy_id].rule
        assert isinstance(rule, WhitelistRule)
        return list(rule.configuration.addresses)

    def policies_named(self, name: str) -> list[Policy]:
        return [p for p in self.policies.values() if p.name == name and p.status == "Active"]

    # --- plumbing -----------------------------------------------------------------------------------

    def _enter(self, method: str) -> _Fault | None:
        self.calls[method] += 1
        for fault in self._faults.get(method, []):
            if fault.nth == self.calls[method]:
                self._faults[method].remove(fault)
                if not fault.after_effect:
                    raise fault.error
                return fault
        return None

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):05d}"

    def _store_policy(self, body: PolicyBody) -> Policy:
        policy = Policy.model_validate({**body.model_dump(by_alias=True), "id": self._id("plc")})
        self.policies[policy.id] = policy
        return policy

    def _governance(self, policy_id: str) -> Policy | None:
        for policy in self.policies.values():
            if policy.status != "Active" or policy.activity_kind != "Policies:Modify":
                continue
            scope = policy.filters.policy_id if policy.filters else None
            if scope is None or policy_id in scope.in_:
                return policy
        return None

    # --- wallets ------------------------------------------------------------------------------------

    def create_wallet(self, body: CreateWalletBody) -> Wallet:
        with self._lock:
            fault = self._enter("create_wallet")
            existing = next(
                (w for w in self.wallets.values() if body.external_id and w.external_id == body.external_id),
                None,
            )
            if existing and self.duplicate_external_id == "conflict":
                raise DfnsConflict(
                    "Conflicting wallet with same externalId",
                    status=409,
                    details={"duplicate": {"id": existing.id, "externalId": body.external_id}},
                )
            if existing and self.duplicate_external_id == "return_existing":
                wallet = existing
            else:
                wallet_id = self._id("wa")
                address = "0x" + hashlib.sha256(wallet_id.encode()).hexdigest()[:40]
                wallet = Wallet(
                    id=wallet_id,
                    network=body.network,
                    address=address,
                    name=body.name,
                    external_id=body.external_id,
                    tags=list(body.tags or []),
                )
                self.wallets[wallet.id] = wallet
            if fault:
                raise fault.error
            return wallet

    def get_wallet(self, wallet_id: str) -> Wallet:
        with self._lock:
            self._enter("get_wallet")
            if wallet_id not in self.wallets:
                raise DfnsNotFound("wallet not found", status=404)
            return self.wallets[wallet_id]

    def iter_wallets(self, *, page_size: int = 100) -> Iterator[Wallet]:
        with self._lock:
            self._enter("iter_wallets")
            wallets = list(self.wallets.values())
        yield from wallets

    def tag_wallet(self, wallet_id: str, tags: list[str]) -> None:
        with self._lock:
            self._enter("tag_wallet")
            wallet = self.wallets[wallet_id]
            merged = list(dict.fromkeys([*wallet.tags, *tags]))
            self.wallets[wallet_id] = wallet.model_copy(update={"tags": merged})

    def get_wallet_assets(self, wallet_id: str) -> WalletAssets:
        self._enter("get_wallet_assets")
        return WalletAssets(wallet_id=wallet_id, network=self.wallets[wallet_id].network)

    def iter_wallet_history(self, wallet_id: str, *, page_size: int = 100) -> Iterator[HistoryEvent]:
        self._enter("iter_wallet_history")
        return iter(())

    # --- transfers: externalId idempotency (DFNS.md §3.2), blocked recipients, statuses set by hand ------

    def transfer(self, wallet_id: str, body: TransferBody) -> TransferRequest:
        with self._lock:
            fault = self._enter("transfer")
            wire = body.to_wire()
            request = self._same_external_id(wallet_id, wire) or self._new_transfer(wallet_id, wire)
            if fault:
                raise fault.error
            return request

    def _same_external_id(self, wallet_id: str, wire: dict[str, object]) -> TransferRequest | None:
        """Same externalId, wallet and body: the first transfer (200); anything else: 409 naming it."""
        external_id = wire.get("externalId")
        existing = next(
            (t for t in self.transfers.values() if external_id and t.external_id == external_id), None
        )
        if existing is None:
            return None
        if existing.wallet_id == wallet_id and existing.request_body == wire:
            return existing
        raise DfnsConflict(
            "Conflicting transfer with same externalId",
            status=409,
            details={"duplicate": {"id": existing.id, "externalId": external_id}},
        )

    def _new_transfer(self, wallet_id: str, wire: dict[str, object]) -> TransferRequest:
        blocked = str(wire.get("to", "")).lower() in self.blocked_recipients
        request = TransferRequest(
            id=self._id("xfr"),
            wallet_id=wallet_id,
            status="Rejected" if blocked else "Pending",
            reason="Blocked by policy: whitelist" if blocked else None,
            request_body=wire,
            external_id=str(wire["externalId"]) if wire.get("externalId") else None,
        )
        self.transfers[request.id] = request
        return request

    def set_transfer_status(self, transfer_id: str, status: str, **fields: object) -> TransferRequest:
        """What Dfns would report later (Executing, Broadcasted, Confirmed, Failed, …)."""
        with self._lock:
            updated = self.transfers[transfer_id].model_copy(update={"status": status, **fields})
            self.transfers[transfer_id] = updated
            return updated

    def transfers_of(self, wallet_id: str) -> list[TransferRequest]:
        return [t for t in self.transfers.values() if t.wallet_id == wallet_id]

    def get_transfer(self, wallet_id: str, transfer_id: str) -> TransferRequest:
        self._enter("get_transfer")
        return self.transfers[transfer_id]

    def iter_transfers(self, wallet_id: str, *, page_size: int = 100) -> Iterator[TransferRequest]:
        self._enter("iter_transfers")
        return iter([t for t in self.transfers.values() if t.wallet_id == wallet_id])

    # --- policies -----------------------------------------------------------------------------------

    def create_policy(self, body: PolicyBody) -> Policy:
        with self._lock:
            fault = self._enter("create_policy")
            policy = self._store_policy(body)
            if fault:
                raise fault.error
            return policy

    def get_policy(self, policy_id: str) -> Policy:
        with self._lock:
            self._enter("get_policy")
            if policy_id not in self.policies:
                raise DfnsNotFound("policy not found", status=404)
            return self.policies[policy_id]

    def iter_policies(self, *, status: str | None = "Active", page_size: int = 100) -> Iterator[Policy]:
        with self._lock:
            self._enter("iter_policies")
            found = [p for p in self.policies.values() if status is None or p.status == status]
        yield from found

    def update_policy(self, policy_id: str, body: PolicyBody) -> PolicyChangeOutcome:
        with self._lock:
            fault = self._enter("update_policy")
            outcome = self._change(policy_id, body.model_dump(mode="json", by_alias=True, exclude_none=True))
            if fault:
                raise fault.error
            return outcome

    def archive_policy(self, policy_id: str) -> PolicyChangeOutcome:
        with self._lock:
            self._enter("archive_policy")
            return self._change(policy_id, {"status": "Archived"})

    def _change(self, policy_id: str, new_body: dict[str, object]) -> PolicyChangeOutcome:
        policy = self.policies.get(policy_id)
        if policy is None:
            raise DfnsNotFound("policy not found", status=404)
        governance = self._governance(policy_id)
        if governance is None:
            updated = Policy.model_validate({**policy.model_dump(by_alias=True), **new_body})
            self.policies[policy_id] = updated
            return PolicyApplied(updated)
        if policy.pending_change_request is not None:
            raise DfnsConflict("policy already has a pending change request", status=409)
        approval_id, change_id = self._id("ap"), self._id("cr")
        change = ChangeRequest(
            id=change_id, status="Pending", entity_id=policy_id, approval_id=approval_id, body=new_body
        )
        self.approvals[approval_id] = Approval(
            id=approval_id,
            status="Pending",
            initiator_id="us-service-account",
            activity=ApprovalActivity(kind="Policies:Modify", change_request=change),
            policy_evaluations=[PolicyEvaluation(policy_id=governance.id, triggered=True)],
        )
        self.policies[policy_id] = policy.model_copy(update={"pending_change_request": change})
        return ChangeRequestPending(change)

    # --- approvals and audit ------------------------------------------------------------------------

    def get_approval(self, approval_id: str) -> Approval:
        with self._lock:
            self._enter("get_approval")
            if approval_id not in self.approvals:
                raise DfnsNotFound("approval not found", status=404)
            return self.approvals[approval_id]

    def iter_approvals(self, *, status: str | None = None, page_size: int = 100) -> Iterator[Approval]:
        self._enter("iter_approvals")
        return iter([a for a in self.approvals.values() if status is None or a.status == status])

    def audit_logs(self, start: datetime, end: datetime, *, user_id: str | None = None) -> list[AuditLogRow]:
        self._enter("audit_logs")
        return []
