"""Order runs: the planner (scheduled, or ``POST /admin/order-runs``) and the run's report.

Starting a run records it (or, for an existing run id, marks a replay) and puts the first planning
page on the queue; both answer at once, whatever the number of mandates. A planning page (a queue
message the worker hands back here) reads one page of the planned-mandates index, writes the orders
that page lacks and enqueues one leg per order still owed a try, ten per ``SendMessageBatch``; then
the next page, while the invocation has time, or the next page goes back on the queue. One page is in
memory at a time, and no invocation outlives its timeout however long the index.

Orders are keyed by run id and client id and created conditionally, so replaying a run id (or a planning
page delivered twice) is idempotent: only missing orders are written, and only orders still owed a try
are enqueued again: never processed (``planned``), abandoned by a dead worker (a stale ``claimed``), or
skipped because the circuit breaker was open. Everything else (submitted, terminal, skipped for a
reason about the mandate) stays as it is. A replay closes the breaker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from managed_accounts.domain.ports import Clock, LegMessage, OrderLegQueue, OrdersRepository, PlanningPage
from managed_accounts.domain.trading import (
    ORDER_CLAIM_LEASE,
    RETRYABLE_SKIPS,
    Mandate,
    Order,
    OrderRun,
    RunReport,
    new_run_id,
    order_external_id,
    validate_run_id,
)
from managed_accounts.errors import NotFound
from managed_accounts.logs import get_logger

logger = get_logger("order-runs")

SQS_BATCH = 10  # SendMessageBatch takes at most ten messages
# Stop planning pages when less than this is left of the invocation (seconds): the rest is re-queued.
PLANNING_RESERVE_SECONDS = 20.0


def order_for(run: OrderRun, mandate: Mandate, now: datetime) -> Order:
    """The leg of ``run`` for ``mandate``: what it pays is fixed here, so every attempt sends the same
    transfer body (Dfns answers a repeat of the same externalId and body with the first transfer)."""
    return Order(
        client_id=mandate.client_id,
        run_id=run.run_id,
        run_created_at=run.created_at,
        external_id=order_external_id(run.run_id, mandate.client_id),
        status="planned",
        exchange=mandate.exchange,
        network=mandate.network,
        asset=mandate.asset,
        asset_kind=mandate.asset_kind,
        decimals=mandate.decimals,
        amount=mandate.amount_per_run,
        amount_units=mandate.amount_units,
        to=mandate.deposit_address,
        contract=mandate.contract,
        created_at=now,
        updated_at=now,
    )


def owed_a_try(order: Order, now: datetime) -> bool:
    """Whether a replay (or a delivery) should still work on ``order``."""
    if order.status == "planned":
        return True
    if order.status == "claimed":
        return order.claimed_at is None or order.claimed_at < now - ORDER_CLAIM_LEASE
    return order.status == "skipped" and order.reason in RETRYABLE_SKIPS


class OrderRunPlanner:
    def __init__(
        self,
        orders: OrdersRepository,
        queue: OrderLegQueue,
        clock: Clock,
        *,
        breaker_threshold: int,
        page_size: int = 100,
    ) -> None:
        self._orders = orders
        self._queue = queue
        self._clock = clock
        self._threshold = breaker_threshold
        self._page_size = page_size

    def start(self, run_id: str | None, *, trigger: str) -> tuple[RunReport, bool]:
        """Records ``run_id`` (a new id when None) and queues its planning; True as second value when the
        run existed (a replay)."""
        now = self._clock.now()
        run_id = validate_run_id(run_id) if run_id is not None else new_run_id(now)
        run = OrderRun(run_id=run_id, created_at=now, updated_at=now, trigger=trigger)
        created = self._orders.create_run(run)
        if not created:
            self._orders.begin_replay(run_id, now)
        self._queue.enqueue_page(PlanningPage(run_id))
        logger.info("order run started", extra={"runId": run_id, "replay": not created, "trigger": trigger})
        return self.report(run_id), not created

    def plan(self, page: PlanningPage, time_left: Callable[[], float] | None = None) -> int:
        """Plans the run from ``page`` on, a page at a time, while the invocation has time; a page it has
        no time for goes back on the queue. The number of legs enqueued."""
        enqueued, current = 0, page
        while True:
            more, legs = self.plan_page(current)
            enqueued += legs
            if more is None:
                return enqueued
            if time_left is not None and time_left() < PLANNING_RESERVE_SECONDS:
                self._queue.enqueue_page(more)
                return enqueued
            current = more

    def plan_page(self, page: PlanningPage) -> tuple[PlanningPage | None, int]:
        """One page of the mandates index: its missing orders written, its owed legs enqueued. Returns
        the next page (None after the last, once the run is marked planned) and the legs enqueued."""
        run = self._orders.get_run(page.run_id)
        if run is None:
            logger.warning("a planning page of an unknown run", extra={"runId": page.run_id})
            return None, 0
        mandates = self._orders.list_planned_mandates(limit=self._page_size, cursor=page.cursor)
        legs = self._owed_legs(run, mandates.items)
        for start in range(0, len(legs), SQS_BATCH):
            self._queue.enqueue(legs[start : start + SQS_BATCH])
        planned = page.planned + len(mandates.items)
        if mandates.next_cursor is not None:
            return PlanningPage(run.run_id, mandates.next_cursor, planned), len(legs)
        self._orders.finish_planning(run.run_id, planned, self._clock.now())
        logger.info("order run planned", extra={"runId": run.run_id, "planned": planned})
        return None, len(legs)

    def _owed_legs(self, run: OrderRun, mandates: Sequence[Mandate]) -> list[LegMessage]:
        now = self._clock.now()
        existing = self._orders.get_orders(run, [m.client_id for m in mandates])
        legs = []
        for mandate in mandates:
            order = existing.get(mandate.client_id)
            if order is None:
                created = self._orders.create_order(order_for(run, mandate, now))
                owed = created  # lost a race to a concurrent pass: that pass enqueues it
            else:
                owed = owed_a_try(order, now)
            if owed:
                legs.append(LegMessage(run.run_id, mandate.client_id))
        return legs

    def report(self, run_id: str) -> RunReport:
        run = self._orders.get_run(validate_run_id(run_id))
        if run is None:
            raise NotFound("no such order run")
        by_status: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        transfers, last_change = 0, None
        for order in self._orders.iter_run_orders(run.run_id):
            by_status[order.status] += 1
            transfers += order.transfer_id is not None
            last_change = max(last_change or order.updated_at, order.updated_at)
            if order.status == "skipped":
                skipped[order.reason or "unknown"] += 1
        return RunReport(run, self._threshold, dict(by_status), dict(skipped), transfers, last_change)
