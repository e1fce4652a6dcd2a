"""Trading authorisations: the exchange address goes through the destination approval flow, and the
mandate follows its outcome (on fakes: the in-memory repositories and FakeDfns)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from managed_accounts.domain.trading import Mandate
from managed_accounts.errors import AccountNotReady, ConcurrentUpdate, InvalidInput, NotFound

from tests.fakes.memory_orders import MemoryOrdersRepository
from tests.fakes.trading import DEPOSIT, EXCHANGE, EXCHANGES, USDC, Trading, build_trading
from tests.fakes.world import World, build_world


@dataclass
class Desk:
    world: World
    trading: Trading

    def onboard(self, client_id: str) -> None:
        self.world.onboarding.onboard(client_id)

    def decide_all(self, value: str = "Approved") -> None:
        """The compliance officer decides every pending approval; the webhook applies it."""
        for approval_id in self.world.dfns.pending_approval_ids():
            approval = self.world.dfns.decide(approval_id, value)  # type: ignore[arg-type]
            self.trading.destinations.apply_approval(approval)

    def authorise(self, client_id: str, amount: str = "0.05", asset: str = "ETH") -> Mandate:
        return self.trading.mandates.authorise(client_id, EXCHANGE, asset, amount)


@pytest.fixture
def desk() -> Desk:
    world = build_world(exchanges=EXCHANGES)
    orders = MemoryOrdersRepository(outbox=world.repo.outbox)  # type: ignore[attr-defined]
    trading = build_trading(
        accounts=world.repo,
        orders=orders,
        dfns=world.dfns,
        settings=world.settings,
        clock=world.clock,
        publisher=world.publisher,
    )
    return Desk(world, trading)


def test_authorising_asks_compliance_to_approve_the_exchange_address(desk: Desk) -> None:
    desk.onboard("alice")

    mandate = desk.authorise("alice", "0.05")

    assert mandate.status == "pending_approval"
    assert (mandate.exchange, mandate.network, mandate.asset) == (EXCHANGE, "EthereumSepolia", "ETH")
    assert (mandate.amount_per_run, mandate.amount_units) == ("0.05", 5 * 10**16)
    assert mandate.deposit_address == DEPOSIT
    request = desk.trading.destinations.get_request("alice", str(mandate.destination_request_id))
    assert (request.action, request.address, request.status) == ("add", DEPOSIT, "submitted")
    assert request.label == f"{EXCHANGE} deposit"


def test_the_mandate_becomes_active_when_compliance_approves(desk: Desk) -> None:
    desk.onboard("alice")
    desk.authorise("alice")

    desk.decide_all("Approved")

    # Moved by the resolution itself (the listener), before anybody reads it.
    stored = desk.trading.orders.get_mandate("alice")
    assert stored is not None
    assert stored.status == "active"
    destination = desk.world.repo.get_destination("alice", DEPOSIT)
    assert destination is not None
    assert (stored.approval_id, stored.approved_at) == (destination.approval_id, destination.approved_at)


def test_a_denied_exchange_address_rejects_the_mandate_with_the_reason(desk: Desk) -> None:
    desk.onboard("alice")
    desk.authorise("alice")

    desk.decide_all("Denied")

    mandate = desk.trading.mandates.get("alice")
    assert mandate.status == "rejected"
    assert mandate.reason == "denied by compliance"


def test_a_lost_resolution_notice_is_repaired_by_the_next_read(desk: Desk) -> None:
    desk.onboard("alice")
    desk.authorise("alice")
    for approval_id in desk.world.dfns.pending_approval_ids():  # resolved without the listener
        desk.world.destinations.apply_approval(desk.world.dfns.decide(approval_id, "Approved"))
    assert desk.trading.orders.get_mandate("alice").status == "pending_approval"  # type: ignore[union-attr]

    assert desk.trading.mandates.get("alice").status == "active"


def test_an_exchange_address_already_approved_needs_no_second_approval(desk: Desk) -> None:
    desk.onboard("alice")
    desk.trading.destinations.request_destination("alice", DEPOSIT, "my exchange")
    desk.decide_all()
    calls_before = desk.world.dfns.calls["update_policy"]

    mandate = desk.authorise("alice")

    assert mandate.status == "active"
    assert mandate.destination_request_id is None
    assert desk.world.dfns.calls["update_policy"] == calls_before


def test_changing_amount_or_asset_keeps_the_approval(desk: Desk) -> None:
    desk.onboard("alice")
    desk.authorise("alice", "0.05")
    desk.decide_all()

    changed = desk.authorise("alice", "25.5", asset="usdc")

    assert changed.status == "active"
    assert (changed.asset, changed.asset_kind, changed.contract) == ("USDC", "Erc20", USDC)
    assert (changed.amount_per_run, changed.amount_units) == ("25.5", 25_500_000)
    assert desk.world.dfns.pending_approval_ids() == []


def test_an_exchange_address_removed_since_is_asked_for_again(desk: Desk) -> None:
    desk.onboard("alice")
    desk.authorise("alice")
    desk.decide_all()
    desk.trading.destinations.request_removal("alice", DEPOSIT)
    desk.decide_all()

    again = desk.authorise("alice", "0.05")

    assert again.status == "pending_approval"
    desk.decide_all()
    assert desk.trading.mandates.get("alice").status == "active"


def test_authorising_again_while_pending_is_the_same_request(desk: Desk) -> None:
    desk.onboard("alice")
    first = desk.authorise("alice", "0.05")

    again = desk.authorise("alice", "0.06")

    assert again.status == "pending_approval"
    assert again.destination_request_id == first.destination_request_id
    assert again.amount_per_run == "0.06"
    assert len(desk.world.dfns.pending_approval_ids()) == 1


def test_reauthorising_after_a_rejection_asks_again(desk: Desk) -> None:
    desk.onboard("alice")
    first = desk.authorise("alice")
    desk.decide_all("Denied")

    second = desk.authorise("alice")

    assert second.status == "pending_approval"
    assert second.destination_request_id != first.destination_request_id
    desk.decide_all("Approved")
    assert desk.trading.mandates.get("alice").status == "active"


@pytest.mark.parametrize(
    ("exchange", "asset", "amount", "problem"),
    [
        ("nowhere", "ETH", "1", "unknown exchange"),
        (EXCHANGE, "DOGE", "1", "no asset 'DOGE'"),
        (EXCHANGE, "USDC", "0.0000001", "more than 6 decimal places"),
        (EXCHANGE, "ETH", "0", "more than zero"),
    ],
)
def test_what_cannot_be_traded_is_refused_and_nothing_is_requested(
    desk: Desk, exchange: str, asset: str, amount: str, problem: str
) -> None:
    desk.onboard("alice")

    with pytest.raises(InvalidInput, match=problem):
        desk.trading.mandates.authorise("alice", exchange, asset, amount)

    assert desk.trading.orders.get_mandate("alice") is None
    assert desk.world.dfns.calls["update_policy"] == 0


def test_no_account_is_404_and_an_account_being_set_up_is_409(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.authorise("nobody")
    with pytest.raises(NotFound):
        desk.trading.mandates.get("nobody")
    desk.world.dfns.fail("create_wallet")
    with pytest.raises(Exception):
        desk.onboard("halfway")
    with pytest.raises(AccountNotReady):
        desk.authorise("halfway")


def test_revoking_is_final_for_the_mandate_and_twice_is_once(desk: Desk) -> None:
    desk.onboard("alice")
    desk.authorise("alice")
    desk.decide_all()

    revoked = desk.trading.mandates.revoke("alice")
    again = desk.trading.mandates.revoke("alice")

    assert revoked.status == "revoked"
    assert revoked.revoked_at is not None
    assert again == revoked
    # Revoked mandates leave the planner's index.
    assert desk.trading.orders.list_planned_mandates(limit=10).items == []


def test_two_writers_never_overwrite_each_other(desk: Desk) -> None:
    desk.onboard("alice")
    mandate = desk.authorise("alice")
    desk.trading.orders.save_mandate(mandate, expected_version=mandate.version)

    with pytest.raises(ConcurrentUpdate):
        desk.trading.orders.save_mandate(mandate, expected_version=mandate.version)
