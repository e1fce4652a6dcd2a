"""An in-memory Dfns implementing the ``DfnsGateway`` port, for logic tests.

Faithful where the logic depends on it (DFNS.md §2, §4.6, §5): wallets with tags and externalId,
policies replaced whole, a ``Policies:Modify`` governance policy turning updates into 202 change
requests with an approval, one pending change request per policy (a second is a 409), approvals that
apply or reject the change. Failure injection: ``fail(method, nth=..., error=..., after_effect=...)``
raises on the Nth call of a method, before or after the call took effect; ``down`` (every call) and
``down_for`` (calls about some object ids) make Dfns unavailable; ``on_call`` runs a step (a human's
act in the dashboard) just before the Nth call of a method. ``reads`` lists the object ids read.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from managed_accounts.dfns.errors import DfnsConflict, DfnsError, DfnsNotFound, DfnsUnavailable
from managed_accounts.dfns.models import (
    Approval,
    ApprovalActivity,
    AuditLog,
    AuditLogExport,
    AuditLogRow,
    ChangeRequest,
    CreateWalletBody,
    Decision,
    HistoryEvent,
    HistoryPage,
    Policy,
    PolicyBody,
    PolicyEvaluation,
    TransferBody,
    TransferPage,
    TransferRequest,
    Wallet,
    WalletAssets,
    WhitelistConfiguration,
    WhitelistRule,
)
from managed_accounts.domain.ports import ChangeRequestPending, PolicyApplied, PolicyChangeOutcome

DuplicateExternalId = Literal["conflict", "return_existing", "create_another"]


@dataclass
class _Fault:
    nth: int
    error: DfnsError | None  # None: ``step`` runs, and the call goes on
    after_effect: bool
    step: Callable[[], object] | None = None


class FakeDfns:
    def __init__(self, *, duplicate_external_id: DuplicateExternalId = "conflict") -> None:
        self.duplicate_external_id = duplicate_external_id
        self.wallets: dict[str, Wallet] = {}
        self.policies: dict[str, Policy] = {}
        self.approvals: dict[str, Approval] = {}
        self.transfers: dict[str, TransferRequest] = {}
        self.blocked_recipients: set[str] = set()  # transfers to these end Rejected, as a Block policy does
        self.calls: Counter[str] = Counter()
        self.reads: list[str] = []
        self.down = False
        self.down_for: set[str] = set()
        # reports (issue 15): history per wallet (oldest first), the audit log and its entries
        self.history: dict[str, list[HistoryEvent]] = {}
        self.audit_rows: list[AuditLogRow] = []
        self.audit_details: dict[str, AuditLog] = {}
        self.audit_export_cap: int | None = None  # truncate exports holding more rows than this
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

    def on_call(self, method: str, step: Callable[[], object], *, nth: int = 1) -> None:
        """``step`` runs just before the ``nth`` next call of ``method`` (something happening in Dfns
        meanwhile, e.g. the officer deciding between two reads)."""
        self._faults.setdefault(method, []).append(_Fault(self.calls[method] + nth, None, False, step))

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

    def decide(
        self,
        approval_id: str,
        value: Literal["Approved", "Denied", "Expired"],
        *,
        user_id: str = "us-co",
        reason: str | None = None,
        at: datetime | None = None,
    ) -> Approval:
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
                    "date_resolved": at or datetime.now(UTC),
                    "decisions": []
                    if value == "Expired"
                    else [
                        Decision(user_id=user_id, value=value, date=at or datetime.now(UTC), reason=reason)
                    ],
                    "activity": ApprovalActivity(kind="Policies:Modify", change_request=resolved),
                }
            )
            self.approvals[approval_id] = approval
            return approval

    def add_approval(self, approval_id: str, status: str) -> Approval:
        """An approval that is not about a destination change (e.g. a transfer held for approval)."""
        with self._lock:
            self.approvals[approval_id] = Approval(id=approval_id, status=status)
            return self.approvals[approval_id]

    def remove_tags(self, wallet_id: str, tags: list[str]) -> None:
        """Someone untags the wallet in the dashboard (the service account itself cannot)."""
        with self._lock:
            wallet = self.wallets[wallet_id]
            kept = [t for t in wallet.tags if t not in tags]
            self.wallets[wallet_id] = wallet.model_copy(update={"tags": kept})

    def set_whitelist(self, policy_id: str, addresses: list[str]) -> None:
        """Someone edits a whitelist outside the product's approval flow."""
        with self._lock:
            policy = self.policies[policy_id]
            rule = WhitelistRule(configuration=WhitelistConfiguration(addresses=addresses))
            self.policies[policy_id] = policy.model_copy(update={"rule": rule})

    def set_policy_status(self, policy_id: str, status: str) -> None:
        """Someone archives (or otherwise changes the status of) a policy outside the product."""
        with self._lock:
            self.policies[policy_id] = self.policies[policy_id].model_copy(update={"status": status})

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

    def _enter(self, method: str, object_id: str | None = None) -> DfnsError | None:
        """Counts the call; raises an injected failure, or returns the one to raise after the effect."""
        self.calls[method] += 1
        if object_id is not None:
            self.reads.append(object_id)
        if self.down or object_id in self.down_for:
            raise DfnsUnavailable("Dfns is down", status=503)
        for fault in self._faults.get(method, []):
            if fault.nth == self.calls[method]:
                self._faults[method].remove(fault)
                if fault.step is not None:
                    fault.step()
                    return None
                assert fault.error is not None
                if not fault.after_effect:
                    raise fault.error
                return fault.error
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
                raise fault
            return wallet

    def get_wallet(self, wallet_id: str) -> Wallet:
        with self._lock:
            self._enter("get_wallet", wallet_id)
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
                raise fault
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
        """The transfer moves on in Dfns (Executing, Broadcasted, Confirmed, Failed, …), with e.g. its
        ``tx_hash`` or ``reason``."""
        with self._lock:
            updated = self.transfers[transfer_id].model_copy(update={"status": status, **fields})
            self.transfers[transfer_id] = updated
            return updated

    def transfers_of(self, wallet_id: str) -> list[TransferRequest]:
        return [t for t in self.transfers.values() if t.wallet_id == wallet_id]

    def get_transfer(self, wallet_id: str, transfer_id: str) -> TransferRequest:
        with self._lock:
            self._enter("get_transfer", transfer_id)
            transfer = self.transfers.get(transfer_id)
            if transfer is None or transfer.wallet_id != wallet_id:
                raise DfnsNotFound("transfer not found", status=404)
            return transfer

    def iter_transfers(self, wallet_id: str, *, page_size: int = 100) -> Iterator[TransferRequest]:
        self._enter("iter_transfers")
        return iter([t for t in self.transfers.values() if t.wallet_id == wallet_id])

    # --- policies -----------------------------------------------------------------------------------

    def create_policy(self, body: PolicyBody) -> Policy:
        with self._lock:
            fault = self._enter("create_policy")
            policy = self._store_policy(body)
            if fault:
                raise fault
            return policy

    def get_policy(self, policy_id: str) -> Policy:
        with self._lock:
            self._enter("get_policy", policy_id)
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
                raise fault
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
            self._enter("get_approval", approval_id)
            if approval_id not in self.approvals:
                raise DfnsNotFound("approval not found", status=404)
            return self.approvals[approval_id]

    def iter_approvals(self, *, status: str | None = None, page_size: int = 100) -> Iterator[Approval]:
        self._enter("iter_approvals")
        return iter([a for a in self.approvals.values() if status is None or a.status == status])

    def audit_logs(self, start: datetime, end: datetime, *, user_id: str | None = None) -> list[AuditLogRow]:
        self._enter("audit_logs")
        return []

    # --- reports (issue 15): single pages, the audit log's export and detail ---------------------

    @staticmethod
    def _page(items: list[object], limit: int, token: str | None) -> tuple[list[object], str | None]:
        start = int(token) if token else 0
        end = start + max(1, min(limit, 500))
        return items[start:end], (str(end) if end < len(items) else None)

    def wallet_history_page(
        self, wallet_id: str, *, limit: int, token: str | None = None, direction: str | None = None
    ) -> HistoryPage:
        self._enter("wallet_history_page")
        events = [e for e in reversed(self.history.get(wallet_id, [])) if direction in (None, e.direction)]
        page, next_token = self._page(list(events), limit, token)
        return HistoryPage(items=[e for e in page if isinstance(e, HistoryEvent)], next_page_token=next_token)

    def transfers_page(self, wallet_id: str, *, limit: int, token: str | None = None) -> TransferPage:
        self._enter("transfers_page")
        mine = [t for t in reversed(self.transfers.values()) if t.wallet_id == wallet_id]
        page, next_token = self._page(list(mine), limit, token)
        return TransferPage(
            items=[t for t in page if isinstance(t, TransferRequest)], next_page_token=next_token
        )

    def audit_log_export(
        self, start: datetime, end: datetime, *, user_id: str | None = None
    ) -> AuditLogExport:
        self._enter("audit_log_export")
        rows = [
            r
            for r in self.audit_rows
            if start <= r.date_performed <= end and (user_id is None or r.user_id == user_id)
        ]
        cap = self.audit_export_cap
        if cap is not None and len(rows) > cap:
            return AuditLogExport(rows=rows[:cap], truncated=True)
        return AuditLogExport(rows=rows)

    def get_audit_log(self, log_id: str) -> AuditLog:
        self._enter("get_audit_log")
        if log_id not in self.audit_details:
            raise DfnsNotFound("audit log not found", status=404)
        return self.audit_details[log_id]
