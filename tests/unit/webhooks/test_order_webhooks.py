"""``wallet.transfer.*`` webhooks move orders forward through ``OrderOutcomes``: re-read from Dfns,
de-duplicated on the fact, forward only, announced once."""

from __future__ import annotations

import pytest
from managed_accounts.dfns.models import NativeTransferBody, WebhookEvent
from managed_accounts.domain.drift import DriftReporter
from managed_accounts.domain.trading import Order
from managed_accounts.domain.webhook_processor import WebhookProcessor

from tests.fakes.memory_orders import MemoryOrdersRepository
from tests.fakes.memory_repository import MemoryFactStore
from tests.fakes.recording import RecordingMetrics
from tests.fakes.trading import EXCHANGE, EXCHANGES, Trading, build_trading
from tests.fakes.world import World, build_world

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


class Desk:
    def __init__(self) -> None:
        self.world: World = build_world(exchanges=EXCHANGES)
        orders = MemoryOrdersRepository(outbox=self.world.repo.outbox)  # type: ignore[attr-defined]
        self.trading: Trading = build_trading(
            accounts=self.world.repo,
            orders=orders,
            dfns=self.world.dfns,
            settings=self.world.settings,
            clock=self.world.clock,
            publisher=self.world.publisher,
        )
        self.processor = WebhookProcessor(
            dfns=self.world.dfns,
            approvals=self.trading.destinations,
            accounts=self.world.repo,
            facts=MemoryFactStore(),
            drift=DriftReporter(self.world.publisher, RecordingMetrics(), self.world.clock),
            orders=self.trading.outcomes,
        )
        self.events = 0

    def ordered(self, client_id: str) -> Order:
        self.world.onboarding.onboard(client_id)
        self.trading.mandates.authorise(client_id, EXCHANGE, "ETH", "0.05")
        for approval_id in self.world.dfns.pending_approval_ids():
            self.trading.destinations.apply_approval(self.world.dfns.decide(approval_id, "Approved"))
        self.trading.run(f"run-{client_id}")
        (order,) = self.trading.orders.iter_run_orders(f"run-{client_id}")
        return order

    def send(self, kind: str, order: Order, hinted_status: str) -> str:
        """Dfns's webhook: a new event id each time; the data is only a hint."""
        self.events += 1
        data = {
            "transferRequest": {"id": order.transfer_id, "walletId": order.wallet_id, "status": hinted_status}
        }
        event = WebhookEvent(id=f"whe-{self.events}", kind=kind, data=data)
        return self.processor.process(event).result

    def stored(self, order: Order) -> Order:
        found = self.trading.orders.get_order(order.client_id, order.run_id, order.run_created_at)
        assert found is not None
        return found


@pytest.fixture
def desk() -> Desk:
    return Desk()


def test_a_transfer_webhook_re_reads_the_transfer_and_moves_the_order_forward(desk: Desk) -> None:
    order = desk.ordered("alice")
    assert order.transfer_id is not None
    desk.world.dfns.set_transfer_status(order.transfer_id, "Broadcasted", tx_hash="0xfeed")

    # The hint says Executing; Dfns says Broadcasted: the re-read wins.
    assert desk.send("wallet.transfer.broadcasted", order, "Executing") == "applied"

    stored = desk.stored(order)
    assert (stored.status, stored.tx_hash) == ("broadcasted", "0xfeed")


def test_confirmed_then_a_late_broadcast_and_duplicates_change_nothing_more(desk: Desk) -> None:
    order = desk.ordered("alice")
    assert order.transfer_id is not None
    desk.world.dfns.set_transfer_status(order.transfer_id, "Confirmed", tx_hash="0xfeed")

    assert desk.send("wallet.transfer.confirmed", order, "Confirmed") == "applied"
    assert desk.send("wallet.transfer.confirmed", order, "Confirmed") == "duplicate"  # a retry
    # Out of order: a late "broadcasted" re-reads Confirmed, a fact already recorded.
    assert desk.send("wallet.transfer.broadcasted", order, "Broadcasted") == "duplicate"

    assert desk.stored(order).status == "confirmed"
    assert desk.world.publisher.types().count("OrderConfirmed") == 1


def test_a_failed_transfer_fails_the_order_with_dfns_reason(desk: Desk) -> None:
    order = desk.ordered("alice")
    assert order.transfer_id is not None
    desk.world.dfns.set_transfer_status(order.transfer_id, "Failed", reason="Insufficient balance")

    assert desk.send("wallet.transfer.failed", order, "Failed") == "applied"

    stored = desk.stored(order)
    assert (stored.status, stored.reason) == ("failed", "Insufficient balance")
    assert desk.world.publisher.types().count("OrderFailed") == 1


def test_a_transfer_no_order_made_is_acknowledged_and_left_alone(desk: Desk) -> None:
    order = desk.ordered("alice")
    account = desk.world.repo.get_account("alice")
    assert account is not None
    assert account.wallet_id is not None
    manual = desk.world.dfns.transfer(account.wallet_id, NativeTransferBody(to="0x" + "12" * 20, amount="1"))
    data = {"transferRequest": {"id": manual.id, "walletId": account.wallet_id, "status": "Pending"}}

    result = desk.processor.process(WebhookEvent(id="whe-x", kind="wallet.transfer.requested", data=data))

    assert result.result == "unchanged"
    assert desk.stored(order).status == "submitted"
