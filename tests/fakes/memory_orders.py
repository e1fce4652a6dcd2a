"""An in-memory ``OrdersRepository`` with the DynamoDB adapter's semantics (versioned conditional writes,
``ConcurrentUpdate`` on a lost race, newest-first cursors, the planned-mandate index paged by client id).
tests/integration runs the same scenarios on it and on ``DynamoOrdersRepository`` (moto).

Events committed with an order's change go to ``outbox`` (pass the accounts fake's, so the ``Outbox``
built over that fake publishes and clears them).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from managed_accounts.data.items import iso
from managed_accounts.data.orders_items import ORDER_PREFIX, order_sk
from managed_accounts.data.paging import decode_cursor, encode_cursor
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.trading import (
    OPEN_ORDER_STATUSES,
    PLANNED_MANDATE_STATUSES,
    Mandate,
    MandatePage,
    Order,
    OrderPage,
    OrderRun,
)
from managed_accounts.errors import ConcurrentUpdate, NotFound


class MemoryOrdersRepository:
    def __init__(self, outbox: dict[str, DomainEvent] | None = None) -> None:
        self.mandates: dict[str, Mandate] = {}
        self.runs: dict[str, OrderRun] = {}
        self.orders: dict[tuple[str, str], Order] = {}  # (clientId, order sort key)
        self.external_ids: dict[tuple[str, str], str] = {}  # (clientId, externalId) -> order sort key
        self.outbox: dict[str, DomainEvent] = outbox if outbox is not None else {}
        self._lock = threading.RLock()

    # --- mandates -----------------------------------------------------------------------------------

    def get_mandate(self, client_id: str) -> Mandate | None:
        return self.mandates.get(client_id)

    def save_mandate(self, mandate: Mandate, *, expected_version: int | None) -> Mandate:
        with self._lock:
            stored = self.mandates.get(mandate.client_id)
            saved = replace(mandate, version=(expected_version or 0) + 1, revision=secrets.token_hex(8))
            if (stored is None) != (expected_version is None) or (
                stored is not None and stored.version != expected_version
            ):
                raise ConcurrentUpdate("the trading authorisation changed meanwhile; retry")
            self.mandates[mandate.client_id] = saved
            return saved

    def list_planned_mandates(self, *, limit: int, cursor: str | None = None) -> MandatePage:
        planned = sorted(
            (m for m in self.mandates.values() if m.status in PLANNED_MANDATE_STATUSES),
            key=lambda m: m.client_id,
        )
        if cursor is not None:
            planned = [m for m in planned if m.client_id > cursor]
        page = planned[:limit]
        return MandatePage(page, page[-1].client_id if len(planned) > limit else None)

    # --- runs ---------------------------------------------------------------------------------------

    def create_run(self, run: OrderRun) -> bool:
        with self._lock:
            if run.run_id in self.runs:
                return self.runs[run.run_id] == run
            self.runs[run.run_id] = run
            return True

    def get_run(self, run_id: str) -> OrderRun | None:
        return self.runs.get(run_id)

    def begin_replay(self, run_id: str, now: datetime) -> OrderRun:
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                raise NotFound("no such order run")
            run = replace(
                run,
                replays=run.replays + 1,
                breaker_open=False,
                breaker_opened_at=None,
                consecutive_failures=0,
                status="planning",
                updated_at=now,
            )
            self.runs[run_id] = run
            return run

    def finish_planning(self, run_id: str, planned: int, now: datetime) -> None:
        with self._lock:
            run = self.runs[run_id]
            self.runs[run_id] = replace(
                run, status="planned", planned=planned, planned_at=now, updated_at=now
            )

    def record_dfns_failure(self, run_id: str, *, threshold: int, now: datetime) -> bool:
        with self._lock:
            run = self.runs[run_id]
            run = replace(run, consecutive_failures=run.consecutive_failures + 1)
            if not run.breaker_open and run.consecutive_failures >= threshold:
                run = replace(run, breaker_open=True, breaker_opened_at=now)
            self.runs[run_id] = run
            return run.breaker_open

    def record_dfns_success(self, run_id: str) -> None:
        with self._lock:
            run = self.runs[run_id]
            if not run.breaker_open and run.consecutive_failures > 0:
                self.runs[run_id] = replace(run, consecutive_failures=0)

    # --- orders -------------------------------------------------------------------------------------

    def _put(self, order: Order) -> None:
        key = order_sk(order.run_id, order.run_created_at)
        self.orders[(order.client_id, key)] = order
        self.external_ids[(order.client_id, order.external_id)] = key

    def create_order(self, order: Order) -> bool:
        with self._lock:
            if (order.client_id, order_sk(order.run_id, order.run_created_at)) in self.orders:
                return False
            self._put(replace(order, revision=secrets.token_hex(8)))
            return True

    def get_order(self, client_id: str, run_id: str, run_created_at: datetime) -> Order | None:
        return self.orders.get((client_id, order_sk(run_id, run_created_at)))

    def get_orders(self, run: OrderRun, client_ids: Sequence[str]) -> dict[str, Order]:
        found = {c: self.get_order(c, run.run_id, run.created_at) for c in client_ids}
        return {c: o for c, o in found.items() if o is not None}

    def save_order(self, order: Order, *, expected_version: int, events: Sequence[DomainEvent] = ()) -> Order:
        with self._lock:
            key = (order.client_id, order_sk(order.run_id, order.run_created_at))
            stored = self.orders.get(key)
            saved = replace(order, version=expected_version + 1, revision=secrets.token_hex(8))
            if stored is None or stored.version != expected_version:
                raise ConcurrentUpdate("the order changed meanwhile")
            self.orders[key] = saved
            for event in events:
                self.outbox[event.event_id] = event
            return saved

    def find_order_by_external_id(self, client_id: str, external_id: str) -> Order | None:
        key = self.external_ids.get((client_id, external_id))
        return self.orders.get((client_id, key)) if key else None

    def _client_orders(self, client_id: str) -> list[tuple[str, Order]]:
        mine = [(k, o) for (c, k), o in self.orders.items() if c == client_id]
        return sorted(mine, key=lambda pair: pair[0], reverse=True)

    def list_orders(self, client_id: str, *, limit: int = 20, cursor: str | None = None) -> OrderPage:
        mine = self._client_orders(client_id)
        if cursor is not None:
            after = decode_cursor(client_id, cursor, ORDER_PREFIX)
            mine = [(k, o) for k, o in mine if k < after]
        page = mine[:limit]
        next_cursor = encode_cursor(client_id, page[-1][0], ORDER_PREFIX) if len(mine) > limit else None
        return OrderPage([o for _, o in page], next_cursor)

    def iter_client_orders(self, client_id: str, *, runs_since: datetime) -> Iterator[Order]:
        floor = ORDER_PREFIX + iso(runs_since)
        return iter([o for k, o in self._client_orders(client_id) if k >= floor])

    def iter_run_orders(self, run_id: str) -> Iterator[Order]:
        return iter([o for o in list(self.orders.values()) if o.run_id == run_id])

    def iter_open_orders(self) -> Iterator[Order]:
        return iter([o for o in list(self.orders.values()) if o.status in OPEN_ORDER_STATUSES])
