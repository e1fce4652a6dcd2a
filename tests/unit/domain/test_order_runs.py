"""Order runs on fakes: the planner, the SQS worker handler (Powertools BatchProcessor) and outcomes.

FakeDfns honours ``externalId`` like Dfns (same body: the first transfer; another body: 409 naming
it). The sandbox versions of the "pays exactly once" scenarios are in tests/integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from managed_accounts.dfns.errors import DfnsBadRequest, DfnsRateLimited, DfnsUnavailable
from managed_accounts.dfns.models import TransferRequest
from managed_accounts.domain.order_legs import TIME_RESERVE_SECONDS
from managed_accounts.domain.ports import LegMessage
from managed_accounts.domain.trading import ExchangeCatalog, Order, order_external_id

from tests.fakes.memory_orders import MemoryOrdersRepository
from tests.fakes.memory_queue import MemoryLegQueue
from tests.fakes.trading import DEPOSIT, EXCHANGE, EXCHANGES, Trading, build_trading
from tests.fakes.world import World, build_world

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


@dataclass
class Desk:
    world: World
    trading: Trading

    def active(self, *clients: str, amount: str = "0.05") -> None:
        for client_id in clients:
            self.world.onboarding.onboard(client_id)
            self.trading.mandates.authorise(client_id, EXCHANGE, "ETH", amount)
        self.decide_all()

    def decide_all(self, value: str = "Approved") -> None:
        for approval_id in self.world.dfns.pending_approval_ids():
            approval = self.world.dfns.decide(approval_id, value)  # type: ignore[arg-type]
            self.trading.destinations.apply_approval(approval)

    def transfers(self, client_id: str) -> list[str]:
        account = self.world.repo.get_account(client_id)
        assert account is not None
        assert account.wallet_id is not None
        return [t.id for t in self.world.dfns.transfers_of(account.wallet_id)]


def _desk(*, duplicates: bool = False, count_limit: int = 20) -> Desk:
    world = build_world(
        exchanges=EXCHANGES,
        order_breaker_threshold=3,
        limit_profiles={"standard": {"countLimit": count_limit, "countTimeframeMinutes": 1440}},
    )
    orders = MemoryOrdersRepository(outbox=world.repo.outbox)  # type: ignore[attr-defined]
    trading = build_trading(
        accounts=world.repo,
        orders=orders,
        dfns=world.dfns,
        settings=world.settings,
        clock=world.clock,
        publisher=world.publisher,
        queue=MemoryLegQueue(world.clock, duplicates=duplicates),
    )
    return Desk(world, trading)


@pytest.fixture
def desk() -> Desk:
    return _desk()


def test_a_run_pays_each_active_mandate_once(desk: Desk) -> None:
    desk.active("alice", "bob", "carol")

    report = desk.trading.run("run-1")

    assert report.by_status == {"submitted": 3}
    assert report.transfers == 3
    for client_id in ("alice", "bob", "carol"):
        (transfer_id,) = desk.transfers(client_id)
        transfer = desk.world.dfns.transfers[transfer_id]
        assert transfer.external_id == order_external_id("run-1", client_id)
        assert transfer.request_body == {
            "kind": "Native",
            "to": DEPOSIT,
            "amount": str(5 * 10**16),
            "externalId": order_external_id("run-1", client_id),
        }
    assert desk.world.publisher.types().count("OrderSubmitted") == 3


def test_the_planner_pages_the_index_and_sends_ten_legs_per_batch(desk: Desk) -> None:
    clients = [f"client-{i:02d}" for i in range(23)]
    desk.active(*clients)
    desk.trading.planner._page_size = 7  # several pages of the index, none holding every mandate

    started, replayed = desk.trading.planner.start("run-1", trigger="schedule")
    report = desk.trading.plan_pages("run-1")

    assert not replayed
    assert (started.run.status, started.legs) == ("planning", 0)  # answered before any page is planned
    assert (report.run.status, report.run.planned) == ("planned", 23)
    assert report.by_status == {"planned": 23}
    assert [p.planned for p in desk.trading.queue.pages] == [0]  # one message planned every page
    assert sorted(leg.client_id for leg in desk.trading.queue.sent) == clients
    assert max(desk.trading.queue.batch_sizes) <= 10


def test_planning_stops_short_of_the_invocation_deadline_and_queues_the_next_page(desk: Desk) -> None:
    desk.active(*[f"client-{i:02d}" for i in range(10)])
    desk.trading.planner._page_size = 4
    desk.trading.planner.start("run-1", trigger="schedule")
    (first,) = desk.trading.queue.take_pages()

    enqueued = desk.trading.planner.plan(first, time_left=lambda: 1.0)  # no time for a second page

    assert enqueued == 4
    (next_page,) = desk.trading.queue.take_pages()
    assert (next_page.run_id, next_page.planned) == ("run-1", 4)
    assert desk.trading.planner.report("run-1").run.status == "planning"
    desk.trading.planner.plan(next_page)
    report = desk.trading.planner.report("run-1")
    assert (report.run.status, report.run.planned, report.legs) == ("planned", 10, 10)


def test_replaying_a_finished_run_changes_nothing(desk: Desk) -> None:
    desk.active("alice", "bob")
    first = desk.trading.run("run-1")
    transfers = desk.world.dfns.calls["transfer"]

    second, replayed = desk.trading.planner.start("run-1", trigger="operator:ops")
    desk.trading.drain()

    assert replayed
    assert second.run.replays == 1
    assert desk.trading.queue.sent[-1].run_id == "run-1"
    assert len(desk.trading.queue.sent) == 2  # nothing owed a try: no leg enqueued again
    assert desk.world.dfns.calls["transfer"] == transfers
    assert desk.trading.planner.report("run-1").by_status == first.by_status


def test_every_message_delivered_twice_pays_once() -> None:
    desk = _desk(duplicates=True)
    desk.active("alice", "bob", "carol")

    report = desk.trading.run("run-1")

    assert report.by_status == {"submitted": 3}
    assert desk.world.dfns.calls["transfer"] == 3
    assert desk.trading.metrics.total("OrderLeg_duplicate") >= 3  # every leg came at least twice


def test_a_mandate_added_after_the_run_joins_it_on_replay(desk: Desk) -> None:
    desk.active("alice")
    desk.trading.run("run-1")
    desk.active("bob")

    desk.trading.planner.start("run-1", trigger="operator:ops")
    desk.trading.drain()

    assert len(desk.transfers("alice")) == 1
    assert len(desk.transfers("bob")) == 1


def test_skips_have_their_reason_and_cost_no_dfns_call() -> None:
    desk = _desk(count_limit=1)  # one transfer per client per day
    desk.active("budget")
    desk.trading.run("earlier")  # "budget" spends today's transfer here
    desk.active("payer", "removed", "revoked")
    desk.trading.mandates.revoke("revoked")
    desk.trading.destinations.request_removal("removed", DEPOSIT)
    desk.decide_all("Approved")  # the removal: the exchange is no longer an approved destination
    desk.world.onboarding.onboard("pending")
    desk.trading.mandates.authorise("pending", EXCHANGE, "ETH", "0.05")  # compliance has not decided
    before = desk.world.dfns.calls["transfer"]

    report = desk.trading.run("run-1")

    assert report.skipped == {
        "count_budget_spent": 1,
        "destination_not_approved": 1,
        "destination_pending": 1,
    }
    assert report.by_status == {"submitted": 1, "skipped": 3}
    assert desk.world.dfns.calls["transfer"] == before + 1  # the payer's, and nothing else
    # A revoked mandate is not planned at all.
    assert "revoked" not in {o.client_id for o in desk.trading.orders.iter_run_orders("run-1")}


def test_a_leg_planned_before_the_mandate_was_revoked_is_skipped(desk: Desk) -> None:
    desk.active("alice")
    desk.trading.plan("run-1")

    desk.trading.mandates.revoke("alice")
    desk.trading.drain()

    assert desk.trading.planner.report("run-1").skipped == {"mandate_revoked": 1}
    assert desk.world.dfns.calls["transfer"] == 0


def test_a_leg_planned_while_pending_then_denied_is_skipped(desk: Desk) -> None:
    desk.world.onboarding.onboard("alice")
    desk.trading.mandates.authorise("alice", EXCHANGE, "ETH", "0.05")
    desk.trading.plan("run-1")

    desk.decide_all("Denied")
    desk.trading.drain()

    assert desk.trading.planner.report("run-1").skipped == {"destination_rejected": 1}
    assert desk.world.dfns.calls["transfer"] == 0


def test_a_changed_exchange_deposit_address_is_not_paid(desk: Desk) -> None:
    desk.active("alice")
    desk.trading.plan("run-1")
    moved = dict(EXCHANGES)
    deposits = {**EXCHANGES[EXCHANGE]["depositAddresses"], "EthereumSepolia": "0x" + "f1" * 20}
    moved[EXCHANGE] = {**EXCHANGES[EXCHANGE], "depositAddresses": deposits}
    desk.trading.worker._catalog = _catalog(moved)

    desk.trading.drain()

    assert desk.trading.planner.report("run-1").skipped == {"deposit_address_changed": 1}
    assert desk.world.dfns.calls["transfer"] == 0


def _catalog(exchanges: dict[str, object]) -> ExchangeCatalog:
    from managed_accounts.wiring import exchange_catalog_of

    return exchange_catalog_of(build_world(exchanges=exchanges).settings)


def test_a_policy_block_is_rejected_with_dfns_reason(desk: Desk) -> None:
    desk.active("alice")
    desk.world.dfns.blocked_recipients.add(DEPOSIT)

    report = desk.trading.run("run-1")

    assert report.by_status == {"rejected": 1}
    (order,) = desk.trading.orders.iter_run_orders("run-1")
    assert order.reason == "Blocked by policy: whitelist"
    assert order.transfer_id is not None
    assert desk.world.publisher.types().count("OrderRejected") == 1


def test_a_refusal_answered_with_an_error_is_rejected_with_its_message(desk: Desk) -> None:
    desk.active("alice")
    desk.world.dfns.fail("transfer", error=DfnsBadRequest("Blocked by policy: limits", status=400))

    report = desk.trading.run("run-1")

    assert report.by_status == {"rejected": 1}
    (order,) = desk.trading.orders.iter_run_orders("run-1")
    assert order.reason == "Dfns refused the transfer: Blocked by policy: limits"
    assert order.transfer_id is None


def test_a_rate_limit_sends_the_leg_back_after_retry_after(desk: Desk) -> None:
    desk.active("alice")
    desk.world.dfns.fail("transfer", error=DfnsRateLimited("slow down", status=429, retry_after=17))

    report = desk.trading.run("run-1")

    assert desk.trading.queue.delays == [17]
    assert report.by_status == {"submitted": 1}
    assert desk.world.dfns.calls["transfer"] == 2
    run = desk.trading.orders.get_run("run-1")
    assert run is not None
    assert run.consecutive_failures == 0  # a rate limit is not an outage


def test_after_a_rate_limit_the_worker_holds_its_legs_back_without_asking_dfns_again(desk: Desk) -> None:
    desk.active("alice", "bob", "carol")
    desk.world.dfns.fail("transfer", error=DfnsRateLimited("slow down", status=429, retry_after=30))

    report = desk.trading.run("run-1")

    # The first leg met the limit; the two others went back for the rest of those 30 s unasked.
    assert desk.trading.queue.delays == [30, 30, 30]
    assert desk.world.dfns.calls["transfer"] == 4
    assert report.by_status == {"submitted": 3}


def test_an_outage_backs_off_counts_towards_the_breaker_and_a_success_resets_it(desk: Desk) -> None:
    desk.active("alice")
    desk.world.dfns.fail("transfer")
    desk.world.dfns.fail("transfer", nth=2)

    report = desk.trading.run("run-1")

    assert report.by_status == {"submitted": 1}
    assert desk.trading.queue.delays == [10, 20]  # exponential backoff on the receive count
    run = desk.trading.orders.get_run("run-1")
    assert run is not None
    assert (run.breaker_open, run.consecutive_failures) == (False, 0)


def test_the_breaker_opens_after_its_threshold_and_a_replay_submits_the_rest(desk: Desk) -> None:
    clients = [f"client-{i}" for i in range(6)]
    desk.active(*clients)
    for nth in range(1, 4):  # three outages in a row: the threshold
        desk.world.dfns.fail("transfer", nth=nth)

    report = desk.trading.run("run-1")

    assert report.run.breaker_open
    assert report.skipped == {"circuit_open": 6}
    assert desk.world.dfns.calls["transfer"] == 3
    assert desk.world.dfns.transfers == {}

    replay, replayed = desk.trading.planner.start("run-1", trigger="operator:ops")
    desk.trading.drain()

    assert replayed
    assert not replay.run.breaker_open
    final = desk.trading.planner.report("run-1")
    assert final.by_status == {"submitted": 6}
    assert all(len(desk.transfers(c)) == 1 for c in clients)


def test_an_approval_needed_is_recorded_with_its_approval_id(desk: Desk) -> None:
    desk.active("alice")
    original = desk.world.dfns._new_transfer

    def needs_approval(wallet_id: str, wire: dict[str, object]) -> TransferRequest:
        transfer = original(wallet_id, wire)
        return desk.world.dfns.set_transfer_status(transfer.id, "Pending", approval_id="ap-transfer-1")

    desk.world.dfns._new_transfer = needs_approval  # type: ignore[method-assign]

    desk.trading.run("run-1")

    (order,) = desk.trading.orders.iter_run_orders("run-1")
    assert (order.status, order.approval_id) == ("submitted", "ap-transfer-1")


def test_a_crash_after_the_dfns_call_pays_once_when_the_message_comes_back(desk: Desk) -> None:
    desk.active("alice", "bob")
    crashes = {"left": 1}
    save = desk.trading.orders.save_order

    class Crash(BaseException):
        """The process dies: nothing after this line runs, nothing is cleaned up."""

    def crash_once_after_dfns(order: Order, **kwargs: Any) -> Order:
        if order.transfer_id and crashes["left"]:
            crashes["left"] -= 1
            raise Crash
        return save(order, **kwargs)

    desk.trading.orders.save_order = crash_once_after_dfns  # type: ignore[method-assign]

    report = desk.trading.run("run-1")

    assert report.by_status == {"submitted": 2}
    assert desk.world.dfns.calls["transfer"] == 3  # the crashed leg's transfer was asked twice...
    assert len(desk.transfers("alice")) == 1  # ...and Dfns answered the repeat with the first one
    assert len(desk.transfers("bob")) == 1


def test_a_stale_claim_whose_mandate_was_revoked_meanwhile_records_the_earlier_transfer(desk: Desk) -> None:
    desk.active("alice")
    desk.trading.plan("run-1")
    run = desk.trading.orders.get_run("run-1")
    assert run is not None
    order = desk.trading.orders.get_order("alice", "run-1", run.created_at)
    assert order is not None
    claimed = desk.trading.transitions.claim(order)
    account = desk.world.repo.get_account("alice")
    assert account is not None
    assert account.wallet_id is not None
    from managed_accounts.domain.order_legs import transfer_body

    desk.world.dfns.transfer(account.wallet_id, transfer_body(claimed))  # reached Dfns, then died
    desk.trading.mandates.revoke("alice")
    desk.world.clock.advance(120)

    desk.trading.drain()

    (recorded,) = desk.trading.orders.iter_run_orders("run-1")
    assert recorded.status == "submitted"  # not "skipped": the transfer exists
    assert len(desk.transfers("alice")) == 1


def test_a_delivery_while_claimed_waits_out_the_lease_and_is_not_paid_twice(desk: Desk) -> None:
    from managed_accounts.domain.order_legs import LegDeferred

    desk.active("alice")
    desk.trading.plan("run-1")
    run = desk.trading.orders.get_run("run-1")
    assert run is not None
    order = desk.trading.orders.get_order("alice", "run-1", run.created_at)
    assert order is not None
    desk.trading.transitions.claim(order)  # another delivery is submitting it right now

    # Not dropped: the claim may be a failed attempt's, whose leg this delivery must then take over.
    with pytest.raises(LegDeferred, match="claimed"):
        desk.trading.worker.process(LegMessage("run-1", "alice"))

    assert desk.world.dfns.calls["transfer"] == 0
    assert desk.trading.queue.delays[-1] == 61  # back once the 60 s lease has passed


def test_a_leg_that_fails_unexpectedly_comes_back_after_a_backoff_not_the_visibility_timeout(
    desk: Desk,
) -> None:
    desk.active("alice")
    desk.trading.plan("run-1")
    desk.trading.orders.get_run = _raise  # type: ignore[method-assign,assignment]  # e.g. DynamoDB refused it

    with pytest.raises(RuntimeError):
        desk.trading.worker.process(LegMessage("run-1", "alice", receive_count=2))

    assert desk.trading.queue.delays[-1] == 20  # the backoff of a second receive


def test_a_leg_near_the_invocation_deadline_goes_back_to_the_queue(desk: Desk) -> None:
    desk.active("alice")
    desk.trading.plan("run-1")
    from managed_accounts.domain.order_legs import LegDeferred

    with pytest.raises(LegDeferred):
        desk.trading.worker.process(LegMessage("run-1", "alice"), time_left=lambda: TIME_RESERVE_SECONDS - 1)

    assert desk.world.dfns.calls["transfer"] == 0


def test_transfer_outcomes_move_orders_forward_only_and_announce_each_step_once(desk: Desk) -> None:
    desk.active("alice")
    desk.trading.run("run-1")
    (order,) = desk.trading.orders.iter_run_orders("run-1")
    assert order.transfer_id is not None
    dfns = desk.world.dfns
    record = desk.trading.outcomes.record_transfer

    confirmed = dfns.set_transfer_status(order.transfer_id, "Confirmed", tx_hash="0xabc")
    assert record("alice", confirmed)
    assert not record("alice", confirmed)  # a duplicate changes nothing
    late = dfns.set_transfer_status(order.transfer_id, "Broadcasted")
    assert not record("alice", late)  # out of order: never backwards
    assert not record("bob", confirmed)  # another client's order is not found from this client

    (final,) = desk.trading.orders.iter_run_orders("run-1")
    assert (final.status, final.tx_hash, final.transfer_status) == ("confirmed", "0xabc", "Confirmed")
    assert desk.world.publisher.types().count("OrderConfirmed") == 1
    assert [o.client_id for o in desk.trading.orders.iter_open_orders()] == []


def test_the_count_budget_counts_only_transfers_in_its_window() -> None:
    desk = _desk(count_limit=1)
    desk.active("alice")
    desk.trading.run("run-1")

    second = desk.trading.run("run-2")
    desk.world.clock.advance(timedelta(days=1, seconds=1).total_seconds())
    third = desk.trading.run("run-3")

    assert second.skipped == {"count_budget_spent": 1}
    assert third.by_status == {"submitted": 1}


def test_an_unavailable_dfns_before_the_transfer_releases_the_claim(desk: Desk) -> None:
    desk.active("alice")
    desk.world.dfns.fail("transfer", error=DfnsUnavailable("down", status=503))

    desk.trading.run("run-1")

    (order,) = desk.trading.orders.iter_run_orders("run-1")
    assert (order.status, order.attempts) == ("submitted", 2)


def _raise(*_: object) -> None:
    raise RuntimeError("a write refused after the SDK's retries")
