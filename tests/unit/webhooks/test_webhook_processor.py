"""Dispatch of authenticated events: re-read first, de-duplicate on the fact, move only forward.

The processor runs over the real ``DestinationService`` and the in-memory storage; the approvals it
applies are those of real destination requests, decided in the ``FakeDfns``.
"""

from __future__ import annotations

from typing import Any

import pytest
from managed_accounts.dfns.errors import DfnsUnavailable
from managed_accounts.dfns.models import NativeTransferBody, WebhookEvent
from managed_accounts.domain.models import Account
from managed_accounts.domain.webhook_processor import approval_id_of

from tests.fakes.recording import RecordingOrders
from tests.fakes.world import World

CLIENT = "c1"
ADDRESS = "0x" + "a1" * 20


@pytest.fixture
def account(world: World) -> Account:
    account = world.active_account(CLIENT)
    world.publisher.events.clear()
    return account


def _send(world: World, kind: str, data: dict[str, Any], event_id: str = "whe-1", **deps: Any) -> str:
    event = WebhookEvent(id=event_id, kind=kind, data=data)
    return world.webhook_processor(**deps).process(event).result


def _approval_waiting(world: World) -> str:
    """A destination request submitted to Dfns: its approval is ours."""
    request = world.destinations.request_destination(CLIENT, ADDRESS, None)
    assert request.status == "submitted"
    return str(request.approval_id)


def _status(world: World) -> str:
    [request] = world.repo.list_requests(CLIENT).items
    return request.status


def _transfer(world: World, account: Account) -> str:
    return world.dfns.transfer(str(account.wallet_id), NativeTransferBody(to=ADDRESS, amount="1")).id


def test_approval_id_is_read_from_both_documented_shapes() -> None:
    assert approval_id_of({"approval": {"id": "ap-1"}}) == "ap-1"
    assert approval_id_of({"approvalId": "ap-2"}) == "ap-2"
    assert approval_id_of({"approval": "ap-3"}) is None
    assert approval_id_of({}) is None


def test_a_resolved_approval_is_re_read_and_applied_once(world: World, account: Account) -> None:
    approval_id = _approval_waiting(world)
    world.dfns.decide(approval_id, "Approved")
    # The hint says Pending, Dfns says Approved: the re-read wins.
    hint = {"approval": {"id": approval_id, "status": "Pending"}}
    assert _send(world, "policy.approval.resolved", hint) == "applied"
    assert _status(world) == "approved"
    assert [d.address for d in world.repo.list_destinations(CLIENT)] == [ADDRESS]
    assert _send(world, "policy.approval.resolved", {"approvalId": approval_id}, "whe-2") == "duplicate"
    assert world.publisher.types().count("DestinationApproved") == 1


def test_a_duplicate_with_a_status_hint_is_dropped_without_calling_dfns(
    world: World, account: Account
) -> None:
    approval_id = _approval_waiting(world)
    world.dfns.decide(approval_id, "Denied")
    data = {"approval": {"id": approval_id, "status": "Denied"}}
    assert _send(world, "policy.approval.resolved", data) == "applied"
    assert _status(world) == "rejected"
    reads = len(world.dfns.reads)
    assert _send(world, "policy.approval.resolved", data, "whe-2") == "duplicate"
    assert len(world.dfns.reads) == reads


def test_a_pending_approval_changes_nothing(world: World, account: Account) -> None:
    approval_id = _approval_waiting(world)
    assert _send(world, "policy.approval.pending", {"approval": {"id": approval_id}}) == "unchanged"
    assert _status(world) == "submitted"
    assert not world.facts.seen(approval_id, "Pending")


def test_an_approval_that_is_not_ours_changes_nothing_and_records_nothing(
    world: World, account: Account
) -> None:
    world.dfns.add_approval("ap-foreign", "Approved")
    assert _send(world, "policy.approval.resolved", {"approvalId": "ap-foreign"}) == "unchanged"
    assert not world.facts.seen("ap-foreign", "Approved")
    assert world.publisher.events == []


def test_an_approval_unknown_to_dfns_is_ignored(world: World) -> None:
    assert _send(world, "policy.approval.resolved", {"approvalId": "ap-missing"}) == "ignored"
    assert _send(world, "policy.approval.resolved", {"approval": {}}) == "ignored"


def test_a_failed_apply_releases_the_fact_so_a_retry_can_act(
    world: World, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    approval_id = _approval_waiting(world)
    world.dfns.decide(approval_id, "Approved")

    def dynamodb_down(approval_id: str) -> Any:
        raise RuntimeError("dynamodb down")

    with monkeypatch.context() as outage:
        outage.setattr(world.repo, "find_requests_by_approval", dynamodb_down)
        with pytest.raises(RuntimeError):
            _send(world, "policy.approval.resolved", {"approvalId": approval_id})
    assert not world.facts.seen(approval_id, "Approved")
    assert _send(world, "policy.approval.resolved", {"approvalId": approval_id}, "whe-2") == "applied"
    assert _status(world) == "approved"


def test_dfns_down_during_the_re_read_raises_and_records_nothing(world: World, account: Account) -> None:
    approval_id = _approval_waiting(world)
    world.dfns.decide(approval_id, "Approved")
    world.dfns.down = True
    with pytest.raises(DfnsUnavailable):
        _send(world, "policy.approval.resolved", {"approvalId": approval_id})
    assert not world.facts.seen(approval_id, "Approved")
    assert _status(world) == "submitted"


def test_a_transfer_on_a_managed_wallet_is_re_read_and_recorded_once_per_status(
    world: World, account: Account
) -> None:
    orders = RecordingOrders()
    transfer_id = _transfer(world, account)
    world.dfns.set_transfer_status(transfer_id, "Broadcasted")
    hint = {"transferRequest": {"id": transfer_id, "walletId": account.wallet_id, "status": "Pending"}}
    assert _send(world, "wallet.transfer.requested", hint, orders=orders) == "applied"
    world.dfns.set_transfer_status(transfer_id, "Confirmed")
    assert _send(world, "wallet.transfer.confirmed", hint, "whe-2", orders=orders) == "applied"
    # A late `broadcasted` event: Dfns already says Confirmed, which was recorded.
    assert _send(world, "wallet.transfer.broadcasted", hint, "whe-3", orders=orders) == "duplicate"
    assert orders.recorded == [(CLIENT, transfer_id, "Broadcasted"), (CLIENT, transfer_id, "Confirmed")]


def test_without_an_orders_sink_a_transfer_changes_nothing(world: World, account: Account) -> None:
    transfer_id = _transfer(world, account)
    world.dfns.set_transfer_status(transfer_id, "Confirmed")
    data = {"transferRequest": {"id": transfer_id, "walletId": account.wallet_id}}
    assert _send(world, "wallet.transfer.confirmed", data) == "unchanged"
    assert not world.facts.seen(transfer_id, "Confirmed")


def test_a_transfer_on_an_unmanaged_wallet_is_ignored_without_a_dfns_call(
    world: World, account: Account
) -> None:
    orders = RecordingOrders()
    hint = {"transferRequest": {"id": "xfr-9", "walletId": "wa-other", "status": "Confirmed"}}
    assert _send(world, "wallet.transfer.confirmed", hint, orders=orders) == "ignored"
    assert _send(world, "wallet.transfer.confirmed", {"transferRequest": {"id": "xfr-9"}}) == "ignored"
    assert world.dfns.reads == []
    assert orders.recorded == []


def test_removing_a_client_tag_raises_security_drift_once(world: World, account: Account) -> None:
    wallet_id = str(account.wallet_id)
    world.dfns.remove_tags(wallet_id, [f"client:{CLIENT}"])
    data = {"wallet": {"id": wallet_id}, "tagsAdded": [], "tagsRemoved": [f"client:{CLIENT}"]}
    assert _send(world, "wallet.tags.modified", data) == "applied"
    assert _send(world, "wallet.tags.modified", data, "whe-retry") == "duplicate"
    assert world.publisher.types() == ["SecurityDrift"]
    event = world.publisher.events[0]
    assert event.client_id == CLIENT
    assert event.detail["missingTags"] == [f"client:{CLIENT}"]
    assert world.metrics.total("SecurityDrift") == 1


def test_a_removed_limits_tag_is_drift_even_if_it_was_added_back_since(
    world: World, account: Account
) -> None:
    # The wallet still carries every tag: it was untagged, then tagged again, between two reads.
    data = {"wallet": {"id": account.wallet_id}, "tagsRemoved": ["limits:standard"]}
    assert _send(world, "wallet.tags.modified", data) == "applied"
    assert world.publisher.events[0].detail["removedTags"] == ["limits:standard"]


def test_unrelated_tag_changes_and_foreign_wallets_are_not_drift(world: World, account: Account) -> None:
    unrelated = {"wallet": {"id": account.wallet_id}, "tagsRemoved": ["vip"]}
    assert _send(world, "wallet.tags.modified", unrelated) == "unchanged"
    foreign = {"wallet": {"id": "wa-x"}, "tagsRemoved": ["client:x"]}
    assert _send(world, "wallet.tags.modified", foreign) == "ignored"
    assert world.publisher.events == []


def test_a_failing_event_bus_releases_the_drift_fact_but_the_metric_still_counts(
    world: World, account: Account
) -> None:
    wallet_id = str(account.wallet_id)
    world.dfns.remove_tags(wallet_id, [f"client:{CLIENT}"])
    world.publisher.down = True
    with pytest.raises(RuntimeError):
        _send(world, "wallet.tags.modified", {"walletId": wallet_id})
    assert world.metrics.total("SecurityDrift") == 1
    world.publisher.down = False
    assert _send(world, "wallet.tags.modified", {"walletId": wallet_id}, "whe-retry") == "applied"
    assert world.publisher.types() == ["SecurityDrift"]


def test_unknown_kinds_are_ignored(world: World) -> None:
    assert _send(world, "wallet.blockchainevent.detected", {"blockchainEvent": {}}) == "ignored"
    assert world.dfns.reads == []
