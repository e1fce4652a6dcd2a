"""The order-leg worker: one leg (run id + client id) from the queue → at most one Dfns transfer.

1. The order must still be owed a try (a duplicate delivery of a done leg changes nothing).
2. The run's circuit breaker open → ``skipped: circuit_open`` (a replay of the run submits it later).
3. Pre-flight from the product's own data, no Dfns read: the account is active; the mandate is active
   and still pays what the leg was planned for; the exchange's configured deposit address is still the
   one approved; the mirror still lists it as approved; the limit profile's count budget is not spent.
   Any miss → ``skipped`` with the reason, and no Dfns call.
4. A conditional claim on the order (run id + client id), then ONE transfer whose ``externalId`` comes
   from the run id and the client id, then the transfer recorded on the order. A crash anywhere leaves
   a claim that the redelivered message takes over once its lease passed; the repeated transfer call
   with the same ``externalId`` and body makes Dfns answer with the first transfer (or 409 naming it),
   so a leg never pays twice.
5. 429 or a Dfns outage: the claim is released and the leg goes back to the queue after ``Retry-After``
   (or a backoff); outages count towards the run's breaker. A refusal (4xx, a policy block) →
   ``rejected`` with Dfns's reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import NoReturn

from managed_accounts.dfns.errors import DfnsConflict, DfnsError, DfnsRateLimited, DfnsUnavailable
from managed_accounts.dfns.models import Erc20TransferBody, NativeTransferBody, TransferBody, TransferRequest
from managed_accounts.domain.mandates import MandateSettler
from managed_accounts.domain.models import Account
from managed_accounts.domain.order_outcomes import OrderTransitions
from managed_accounts.domain.order_runs import OrderRunPlanner, owed_a_try
from managed_accounts.domain.ports import (
    AccountsRepository,
    Clock,
    DfnsGateway,
    LegMessage,
    Metrics,
    OrderLegQueue,
    OrdersRepository,
    PlanningPage,
)
from managed_accounts.domain.trading import (
    BUDGET_LOOKBACK,
    ORDER_CLAIM_LEASE,
    CountBudget,
    ExchangeCatalog,
    Order,
    OrderRun,
    SkipReason,
)
from managed_accounts.errors import ConcurrentUpdate
from managed_accounts.logs import get_logger

logger = get_logger("order-legs")

MAX_RETRY_DELAY_SECONDS = 900
# Orders counted against the count budget: a transfer exists or may exist (a claim in flight).
_COUNTED = frozenset({"claimed", "submitted", "executing", "broadcasted", "confirmed"})
# Stop starting legs when less than this is left of the invocation (seconds): they go back to the queue.
TIME_RESERVE_SECONDS = 20.0
_LOOKUP_LIMIT = 200  # transfers of the wallet searched for an earlier attempt's transfer
_LEASE_SECONDS = math.ceil(ORDER_CLAIM_LEASE.total_seconds())


class LegDeferred(Exception):
    """The leg goes back to the queue; the batch reports it as failed (its visibility was changed)."""

    def __init__(self, reason: str, delay_seconds: int) -> None:
        super().__init__(f"{reason}; retry in {delay_seconds}s")
        self.delay_seconds = delay_seconds


def transfer_body(order: Order) -> TransferBody:
    if order.asset_kind == "Erc20":
        assert order.contract is not None
        return Erc20TransferBody(
            contract=order.contract,
            to=order.to,
            amount=str(order.amount_units),
            external_id=order.external_id,
        )
    return NativeTransferBody(to=order.to, amount=str(order.amount_units), external_id=order.external_id)


def backoff_seconds(receive_count: int) -> int:
    delay: int = 5 * 2 ** min(max(receive_count, 1), 10)
    return min(delay, MAX_RETRY_DELAY_SECONDS)


class OrderLegWorker:
    def __init__(
        self,
        *,
        orders: OrdersRepository,
        accounts: AccountsRepository,
        dfns: DfnsGateway,
        queue: OrderLegQueue,
        planner: OrderRunPlanner,
        transitions: OrderTransitions,
        settler: MandateSettler,
        catalog: ExchangeCatalog,
        budgets: Mapping[str, CountBudget],
        clock: Clock,
        metrics: Metrics,
        breaker_threshold: int,
    ) -> None:
        self._orders = orders
        self._accounts = accounts
        self._dfns = dfns
        self._queue = queue
        self._planner = planner
        self._transitions = transitions
        self._settler = settler
        self._catalog = catalog
        self._budgets = budgets
        self._clock = clock
        self._metrics = metrics
        self._threshold = breaker_threshold
        self._paused_until: datetime | None = None  # a Retry-After that this worker is waiting out

    def plan(self, page: PlanningPage, time_left: Callable[[], float] | None = None) -> str:
        """A planning page of a run (see ``order_runs.py``)."""
        try:
            return self._outcome(f"planned:{self._planner.plan(page, time_left)}")
        except Exception:
            self._retry_soon(page, 1)
            raise

    def process(self, leg: LegMessage, time_left: Callable[[], float] | None = None) -> str:
        """Handles one delivery; returns what happened. Raises ``LegDeferred`` to send it back."""
        try:
            return self._process(leg, time_left)
        except LegDeferred:
            raise
        except Exception:
            self._retry_soon(leg, leg.receive_count)
            raise

    def _retry_soon(self, message: LegMessage | PlanningPage, receive_count: int) -> None:
        """An unexpected failure (e.g. a write DynamoDB still refused after the SDK's retries): the
        delivery comes back after a backoff, not after the queue's whole visibility timeout (minutes)."""
        delay = backoff_seconds(receive_count)
        self._queue.retry_later(message, delay)
        logger.warning(
            "order-run message failed; retried soon",
            extra={"runId": message.run_id, "delaySeconds": delay},
            exc_info=True,
        )

    def _process(self, leg: LegMessage, time_left: Callable[[], float] | None) -> str:
        if time_left is not None and time_left() < TIME_RESERVE_SECONDS:
            self._defer(leg, "not enough time left in this invocation", 1)
        found = self._load(leg)
        if found is None:
            return self._outcome("duplicate")
        run, order = found
        if run.breaker_open:
            return self._skip(order, "circuit_open")
        reason, account = self._preflight(order)
        if reason is not None:
            return self._skip_unless_submitted(order, reason, account)
        wallet_id = account.wallet_id if account else None
        assert wallet_id is not None  # the pre-flight passed: the account is active with a wallet
        return self._submit(leg, run, order, wallet_id)

    def _load(self, leg: LegMessage) -> tuple[OrderRun, Order] | None:
        """The run and the order, if the order is still owed a try (a duplicate delivery is not)."""
        run = self._orders.get_run(leg.run_id)
        order = self._orders.get_order(leg.client_id, run.run_id, run.created_at) if run else None
        if run is None or order is None:
            logger.warning("a leg of an unknown run or order", extra={"runId": leg.run_id})
            return None
        now = self._clock.now()
        if order.status == "claimed" and order.claimed_at and not owed_a_try(order, now):
            # A delivery holds the claim, or an earlier attempt of this one failed after claiming: look
            # again once the lease has passed rather than drop a leg that attempt may still owe.
            left = (order.claimed_at + ORDER_CLAIM_LEASE - now).total_seconds()
            self._defer(leg, "the order is claimed by a delivery in progress", math.ceil(left) + 1)
        if not owed_a_try(order, now):
            return None
        if run.breaker_open and order.reason == "circuit_open":
            return None  # skipped already; the replay that closes the breaker re-drives it
        return run, order

    # --- pre-flight (the product's own data only) -----------------------------------------------------

    def _preflight(self, order: Order) -> tuple[SkipReason | None, Account | None]:
        account = self._accounts.get_account(order.client_id)
        if account is None or account.status != "active" or not account.wallet_id:
            return "account_not_active", account
        reason = self._mandate_problem(order) or self._destination_problem(order)
        if reason is None and self._budget_spent(account, order):
            reason = "count_budget_spent"
        return reason, account

    def _mandate_problem(self, order: Order) -> SkipReason | None:
        mandate = self._orders.get_mandate(order.client_id)
        if mandate is None:
            return "mandate_missing"
        mandate = self._settler.settle(mandate)  # a lost approval notification is repaired here
        by_status: dict[str, SkipReason] = {
            "revoked": "mandate_revoked",
            "pending_approval": "destination_pending",
            "rejected": "destination_rejected",
        }
        if mandate.status in by_status:
            return by_status[mandate.status]
        planned = (order.exchange, order.network, order.to, order.asset)
        if (mandate.exchange, mandate.network, mandate.deposit_address, mandate.asset) != planned:
            return "mandate_changed"
        return None

    def _destination_problem(self, order: Order) -> SkipReason | None:
        if self._catalog.deposit_address(order.exchange, order.network) != order.to:
            return "deposit_address_changed"  # the exchange moved its deposit address since approval
        if self._accounts.get_destination(order.client_id, order.to) is None:
            return "destination_not_approved"
        return None

    def _budget_spent(self, account: Account, order: Order) -> bool:
        budget = self._budgets.get(account.limit_profile)
        if budget is None:
            return False
        now = self._clock.now()
        since = now - budget.window
        used = 0
        for earlier in self._orders.iter_client_orders(order.client_id, runs_since=now - BUDGET_LOOKBACK):
            if earlier.run_id != order.run_id and _counts_since(earlier, since):
                used += 1
        return used >= budget.limit

    # --- skipping -----------------------------------------------------------------------------------

    def _skip(self, order: Order, reason: SkipReason) -> str:
        try:
            self._transitions.skip(order, reason)
        except ConcurrentUpdate:
            return self._outcome("duplicate")  # another delivery decided it meanwhile
        return self._outcome(f"skipped:{reason}")

    def _skip_unless_submitted(self, order: Order, reason: SkipReason, account: Account | None) -> str:
        """An order claimed before may have reached Dfns: if its transfer exists, that is what happened."""
        if order.attempts > 0 and account is not None and account.wallet_id:
            earlier = self._earlier_transfer(order, account.wallet_id)
            if earlier is not None:
                return self._record(order, earlier)
        return self._skip(order, reason)

    def _earlier_transfer(self, order: Order, wallet_id: str) -> TransferRequest | None:
        try:
            for index, transfer in enumerate(self._dfns.iter_transfers(wallet_id, page_size=50)):
                if transfer.external_id == order.external_id:
                    return transfer
                if index >= _LOOKUP_LIMIT:
                    break
        except (DfnsRateLimited, DfnsUnavailable) as error:
            raise LegDeferred(f"Dfns unavailable: {error}", backoff_seconds(1)) from error
        return None

    # --- submitting ---------------------------------------------------------------------------------

    def _submit(self, leg: LegMessage, run: OrderRun, order: Order, wallet_id: str) -> str:
        self._wait_out_rate_limit(leg)
        try:
            claimed = self._transitions.claim(order)
        except ConcurrentUpdate:
            # Another delivery claimed it (a duplicate delivery, or a replay's leg): look again once the
            # lease has passed, never drop the leg. (This claim applied with its answer lost is no race:
            # the repository recognises its own write.)
            self._defer(leg, "the order was claimed meanwhile", _LEASE_SECONDS + 1)
        try:
            transfer = self._transfer(wallet_id, claimed)
        except DfnsRateLimited as error:
            self._transitions.release(claimed)
            delay = math.ceil(error.retry_after) if error.retry_after else backoff_seconds(leg.receive_count)
            self._paused_until = self._clock.now() + timedelta(seconds=delay)
            self._defer(leg, "Dfns rate limit", delay)
        except DfnsUnavailable as error:
            return self._outage(leg, run, self._transitions.release(claimed), error)
        except DfnsError as error:
            rejected = self._transitions.refuse(claimed, f"Dfns refused the transfer: {error.message}")
            return self._outcome(f"rejected:{rejected.status}")
        if run.consecutive_failures:
            self._orders.record_dfns_success(run.run_id)
        return self._record(claimed, transfer)

    def _wait_out_rate_limit(self, leg: LegMessage) -> None:
        """Once Dfns said to wait, the legs this worker holds go back until then without asking Dfns
        again (every refused request would count against the same per-minute quota)."""
        if self._paused_until is None:
            return
        left = (self._paused_until - self._clock.now()).total_seconds()
        if left <= 0:
            self._paused_until = None
            return
        self._defer(leg, "Dfns rate limit (waiting out Retry-After)", math.ceil(left))

    def _transfer(self, wallet_id: str, order: Order) -> TransferRequest:
        try:
            return self._dfns.transfer(wallet_id, transfer_body(order))
        except DfnsConflict as conflict:
            # The externalId is bound to a transfer with another body (e.g. sent by an older release):
            # that transfer is this order's, whatever its body.
            if conflict.duplicate_id is None:
                raise
            logger.warning(
                "externalId already used; recording that transfer",
                extra={"transferId": conflict.duplicate_id},
            )
            return self._dfns.get_transfer(wallet_id, conflict.duplicate_id)

    def _record(self, order: Order, transfer: TransferRequest) -> str:
        recorded = self._transitions.apply_transfer(order, transfer)
        status = recorded.status if recorded else order.status
        return self._outcome("submitted" if status not in ("rejected", "failed") else status)

    def _outage(self, leg: LegMessage, run: OrderRun, order: Order, error: DfnsUnavailable) -> str:
        opened = self._orders.record_dfns_failure(
            run.run_id, threshold=self._threshold, now=self._clock.now()
        )
        if opened:
            logger.error("order run circuit breaker opened", extra={"runId": run.run_id})
            self._metrics.add_metric(name="OrderRunBreakerOpened", unit="Count", value=1)
            return self._skip(order, "circuit_open")
        self._defer(leg, f"Dfns unavailable: {error}", backoff_seconds(leg.receive_count))

    def _defer(self, leg: LegMessage, reason: str, delay_seconds: int) -> NoReturn:
        delay = max(0, min(delay_seconds, MAX_RETRY_DELAY_SECONDS))
        self._queue.retry_later(leg, delay)
        self._outcome("deferred")
        logger.info(
            "order leg deferred", extra={"runId": leg.run_id, "reason": reason, "delaySeconds": delay}
        )
        raise LegDeferred(reason, delay)

    def _outcome(self, outcome: str) -> str:
        self._metrics.add_metric(name=f"OrderLeg_{outcome.split(':', 1)[0]}", unit="Count", value=1)
        return outcome


def _counts_since(order: Order, since: datetime) -> bool:
    moment = order.submitted_at or order.claimed_at
    return order.status in _COUNTED and moment is not None and moment >= since
