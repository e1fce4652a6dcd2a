"""Acting on authenticated Dfns webhook events (DESIGN.md §4 "Webhooks", DFNS.md §7.3–7.5).

The event body is only a hint: before acting, the approval, transfer or wallet is re-read from Dfns, and
the fact acted on is the re-read one. Facts are de-duplicated on object id + status (never on the event
id: retries are new events), and the sinks only move state forward, so duplicates and out-of-order
deliveries change nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from managed_accounts.dfns.errors import DfnsNotFound
from managed_accounts.dfns.models import TransferRequest, WebhookEvent
from managed_accounts.domain.drift import DriftReporter, tag_drift
from managed_accounts.domain.ports import (
    AccountsRepository,
    ApprovalResolver,
    DfnsGateway,
    FactStore,
    TransferOutcomes,
)
from managed_accounts.logs import get_logger

logger = get_logger("webhooks")

APPROVAL_KINDS = frozenset({"policy.approval.pending", "policy.approval.resolved"})
TRANSFER_KIND_PREFIX = "wallet.transfer."
TAGS_MODIFIED = "wallet.tags.modified"


def acts_on(kind: object) -> bool:
    """Whether the product acts on events of ``kind``; every other authenticated event (a ping, a kind
    Dfns added later) is acknowledged and ignored, whatever fields it has or lacks."""
    return isinstance(kind, str) and (
        kind in APPROVAL_KINDS or kind.startswith(TRANSFER_KIND_PREFIX) or kind == TAGS_MODIFIED
    )


class NoOrderOutcomes:
    """Wired until orders record transfer outcomes."""

    def record_transfer(self, client_id: str, transfer: TransferRequest) -> bool:
        return False


Result = Literal["applied", "unchanged", "duplicate", "ignored"]


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    result: Result
    reason: str


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def approval_id_of(data: Mapping[str, Any]) -> str | None:
    """Both documented shapes: ``data.approval.id`` and ``data.approvalId`` (DFNS.md §7.3)."""
    return _str(_dict(data.get("approval")).get("id")) or _str(data.get("approvalId"))


def fingerprint(data: Mapping[str, Any]) -> str:
    """A stable digest of an event's data: retries carry the same data under a new event id."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


class WebhookProcessor:
    """Dispatches one authenticated event by kind. Raises on Dfns or storage failures (after releasing
    any fact it claimed), so the endpoint can answer 5xx and Dfns retries."""

    def __init__(
        self,
        *,
        dfns: DfnsGateway,
        approvals: ApprovalResolver,
        accounts: AccountsRepository,
        facts: FactStore,
        drift: DriftReporter,
        orders: TransferOutcomes | None = None,
    ) -> None:
        self._dfns = dfns
        self._approvals = approvals
        self._accounts = accounts
        self._facts = facts
        self._drift = drift
        self._orders = orders or NoOrderOutcomes()

    def process(self, event: WebhookEvent) -> WebhookOutcome:
        if event.kind in APPROVAL_KINDS:
            return self._on_approval(event.data)
        if event.kind.startswith(TRANSFER_KIND_PREFIX):
            return self._on_transfer(event.data)
        if event.kind == TAGS_MODIFIED:
            return self._on_tags_modified(event.data)
        return WebhookOutcome("ignored", f"kind {event.kind} is not handled")

    def _on_approval(self, data: Mapping[str, Any]) -> WebhookOutcome:
        approval_id = approval_id_of(data)
        if approval_id is None:
            return WebhookOutcome("ignored", "no approval id in the event")
        hinted = _str(_dict(data.get("approval")).get("status"))
        if hinted and self._facts.seen(approval_id, hinted):
            return WebhookOutcome("duplicate", f"{approval_id} {hinted} already applied")
        try:
            approval = self._dfns.get_approval(approval_id)
        except DfnsNotFound:
            return WebhookOutcome("ignored", f"approval {approval_id} not found in Dfns")
        if not approval.is_resolved:
            # Nothing moves on a pending approval: the batch is already `submitted`.
            return WebhookOutcome("unchanged", f"{approval_id} is still pending")
        return self._act_once(approval.id, approval.status, lambda: self._approvals.apply_approval(approval))

    def _on_transfer(self, data: Mapping[str, Any]) -> WebhookOutcome:
        hint = _dict(data.get("transferRequest"))
        transfer_id, wallet_id = _str(hint.get("id")), _str(hint.get("walletId"))
        if transfer_id is None or wallet_id is None:
            return WebhookOutcome("ignored", "no transfer or wallet id in the event")
        account = self._accounts.get_account_by_wallet(wallet_id)
        if account is None:
            return WebhookOutcome("ignored", f"wallet {wallet_id} is not managed")
        hinted = _str(hint.get("status"))
        if hinted and self._facts.seen(transfer_id, hinted):
            return WebhookOutcome("duplicate", f"{transfer_id} {hinted} already recorded")
        try:
            transfer = self._dfns.get_transfer(wallet_id, transfer_id)
        except DfnsNotFound:
            return WebhookOutcome("ignored", f"transfer {transfer_id} not found in Dfns")
        client_id = account.client_id
        return self._act_once(
            transfer.id, transfer.status, lambda: self._orders.record_transfer(client_id, transfer)
        )

    def _on_tags_modified(self, data: Mapping[str, Any]) -> WebhookOutcome:
        wallet_id = _str(_dict(data.get("wallet")).get("id")) or _str(data.get("walletId"))
        if wallet_id is None:
            return WebhookOutcome("ignored", "no wallet id in the event")
        account = self._accounts.get_account_by_wallet(wallet_id)
        if account is None:
            return WebhookOutcome("ignored", f"wallet {wallet_id} is not managed")
        listed = data.get("tagsRemoved")
        removed = [t for t in listed if isinstance(t, str)] if isinstance(listed, list) else []
        try:
            wallet = self._dfns.get_wallet(wallet_id)
        except DfnsNotFound:
            return WebhookOutcome("ignored", f"wallet {wallet_id} not found in Dfns")
        finding = tag_drift(account, wallet, removed=removed)
        if finding is None:
            return WebhookOutcome("unchanged", "the wallet keeps every required tag")

        def report() -> bool:
            self._drift.report(finding, source="webhook")
            return True

        # The modification has no id of its own: the fact is this exact change (same data on retries).
        return self._act_once(wallet_id, f"tags.modified#{fingerprint(data)}", report)

    def _act_once(self, object_id: str, fact: str, act: Callable[[], bool]) -> WebhookOutcome:
        """Claim the fact, act, keep the claim only if something changed (so the store holds facts the
        product acted on, not foreign objects); release it if acting failed, so a retry can act."""
        if not self._facts.claim(object_id, fact):
            return WebhookOutcome("duplicate", f"{object_id} {fact} already handled")
        try:
            changed = act()
        except Exception:
            self._facts.release(object_id, fact)
            raise
        if not changed:
            self._facts.release(object_id, fact)
            return WebhookOutcome("unchanged", f"{object_id} {fact}: nothing to change")
        logger.info("webhook fact applied", extra={"object_id": object_id, "fact": fact})
        return WebhookOutcome("applied", f"{object_id} {fact}")
