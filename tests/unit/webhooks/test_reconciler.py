"""The reconciler: missed approvals applied, drift reported, failures contained, work bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from managed_accounts.domain.drift import DriftReporter
from managed_accounts.domain.reconciler import Reconciler, rotating_window

from tests.fakes.recording import FixedClock, RecordingMetrics, RecordingPublisher
from tests.unit.webhooks.fakes import Account, Claim, FakeAccounts, FakeApprovalSink, FakeDfns

A1 = "0x" + "a1" * 20
A2 = "0x" + "b2" * 20


class World:
    def __init__(self, clients: int = 2) -> None:
        self.dfns = FakeDfns()
        self.repo = FakeAccounts()
        self.sink = FakeApprovalSink()
        self.publisher = RecordingPublisher()
        self.metrics = RecordingMetrics()
        self.clock = FixedClock(datetime(2026, 11, 22, tzinfo=UTC))
        for n in range(1, clients + 1):
            client = f"c{n}"
            self.repo.accounts.append(Account(client, f"wa-{n}", f"plc-{n}"))
            self.dfns.add_wallet(f"wa-{n}", [f"client:{client}", "limits:standard"])
            self.dfns.add_whitelist(f"plc-{n}", [A1])
            self.repo.mirror[client] = [A1]

    def reconciler(self, **limits: int) -> Reconciler:
        return Reconciler(
            dfns=self.dfns,
            repository=self.repo,
            destinations=self.sink,
            drift=DriftReporter(self.publisher, self.metrics, self.clock),
            clock=self.clock,
            **limits,
        )


@pytest.fixture
def world() -> World:
    return World()


def test_a_healthy_estate_reports_no_drift(world: World) -> None:
    summary = world.reconciler().run()
    assert summary["walletsChecked"] == 2
    assert summary["policiesChecked"] == 2
    assert summary["drift"] == 0
    assert summary["failures"] == 0
    assert world.publisher.events == []


def test_a_missed_approval_is_applied_and_a_pending_one_is_left(world: World) -> None:
    world.sink.known = {"ap-1", "ap-2"}
    # Two requests of one batch share ap-1: it is read once.
    world.repo.submitted = [("c1", "ap-1"), ("c1", "ap-1"), ("c2", "ap-2")]
    world.dfns.set_approval("ap-1", "Approved")
    world.dfns.set_approval("ap-2", "Pending")
    summary = world.reconciler().run()
    assert world.sink.resolved == {"ap-1": "Approved"}
    assert world.dfns.reads.count("ap-1") == 1
    assert (summary["approvalsChecked"], summary["approvalsApplied"], summary["approvalsPending"]) == (
        2,
        1,
        1,
    )


def test_a_removed_tag_raises_security_drift(world: World) -> None:
    world.dfns.add_wallet("wa-2", ["limits:standard"])
    summary = world.reconciler().run()
    assert summary["drift"] == 1
    [event] = world.publisher.events
    assert (event.type, event.client_id) == ("SecurityDrift", "c2")
    assert event.detail["driftKind"] == "wallet_tags_removed"
    assert event.detail["missingTags"] == ["client:c2"]
    assert world.metrics.total("SecurityDrift") == 1


def test_a_whitelist_that_differs_from_the_mirror_raises_security_drift(world: World) -> None:
    # Someone added A2 in Dfns outside the approval flow, and removed A1.
    world.dfns.add_whitelist("plc-1", [A2])
    world.reconciler().run()
    [event] = world.publisher.events
    assert event.detail["driftKind"] == "whitelist_mismatch"
    assert event.detail["unexpectedAddresses"] == [A2]
    assert event.detail["missingAddresses"] == [A1]


def test_evm_case_differences_are_not_drift(world: World) -> None:
    world.dfns.add_whitelist("plc-1", [A1.upper().replace("0X", "0x")])
    assert world.reconciler().run()["drift"] == 0


def test_an_archived_whitelist_policy_is_drift(world: World) -> None:
    world.dfns.add_whitelist("plc-2", [A1], status="Archived")
    world.reconciler().run()
    assert [e.detail["driftKind"] for e in world.publisher.events] == ["whitelist_policy_inactive"]


def test_a_dfns_failure_on_one_item_does_not_stop_the_others(world: World) -> None:
    world.sink.known = {"ap-1", "ap-2"}
    world.repo.submitted = [("c1", "ap-1"), ("c2", "ap-2")]
    world.dfns.set_approval("ap-1", "Approved")
    world.dfns.set_approval("ap-2", "Denied")
    world.dfns.down_for = {"ap-1", "wa-1"}
    world.dfns.add_wallet("wa-2", [])
    summary = world.reconciler().run()
    assert world.sink.resolved == {"ap-2": "Denied"}
    assert summary["failures"] == 2
    assert summary["drift"] == 1
    assert summary["aborted"] is False
    assert summary["policiesChecked"] == 2


def test_an_unexpected_error_on_one_item_is_contained(world: World) -> None:
    world.sink.known = {"ap-1"}
    world.repo.submitted = [("c1", "ap-1")]
    world.dfns.set_approval("ap-1", "Approved")
    world.sink.fail_with = RuntimeError("dynamodb throttled")
    summary = world.reconciler().run()
    assert summary["failures"] == 1
    assert summary["walletsChecked"] == 2


def test_repeated_outages_open_the_circuit_breaker() -> None:
    world = World(clients=10)
    world.dfns.down = True
    summary = world.reconciler(max_consecutive_outages=3).run()
    assert summary["aborted"] is True
    assert summary["failures"] == 3
    assert len(world.dfns.reads) == 3
    assert summary["deferred"] > 0


def test_the_time_budget_stops_new_items() -> None:
    world = World(clients=3)
    assert world.reconciler().run(time_left=lambda: 5.0)["walletsChecked"] == 0


def test_work_is_bounded_and_the_window_rotates_over_every_account() -> None:
    world = World(clients=5)
    seen: set[str] = set()
    for _ in range(3):
        world.dfns.reads.clear()
        summary = world.reconciler(max_accounts=2).run()
        assert summary["walletsChecked"] == 2
        assert summary["deferred"] == 3
        seen.update(r for r in world.dfns.reads if r.startswith("wa-"))
        world.clock.advance(300)
    assert seen == {f"wa-{n}" for n in range(1, 6)}


def test_rotating_window_covers_everything() -> None:
    items = list(range(7))
    assert rotating_window(items, 10, 3) == items
    covered = {x for slot in range(4) for x in rotating_window(items, 2, slot)}
    assert covered == set(items)


def test_accounts_still_onboarding_get_only_the_checks_that_apply(world: World) -> None:
    world.repo.accounts.append(Account("c3", None, None, status="creating_wallet"))
    world.repo.accounts.append(Account("c4", "wa-4", None, status="creating_policy"))
    world.dfns.add_wallet("wa-4", ["client:c4", "limits:standard"])
    summary = world.reconciler().run()
    assert (summary["walletsChecked"], summary["policiesChecked"], summary["failures"]) == (3, 2, 0)


def test_clients_with_queued_requests_get_their_next_batch_submitted(world: World) -> None:
    world.repo.queued = ["c1", "c2"]
    summary = world.reconciler().run()
    assert world.sink.submitted_for == ["c1", "c2"]
    assert summary["queuedClients"] == 2


def test_a_change_approved_after_the_approval_step_is_applied_not_reported_as_drift(world: World) -> None:
    # Dfns applied c1's approved change (A2 added) but neither the webhook nor step 1 saw it yet.
    world.repo.accounts[0] = Account("c1", "wa-1", "plc-1", claim=Claim("ap-9"))
    world.dfns.add_whitelist("plc-1", [A1, A2])
    world.dfns.set_approval("ap-9", "Approved")
    world.sink.known = {"ap-9"}
    world.sink.on_apply = lambda approval: world.repo.mirror["c1"].append(A2)
    summary = world.reconciler().run()
    assert (summary["drift"], summary["approvalsApplied"]) == (0, 1)
    assert world.publisher.events == []


def test_a_mismatch_with_a_change_still_pending_is_drift(world: World) -> None:
    world.repo.accounts[0] = Account("c1", "wa-1", "plc-1", claim=Claim("ap-9"))
    world.dfns.add_whitelist("plc-1", [A1, A2])
    world.dfns.set_approval("ap-9", "Pending")
    summary = world.reconciler().run()
    assert summary["drift"] == 1
    assert world.publisher.events[0].detail["unexpectedAddresses"] == [A2]
