"""The ``OrdersRepository`` contract, run on the DynamoDB adapter (moto) and on the in-memory fake, so
the two cannot drift."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from managed_accounts.data.orders_repository import DynamoOrdersRepository
from managed_accounts.data.paging import encode_cursor
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.ports import OrdersRepository
from managed_accounts.domain.trading import Mandate, Order, OrderRun, order_external_id
from managed_accounts.errors import ConcurrentUpdate, InvalidInput, NotFound

from tests.fakes.answer_lost import AnswerLost
from tests.fakes.memory_orders import MemoryOrdersRepository

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@dataclass
class Store:
    repo: OrdersRepository
    outbox: Any  # returns the committed, unpublished events

    def events(self) -> list[DomainEvent]:
        return list(self.outbox())


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        memory = MemoryOrdersRepository()
        return Store(memory, lambda: list(memory.outbox.values()))
    table = request.getfixturevalue("table")
    accounts = DynamoAccountsRepository(table)
    return Store(
        DynamoOrdersRepository(table), lambda: accounts.list_outbox(older_than=T0 + timedelta(days=999))
    )


def mandate(client_id: str, status: str = "active") -> Mandate:
    return Mandate(
        client_id=client_id,
        exchange="x",
        network="EthereumSepolia",
        asset="ETH",
        asset_kind="Native",
        decimals=18,
        amount_per_run="0.05",
        amount_units=5 * 10**16,
        deposit_address="0x" + "ab" * 20,
        status=status,  # type: ignore[arg-type]
        created_at=T0,
        updated_at=T0,
    )


def run(run_id: str, created_at: datetime = T0) -> OrderRun:
    return OrderRun(run_id=run_id, created_at=created_at, updated_at=created_at, trigger="schedule")


def put(repo: OrdersRepository, orders: list[Order]) -> None:
    for each in orders:
        assert repo.create_order(each)


def order(client_id: str, of: OrderRun, status: str = "planned") -> Order:
    return Order(
        client_id=client_id,
        run_id=of.run_id,
        run_created_at=of.created_at,
        external_id=order_external_id(of.run_id, client_id),
        status=status,  # type: ignore[arg-type]
        exchange="x",
        network="EthereumSepolia",
        asset="ETH",
        asset_kind="Native",
        decimals=18,
        amount="0.05",
        amount_units=5 * 10**16,
        to="0x" + "ab" * 20,
        created_at=of.created_at,
        updated_at=of.created_at,
    )


# --- mandates ---------------------------------------------------------------------------------------


def test_mandates_are_created_once_and_changed_only_from_the_version_read(store: Store) -> None:
    repo = store.repo
    created = repo.save_mandate(mandate("alice", "pending_approval"), expected_version=None)
    assert created.version == 1
    with pytest.raises(ConcurrentUpdate):
        repo.save_mandate(mandate("alice"), expected_version=None)

    active = repo.save_mandate(replace(created, status="active"), expected_version=1)

    assert active.version == 2
    assert repo.get_mandate("alice") == active
    with pytest.raises(ConcurrentUpdate):
        repo.save_mandate(replace(created, status="revoked"), expected_version=1)
    assert repo.get_mandate("nobody") is None


def test_the_planned_index_holds_pending_and_active_mandates_and_pages_through_them(store: Store) -> None:
    repo = store.repo
    statuses = ["active", "pending_approval", "revoked", "rejected", "active", "active", "pending_approval"]
    for i, status in enumerate(statuses):
        repo.save_mandate(mandate(f"client-{i}", status), expected_version=None)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = repo.list_planned_mandates(limit=2, cursor=cursor)
        assert len(page.items) <= 2
        seen += [m.client_id for m in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(seen) == ["client-0", "client-1", "client-4", "client-5", "client-6"]
    assert len(seen) == len(set(seen))
    assert pages >= 3
    revoked = repo.get_mandate("client-0")
    assert revoked is not None
    repo.save_mandate(replace(revoked, status="revoked"), expected_version=revoked.version)
    remaining = repo.list_planned_mandates(limit=10).items
    assert "client-0" not in [m.client_id for m in remaining]


# --- runs -------------------------------------------------------------------------------------------


def test_a_run_is_created_once_and_a_replay_closes_its_breaker(store: Store) -> None:
    repo = store.repo
    assert repo.create_run(run("run-1"))
    assert not repo.create_run(run("run-1", T0 + timedelta(microseconds=1)))  # another start of run-1
    with pytest.raises(NotFound):
        repo.begin_replay("run-2", T0)

    assert not repo.record_dfns_failure("run-1", threshold=3, now=T0)
    assert not repo.record_dfns_failure("run-1", threshold=3, now=T0)
    repo.record_dfns_success("run-1")  # a success in between: the count starts again
    assert not repo.record_dfns_failure("run-1", threshold=3, now=T0)
    assert not repo.record_dfns_failure("run-1", threshold=3, now=T0)
    assert repo.record_dfns_failure("run-1", threshold=3, now=T0 + timedelta(seconds=5))
    assert repo.record_dfns_failure("run-1", threshold=3, now=T0)  # stays open
    repo.record_dfns_success("run-1")  # an open breaker is closed by a replay only
    opened = repo.get_run("run-1")
    assert opened is not None
    assert (opened.breaker_open, opened.breaker_opened_at) == (True, T0 + timedelta(seconds=5))

    replay = repo.begin_replay("run-1", T0 + timedelta(hours=1))
    repo.finish_planning("run-1", 42, T0 + timedelta(hours=1))

    assert (replay.replays, replay.breaker_open, replay.consecutive_failures, replay.status) == (
        1,
        False,
        0,
        "planning",
    )
    finished = repo.get_run("run-1")
    assert finished is not None
    assert (finished.status, finished.planned, finished.planned_at) == (
        "planned",
        42,
        T0 + timedelta(hours=1),
    )


# --- orders -----------------------------------------------------------------------------------------


def test_orders_are_keyed_by_run_and_client_and_written_from_the_version_read(store: Store) -> None:
    repo = store.repo
    first = run("run-1")
    put(repo, [order("alice", first), order("bob", first)])
    assert not repo.create_order(replace(order("alice", first), amount="0.06"))
    assert repo.create_order(order("carol", first))

    found = repo.get_orders(first, ["alice", "bob", "carol", "nobody"])
    assert sorted(found) == ["alice", "bob", "carol"]
    alice = repo.get_order("alice", "run-1", first.created_at)
    assert alice == found["alice"]

    event = DomainEvent("OrderSubmitted", "alice", {"runId": "run-1"}, occurred_at=T0)
    submitted = replace(alice, status="submitted", transfer_id="xfr-1", wallet_id="wa-1", submitted_at=T0)
    saved = repo.save_order(submitted, expected_version=alice.version, events=[event])

    assert saved.version == alice.version + 1
    assert repo.get_order("alice", "run-1", first.created_at) == saved
    assert [e.event_id for e in store.events()] == [event.event_id]
    with pytest.raises(ConcurrentUpdate):
        repo.save_order(replace(alice, status="skipped"), expected_version=alice.version)
    assert store.events() == [event] or [e.event_id for e in store.events()] == [event.event_id]


def test_a_write_applied_whose_answer_was_lost_is_that_writes_success_not_a_lost_race(table: Any) -> None:
    repo = DynamoOrdersRepository(table)
    lossy_table, lossy_client = AnswerLost(table), AnswerLost(table.meta.client)
    repo._table, repo._client = lossy_table, lossy_client
    first = run("run-1")

    assert repo.create_run(first)
    assert repo.create_order(order("alice", first))
    alice = repo.get_order("alice", "run-1", first.created_at)
    assert alice is not None
    claimed = repo.save_order(replace(alice, status="claimed", attempts=1, claimed_at=T0), expected_version=1)
    event = DomainEvent("OrderSubmitted", "alice", {"runId": "run-1"}, occurred_at=T0)
    submitted = repo.save_order(replace(claimed, status="submitted"), expected_version=2, events=[event])
    mandated = repo.save_mandate(mandate("alice"), expected_version=None)

    assert lossy_table.retries + lossy_client.retries == 5  # every write met its own first attempt
    assert repo.get_run("run-1") == first
    assert repo.get_order("alice", "run-1", first.created_at) == submitted
    assert submitted.version == 3
    assert repo.get_mandate("alice") == mandated
    accounts = DynamoAccountsRepository(table)
    assert [e.event_id for e in accounts.list_outbox(older_than=T0 + timedelta(days=999))] == [event.event_id]
    # A rival's write of the same content is still a lost race: each write carries its own revision.
    with pytest.raises(ConcurrentUpdate):
        repo.save_order(replace(claimed, status="submitted"), expected_version=2)


def test_an_order_is_found_from_its_transfer_external_id_within_its_client_only(store: Store) -> None:
    repo = store.repo
    first = run("run-1")
    put(repo, [order("alice", first)])
    created = run("run-2")
    repo.create_order(order("alice", created))

    for r in (first, created):
        found = repo.find_order_by_external_id("alice", order_external_id(r.run_id, "alice"))
        assert found is not None
        assert found.run_id == r.run_id
    assert repo.find_order_by_external_id("bob", order_external_id("run-1", "alice")) is None
    assert repo.find_order_by_external_id("alice", "ord-unknown") is None


def test_a_clients_orders_list_newest_run_first_with_a_cursor(store: Store) -> None:
    repo = store.repo
    runs = [run(f"run-{i}", T0 + timedelta(days=i)) for i in range(5)]
    for r in runs:
        put(repo, [order("alice", r), order("bob", r)])
    repo.save_mandate(mandate("alice"), expected_version=None)  # other items of the client stay out

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = repo.list_orders("alice", limit=2, cursor=cursor)
        seen += [o.run_id for o in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == ["run-4", "run-3", "run-2", "run-1", "run-0"]
    assert repo.list_orders("nobody").items == []
    with pytest.raises(InvalidInput):
        repo.list_orders("alice", cursor="not-a-cursor")
    with pytest.raises(InvalidInput):  # another listing's cursor is refused
        repo.list_orders("alice", cursor=encode_cursor("alice", "REQ#dr-1"))


def test_recent_orders_of_a_client_and_orders_of_a_run(store: Store) -> None:
    repo = store.repo
    runs = [run(f"run-{i}", T0 + timedelta(days=i)) for i in range(4)]
    for r in runs:
        put(repo, [order("alice", r), order("bob", r)])

    recent = repo.iter_client_orders("alice", runs_since=T0 + timedelta(days=2))
    assert sorted(o.run_id for o in recent) == ["run-2", "run-3"]
    assert sorted(o.client_id for o in repo.iter_run_orders("run-1")) == ["alice", "bob"]


def test_only_orders_awaiting_their_transfer_outcome_are_open(store: Store) -> None:
    repo = store.repo
    r = run("run-1")
    statuses = ["planned", "submitted", "broadcasted", "confirmed", "skipped", "rejected"]
    put(repo, [order(f"c{i}", r) for i in range(len(statuses))])
    for i, status in enumerate(statuses):
        current = repo.get_order(f"c{i}", "run-1", r.created_at)
        assert current is not None
        repo.save_order(
            replace(current, status=status, submitted_at=T0),  # type: ignore[arg-type]
            expected_version=current.version,
        )

    assert sorted(o.status for o in repo.iter_open_orders()) == ["broadcasted", "submitted"]
