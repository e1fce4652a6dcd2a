"""The scheduled reconciler (DESIGN.md §4 "Reconciler"): pulls from Dfns what a webhook may have missed.

1. Every destination batch still ``submitted``: re-read its approval and, once resolved, apply it exactly
   as the webhook would (``apply_approval`` is forward-only and idempotent, so racing a late webhook is
   harmless).
2. Every client with requests still ``queued`` (e.g. Dfns was down when they were made): submit the next
   batch (a no-op when a change is already in flight).
3. Drift: every managed wallet still carries its tags, and every client's live whitelist equals the mirror.

Bounded: at most ``max_approvals`` approvals and ``max_accounts`` accounts per run. When there are more,
a window that rotates with the schedule slot covers every item over successive runs. Resilient: one
item's failure is counted and logged, never fatal; after ``max_consecutive_outages`` Dfns outages in a
row the run stops calling Dfns (a circuit breaker) instead of timing out item after item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, TypeVar

from managed_accounts.dfns.errors import DfnsRateLimited, DfnsUnavailable
from managed_accounts.domain.drift import DriftFinding, DriftReporter, tag_drift, whitelist_drift
from managed_accounts.domain.models import Account
from managed_accounts.domain.onboarding import ONBOARDING_LEASE, OnboardingService
from managed_accounts.domain.outbox import Outbox
from managed_accounts.domain.ports import (
    AccountsRepository,
    ApprovalResolver,
    Clock,
    DfnsGateway,
    OrderTransfers,
)
from managed_accounts.errors import UpstreamUnavailable
from managed_accounts.logs import get_logger

logger = get_logger("reconciler")

T = TypeVar("T")
# Stop starting new items when less than this is left of the invocation (seconds).
TIME_RESERVE_SECONDS = 10.0
# Changes in flight settled for one client before a whitelist difference is left to the next run.
MAX_WHITELIST_SETTLES = 3


@dataclass(slots=True)
class ReconcileSummary:
    approvals_checked: int = 0
    approvals_applied: int = 0
    approvals_pending: int = 0
    queued_clients: int = 0
    wallets_checked: int = 0
    policies_checked: int = 0
    drift: int = 0
    onboarding_stuck: int = 0  # accounts short of active past the onboarding lease (an alarm watches)
    onboarding_resumed: int = 0
    events_relayed: int = 0
    orders_checked: int = 0  # orders whose transfer had no outcome yet: re-read from Dfns
    orders_advanced: int = 0
    failures: int = 0
    deferred: int = 0  # items left for a later run (bound, time budget or circuit breaker)
    aborted: bool = False  # the circuit breaker opened

    def as_dict(self) -> dict[str, int | bool]:
        return {_camel(k): v for k, v in asdict(self).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def rotating_window(items: Sequence[T], size: int, slot: int) -> list[T]:
    """``size`` items starting at a position that advances by ``size`` each slot, wrapping around."""
    if len(items) <= size:
        return list(items)
    start = (slot * size) % len(items)
    return [items[(start + i) % len(items)] for i in range(size)]


class Reconciler:
    def __init__(
        self,
        *,
        dfns: DfnsGateway,
        repository: AccountsRepository,
        destinations: ApprovalResolver,
        drift: DriftReporter,
        clock: Clock,
        onboarding: OnboardingService | None = None,
        outbox: Outbox | None = None,
        orders: OrderTransfers | None = None,
        max_approvals: int = 200,
        max_accounts: int = 300,
        max_consecutive_outages: int = 3,
        slot_seconds: int = 300,
    ) -> None:
        self._dfns = dfns
        self._repository = repository
        self._destinations = destinations
        self._drift = drift
        self._clock = clock
        self._onboarding = onboarding
        self._outbox = outbox
        self._orders = orders
        self._max_approvals = max_approvals
        self._max_accounts = max_accounts
        self._max_outages = max_consecutive_outages
        self._slot_seconds = slot_seconds

    def run(self, time_left: Callable[[], float] | None = None) -> dict[str, int | bool]:
        """One reconciliation pass; ``time_left`` (seconds) lets it stop before the Lambda times out."""
        run = _Run(self._max_outages, time_left or (lambda: float("inf")))
        slot = int(self._clock.now().timestamp()) // self._slot_seconds
        self._reconcile_approvals(run, slot)
        self._reconcile_orders(run, slot)
        self._submit_queued(run, slot)
        self._resume_onboarding(run)
        self._check_drift(run, slot)
        run.guarded("outbox", {}, partial(self._relay_events, run))
        summary = run.summary.as_dict()
        logger.info("reconciliation finished", extra=summary)
        return summary

    def _reconcile_approvals(self, run: _Run, slot: int) -> None:
        # A batch's requests share one approval id: read each approval once. Collect first, so applying
        # (which edits the submitted queue) never runs under an open query.
        approval_ids = list(dict.fromkeys(a for _, a in self._repository.iter_submitted_approval_ids()))
        window = rotating_window(approval_ids, self._max_approvals, slot)
        run.summary.deferred += len(approval_ids) - len(window)
        for approval_id in window:
            run.guarded("approval", {"approval_id": approval_id}, partial(self._apply, run, approval_id))

    def _apply(self, run: _Run, approval_id: str) -> None:
        approval = self._dfns.get_approval(approval_id)
        run.summary.approvals_checked += 1
        if not approval.is_resolved:
            run.summary.approvals_pending += 1
            return
        if self._destinations.apply_approval(approval):
            run.summary.approvals_applied += 1
            logger.info(
                "missed approval applied", extra={"approval_id": approval_id, "status": approval.status}
            )

    def _reconcile_orders(self, run: _Run, slot: int) -> None:
        """Orders whose transfer has no outcome yet: re-read the transfer and move the order forward
        exactly as its webhook would (forward-only, so racing a late webhook is harmless)."""
        if self._orders is None:
            return
        open_transfers = list(self._orders.iter_open_transfers())
        window = rotating_window(open_transfers, self._max_approvals, slot)
        run.summary.deferred += len(open_transfers) - len(window)
        for client_id, wallet_id, transfer_id in window:
            ids = {"client_id": client_id, "transfer_id": transfer_id}
            run.guarded("order", ids, partial(self._record_transfer, run, client_id, wallet_id, transfer_id))

    def _record_transfer(self, run: _Run, client_id: str, wallet_id: str, transfer_id: str) -> None:
        assert self._orders is not None
        transfer = self._dfns.get_transfer(wallet_id, transfer_id)
        run.summary.orders_checked += 1
        if self._orders.record_transfer(client_id, transfer):
            run.summary.orders_advanced += 1

    def _submit_queued(self, run: _Run, slot: int) -> None:
        clients = list(self._repository.iter_clients_with_queued_requests())
        window = rotating_window(clients, self._max_accounts, slot)
        run.summary.deferred += len(clients) - len(window)
        for client_id in window:
            run.guarded("queued batch", {"client_id": client_id}, partial(self._submit, run, client_id))

    def _submit(self, run: _Run, client_id: str) -> None:
        self._destinations.submit_next_batch(client_id)
        run.summary.queued_clients += 1

    def _relay_events(self, run: _Run) -> None:
        """Domain events whose publishing failed after their state change was committed."""
        if self._outbox is not None:
            run.summary.events_relayed += self._outbox.relay(self._clock.now())

    def _resume_onboarding(self, run: _Run) -> None:
        """Accounts left short of ``active`` (a Dfns failure mid-way, then no retry by the client):
        counted as stuck, and resumed. Onboarding fails closed, so a stuck account has no unguarded
        wallet; resuming it gives the client the account they asked for."""
        stale_before = self._clock.now() - ONBOARDING_LEASE
        stuck = [
            a
            for a in self._repository.iter_accounts()
            if a.status != "active" and a.updated_at < stale_before
        ]
        for account in stuck[: self._max_accounts]:
            run.summary.onboarding_stuck += 1
            logger.warning(
                "onboarding stuck", extra={"client_id": account.client_id, "status": account.status}
            )
            if self._onboarding is not None:
                run.guarded(
                    "onboarding", {"client_id": account.client_id}, partial(self._resume, run, account)
                )
        run.summary.deferred += max(0, len(stuck) - self._max_accounts)

    def _resume(self, run: _Run, account: Account) -> None:
        assert self._onboarding is not None
        if self._onboarding.onboard(account.client_id).account.status == "active":
            run.summary.onboarding_resumed += 1

    def _check_drift(self, run: _Run, slot: int) -> None:
        accounts = [a for a in self._repository.iter_accounts() if a.wallet_id]
        window = rotating_window(accounts, self._max_accounts, slot)
        run.summary.deferred += len(accounts) - len(window)
        for account in window:
            ids = {"client_id": account.client_id, "wallet_id": account.wallet_id}
            run.guarded("wallet tags", ids, partial(self._check_tags, run, account))
            if account.status == "active" and account.whitelist_policy_id:
                run.guarded("whitelist", ids, partial(self._check_whitelist, run, account))

    def _check_tags(self, run: _Run, account: Account) -> None:
        assert account.wallet_id is not None
        wallet = self._dfns.get_wallet(account.wallet_id)
        run.summary.wallets_checked += 1
        finding = tag_drift(account, wallet)
        if finding is not None:
            run.summary.drift += 1
            self._drift.report(finding, source="reconciler")

    def _check_whitelist(self, run: _Run, account: Account) -> None:
        """A difference between the live whitelist and the mirror is drift only if the client's change in
        flight does not explain it. That change may have been approved after step 1, its webhook still on
        the way; settling it submits the next queued change, which the officer may approve before the next
        read; and a webhook may apply either between the reads. So: settle, read both again, and go on
        while settling changes something. Drift is what still differs when it changed nothing."""
        run.summary.policies_checked += 1
        finding = self._whitelist_finding(account)
        for _ in range(MAX_WHITELIST_SETTLES):
            if finding is None:
                return
            settled = self._settle_in_flight(run, account.client_id)
            finding = self._whitelist_finding(account)
            if not settled:
                break
        else:
            if finding is not None:  # still moving: the next run looks again
                run.summary.deferred += 1
                return
        if finding is not None:
            run.summary.drift += 1
            self._drift.report(finding, source="reconciler")

    def _whitelist_finding(self, account: Account) -> DriftFinding | None:
        # Live policy first, mirror second: a change applied by Dfns reaches the mirror only after its
        # webhook, so this order keeps the window for a false alarm to the gap between the two reads.
        assert account.whitelist_policy_id is not None
        policy = self._dfns.get_policy(account.whitelist_policy_id)
        return whitelist_drift(account, policy, self._mirror(account))

    def _mirror(self, account: Account) -> list[str]:
        return [d.address for d in self._repository.list_destinations(account.client_id)]

    def _settle_in_flight(self, run: _Run, client_id: str) -> bool:
        """Applies the client's in-flight change (as it stands now, not as listed at the start of the
        pass) if Dfns resolved it meanwhile; True if that changed anything."""
        account = self._repository.get_account(client_id)
        approval_id = account.claim.approval_id if account and account.claim else None
        if approval_id is None:
            return False
        approval = self._dfns.get_approval(approval_id)
        if not approval.is_resolved or not self._destinations.apply_approval(approval):
            return False
        run.summary.approvals_applied += 1
        return True


class _Run:
    """Per-run state: the summary and the circuit breaker."""

    def __init__(self, max_outages: int, time_left: Callable[[], float]) -> None:
        self.summary = ReconcileSummary()
        self._max_outages = max_outages
        self._outages_in_a_row = 0
        self._time_left = time_left

    def guarded(self, what: str, ids: dict[str, Any], step: Callable[[], None]) -> None:
        if self.summary.aborted or self._time_left() < TIME_RESERVE_SECONDS:
            self.summary.deferred += 1
            return
        try:
            step()
        # ``DestinationService`` turns Dfns outages into ``UpstreamUnavailable``: the same outage.
        except (DfnsUnavailable, DfnsRateLimited, UpstreamUnavailable) as error:
            self.summary.failures += 1
            self._outages_in_a_row += 1
            logger.warning(f"reconcile {what}: Dfns unavailable", extra={**ids, "error": str(error)})
            if self._outages_in_a_row >= self._max_outages:
                self.summary.aborted = True
                logger.error(
                    "reconciliation stopped: Dfns keeps failing", extra={"outages": self._outages_in_a_row}
                )
        except Exception:
            self.summary.failures += 1
            logger.exception(f"reconcile {what} failed", extra=ids)
        else:
            self._outages_in_a_row = 0
