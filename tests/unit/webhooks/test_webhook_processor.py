"""Dispatch of authenticated events: re-read first, de-duplicate on the fact, move only forward."""

from __future__ import annotations

from typing import Any

import pytest
from managed_accounts.data.dedupe import InMemoryDedupeStore
from managed_accounts.dfns.errors import DfnsUnavailable
from managed_accounts.dfns.models import TransferRequest, WebhookEvent
from managed_accounts.domain.drift import DriftReporter
from managed_accounts.domain.webhook_processor import WebhookProcessor, approval_id_of

from tests.fakes.recording import FixedClock, RecordingMetrics, RecordingPublisher
from tests.unit.webhooks.fakes import Account, FakeAccounts, FakeApprovalSink, FakeDfns, FakeOrders


class World:
    def __init__(self) -> None:
        self.dfns = FakeDfns()
        self.sink = FakeApprovalSink({"ap-1"})
        self.accounts = FakeAccounts([Account("c1", "wa-1", "plc-1")])
        self.facts = InMemoryDedupeStore()
        self.publisher = RecordingPublisher()
        self.metrics = RecordingMetrics()
        self.orders = FakeOrders()
        self.processor = WebhookProcessor(
            dfns=self.dfns,
            approvals=self.sink,
            accounts=self.accounts,
            facts=self.facts,
            drift=DriftReporter(self.publisher, self.metrics, FixedClock()),
            orders=self.orders,
        )

    def send(self, kind: str, data: dict[str, Any], event_id: str = "whe-1") -> str:
        return self.processor.process(WebhookEvent(id=event_id, kind=kind, data=data)).result


@pytest.fixture
def world() -> World:
    return World()


def test_approval_id_is_read_from_both_documented_shapes() -> None:
    assert approval_id_of({"approval": {"id": "ap-1"}}) == "ap-1"
    assert approval_id_of({"approvalId": "ap-2"}) == "ap-2"
    assert approval_id_of({"approval": "ap-3"}) is None
    assert approval_id_of({}) is None


def test_a_resolved_approval_is_re_read_and_applied_once(world: World) -> None:
    world.dfns.set_approval("ap-1", "Approved")
    # The hint says Pending, Dfns says Approved: the re-read wins.
    assert (
        world.send("policy.approval.resolved", {"approval": {"id": "ap-1", "status": "Pending"}}) == "applied"
    )
    assert world.sink.resolved == {"ap-1": "Approved"}
    assert world.send("policy.approval.resolved", {"approvalId": "ap-1"}, "whe-2") == "duplicate"
    assert world.sink.calls == [("ap-1", "Approved")]


def test_a_duplicate_with_a_status_hint_is_dropped_without_calling_dfns(world: World) -> None:
    world.dfns.set_approval("ap-1", "Denied")
    data = {"approval": {"id": "ap-1", "status": "Denied"}}
    assert world.send("policy.approval.resolved", data) == "applied"
    reads = len(world.dfns.reads)
    assert world.send("policy.approval.resolved", data, "whe-2") == "duplicate"
    assert len(world.dfns.reads) == reads


def test_a_pending_approval_changes_nothing(world: World) -> None:
    world.dfns.set_approval("ap-1", "Pending")
    assert world.send("policy.approval.pending", {"approval": {"id": "ap-1"}}) == "unchanged"
    assert world.sink.calls == []
    assert world.facts.facts == set()


def test_an_approval_that_is_not_ours_changes_nothing_and_records_nothing(world: World) -> None:
    world.dfns.set_approval("ap-foreign", "Approved")
    assert world.send("policy.approval.resolved", {"approvalId": "ap-foreign"}) == "unchanged"
    assert world.sink.resolved == {}
    assert world.facts.facts == set()


def test_an_approval_unknown_to_dfns_is_ignored(world: World) -> None:
    assert world.send("policy.approval.resolved", {"approvalId": "ap-missing"}) == "ignored"
    assert world.send("policy.approval.resolved", {"approval": {}}) == "ignored"


def test_a_failed_apply_releases_the_fact_so_a_retry_can_act(world: World) -> None:
    world.dfns.set_approval("ap-1", "Approved")
    world.sink.fail_with = RuntimeError("dynamodb down")
    with pytest.raises(RuntimeError):
        world.send("policy.approval.resolved", {"approvalId": "ap-1"})
    assert world.facts.facts == set()
    world.sink.fail_with = None
    assert world.send("policy.approval.resolved", {"approvalId": "ap-1"}, "whe-2") == "applied"


def test_dfns_down_during_the_re_read_raises_and_records_nothing(world: World) -> None:
    world.dfns.set_approval("ap-1", "Approved")
    world.dfns.down = True
    with pytest.raises(DfnsUnavailable):
        world.send("policy.approval.resolved", {"approvalId": "ap-1"})
    assert world.facts.facts == set()
    assert world.sink.calls == []


def _transfer(status: str, wallet_id: str = "wa-1") -> TransferRequest:
    return TransferRequest(id="xfr-1", wallet_id=wallet_id, status=status)


def test_a_transfer_on_a_managed_wallet_is_re_read_and_recorded_once_per_status(world: World) -> None:
    world.dfns.transfers["xfr-1"] = _transfer("Broadcasted")
    hint = {"transferRequest": {"id": "xfr-1", "walletId": "wa-1", "status": "Pending"}}
    assert world.send("wallet.transfer.requested", hint) == "applied"
    world.dfns.transfers["xfr-1"] = _transfer("Confirmed")
    assert world.send("wallet.transfer.confirmed", hint, "whe-2") == "applied"
    # A late `broadcasted` event: Dfns already says Confirmed, which was recorded.
    assert world.send("wallet.transfer.broadcasted", hint, "whe-3") == "duplicate"
    assert world.orders.recorded == [("c1", "xfr-1", "Broadcasted"), ("c1", "xfr-1", "Confirmed")]


def test_without_an_orders_sink_a_transfer_changes_nothing(world: World) -> None:
    world.dfns.transfers["xfr-1"] = _transfer("Confirmed")
    processor = WebhookProcessor(
        dfns=world.dfns,
        approvals=world.sink,
        accounts=world.accounts,
        facts=world.facts,
        drift=DriftReporter(world.publisher, world.metrics, FixedClock()),
    )
    event = WebhookEvent(
        id="e",
        kind="wallet.transfer.confirmed",
        data={"transferRequest": {"id": "xfr-1", "walletId": "wa-1"}},
    )
    assert processor.process(event).result == "unchanged"
    assert world.facts.facts == set()


def test_a_transfer_on_an_unmanaged_wallet_is_ignored_without_a_dfns_call(world: World) -> None:
    hint = {"transferRequest": {"id": "xfr-9", "walletId": "wa-other", "status": "Confirmed"}}
    assert world.send("wallet.transfer.confirmed", hint) == "ignored"
    assert world.send("wallet.transfer.confirmed", {"transferRequest": {"id": "xfr-9"}}) == "ignored"
    assert world.dfns.reads == []


def test_removing_a_client_tag_raises_security_drift_once(world: World) -> None:
    world.dfns.add_wallet("wa-1", ["limits:standard"])
    data = {"wallet": {"id": "wa-1"}, "tagsAdded": [], "tagsRemoved": ["client:c1"]}
    assert world.send("wallet.tags.modified", data) == "applied"
    assert world.send("wallet.tags.modified", data, "whe-retry") == "duplicate"
    assert world.publisher.types() == ["SecurityDrift"]
    event = world.publisher.events[0]
    assert event.client_id == "c1"
    assert event.detail["missingTags"] == ["client:c1"]
    assert world.metrics.total("SecurityDrift") == 1


def test_a_removed_limits_tag_is_drift_even_if_it_was_added_back_since(world: World) -> None:
    world.dfns.add_wallet("wa-1", ["client:c1", "limits:standard"])
    data = {"wallet": {"id": "wa-1"}, "tagsRemoved": ["limits:standard"]}
    assert world.send("wallet.tags.modified", data) == "applied"
    assert world.publisher.events[0].detail["removedTags"] == ["limits:standard"]


def test_unrelated_tag_changes_and_foreign_wallets_are_not_drift(world: World) -> None:
    world.dfns.add_wallet("wa-1", ["client:c1", "limits:standard"])
    assert (
        world.send("wallet.tags.modified", {"wallet": {"id": "wa-1"}, "tagsRemoved": ["vip"]}) == "unchanged"
    )
    assert (
        world.send("wallet.tags.modified", {"wallet": {"id": "wa-x"}, "tagsRemoved": ["client:x"]})
        == "ignored"
    )
    assert world.publisher.events == []


def test_a_failing_event_bus_releases_the_drift_fact_but_the_metric_still_counts(world: World) -> None:
    world.dfns.add_wallet("wa-1", [])

    class DownBus:
        def publish(self, events: object) -> None:
            raise RuntimeError("eventbridge down")

    metrics = RecordingMetrics()
    processor = WebhookProcessor(
        dfns=world.dfns,
        approvals=world.sink,
        accounts=world.accounts,
        facts=world.facts,
        drift=DriftReporter(DownBus(), metrics, FixedClock()),
    )
    with pytest.raises(RuntimeError):
        processor.process(WebhookEvent(id="e", kind="wallet.tags.modified", data={"walletId": "wa-1"}))
    assert metrics.total("SecurityDrift") == 1
    assert world.facts.facts == set()


def test_unknown_kinds_are_ignored(world: World) -> None:
    assert world.send("wallet.blockchainevent.detected", {"blockchainEvent": {}}) == "ignored"
    assert world.dfns.reads == []
