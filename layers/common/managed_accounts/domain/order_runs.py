"""Order runs: the planner (scheduled, or ``POST /admin/order-runs``) and the run's report.

The planner records the run, pages the planned mandates from their index (one page in memory at a
time, never all of them), writes one order per mandate and enqueues one leg per order, ten per
``SendMessageBatch``. The worker (``order_legs.py``) executes the legs.

Replaying a run id is idempotent: the run's orders already exist (keyed by run id and client id), so
the pass only writes the missing ones and re-enqueues those still owed a try: never processed
(``planned``), abandoned by a dead worker (a stale ``claimed``), or skipped because the circuit breaker
was open. Everything else (submitted, terminal, skipped for a reason about the mandate) stays as it is.
A replay closes the breaker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from managed_accounts.domain.ports import Clock, LegMessage, OrderLegQueue, OrdersRepository
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
        """Plans ``run_id`` (a new id when None); True as second value when the run existed (a replay)."""
        now = self._clock.now()
        run_id = validate_run_id(run_id) if run_id is not None else new_run_id(now)
        run = OrderRun(run_id=run_id, created_at=now, updated_at=now, trigger=trigger)
        created = self._orders.create_run(run)
        if not created:
            run = self._orders.begin_replay(run_id, now)
        logger.info("order run planning", extra={"runId": run_id, "replay": not created, "trigger": trigger})
        planned = self._plan(run, fresh=created)
        self._orders.finish_planning(run_id, planned, self._clock.now())
        logger.info("order run planned", extra={"runId": run_id, "planned": planned})
        return self.report(run_id), not created

    def _plan(self, run: OrderRun, *, fresh: bool) -> int:
        planned, cursor = 0, None
        while True:
            page = self._orders.list_planned_mandates(limit=self._page_size, cursor=cursor)
            legs = self._new_legs(run, page.items) if fresh else self._owed_legs(run, page.items)
            for start in range(0, len(legs), SQS_BATCH):
                self._queue.enqueue(legs[start : start + SQS_BATCH])
            planned += len(page.items)
            if page.next_cursor is None:
                return planned
            cursor = page.next_cursor

    def _new_legs(self, run: OrderRun, mandates: Sequence[Mandate]) -> list[LegMessage]:
        """A run this call created has no orders yet: write them in batches, then enqueue them all."""
        now = self._clock.now()
        self._orders.put_new_orders([order_for(run, m, now) for m in mandates])
        return [LegMessage(run.run_id, m.client_id) for m in mandates]

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
        transfers = 0
        for order in self._orders.iter_run_orders(run.run_id):
            by_status[order.status] += 1
            transfers += order.transfer_id is not None
            if order.status == "skipped":
                skipped[order.reason or "unknown"] += 1
        return RunReport(run, self._threshold, dict(by_status), dict(skipped), transfers)
