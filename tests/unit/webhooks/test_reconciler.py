"""The reconciler: missed approvals applied, drift reported, failures contained, work bounded.

An estate of onboarded clients, each with A1 approved (in the live whitelist and in the mirror), over
the real services, the in-memory storage and the ``FakeDfns``.
"""

from __future__ import annotations

import pytest
from managed_accounts.domain.models import Account
from managed_accounts.domain.reconciler import rotating_window
from managed_accounts.errors import UpstreamUnavailable

from functions.webhooks import reconciler as reconciler_function
from tests.fakes.apigw import FakeLambdaContext
from tests.fakes.world import World, build_world

A1 = "0x" + "a1" * 20
A2 = "0x" + "b2" * 20
A3 = "0x" + "c3" * 20


def estate(clients: int = 2) -> World:
    world = build_world()
    for n in range(1, clients + 1):
        world.active_account(f"c{n}")
        world.destinations.request_destination(f"c{n}", A1, None)
    world.approve_all()
    world.publisher.events.clear()
    world.dfns.reads.clear()
    return world


def account(world: World, client_id: str) -> Account:
    found = world.repo.get_account(client_id)
    assert found is not None
    return found


def wallet_of(world: World, client_id: str) -> str:
    return str(account(world, client_id).wallet_id)


def whitelist_of(world: World, client_id: str) -> str:
    return str(account(world, client_id).whitelist_policy_id)


def ask(world: World, client_id: str, address: str) -> str:
    """A destination request submitted to Dfns; its approval id."""
    request = world.destinations.request_destination(client_id, address, None)
    assert request.status == "submitted"
    return str(request.approval_id)


def statuses(world: World, client_id: str) -> dict[str, str]:
    return {r.address: r.status for r in world.repo.list_requests(client_id).items}


@pytest.fixture
def world() -> World:
    return estate()


def test_a_healthy_estate_reports_no_drift(world: World) -> None:
    summary = world.reconciler().run()
    assert summary["walletsChecked"] == 2
    assert summary["policiesChecked"] == 2
    assert summary["drift"] == 0
    assert summary["failures"] == 0
    assert world.publisher.events == []


def test_a_missed_approval_is_applied_and_a_pending_one_is_left(world: World) -> None:
    # c1's two requests went out together while Dfns was back: one change, one approval, read once.
    world.dfns.down = True
    for address in (A2, A3):
        world.destinations.request_destination("c1", address, None)
    world.dfns.down = False
    world.destinations.submit_next_batch("c1")
    [approved] = world.dfns.pending_approval_ids()
    pending = ask(world, "c2", A2)
    world.dfns.decide(approved, "Approved")  # ... and its webhook was lost

    summary = world.reconciler().run()

    assert statuses(world, "c1") == {A1: "approved", A2: "approved", A3: "approved"}
    assert statuses(world, "c2")[A2] == "submitted"
    assert world.dfns.reads.count(approved) == 1
    assert world.dfns.reads.count(pending) == 1
    assert (summary["approvalsChecked"], summary["approvalsApplied"], summary["approvalsPending"]) == (
        2,
        1,
        1,
    )
    assert summary["drift"] == 0


def test_a_removed_tag_raises_security_drift(world: World) -> None:
    world.dfns.remove_tags(wallet_of(world, "c2"), ["client:c2"])
    summary = world.reconciler().run()
    assert summary["drift"] == 1
    [event] = world.publisher.events
    assert (event.type, event.client_id) == ("SecurityDrift", "c2")
    assert event.detail["driftKind"] == "wallet_tags_removed"
    assert event.detail["missingTags"] == ["client:c2"]
    assert world.metrics.total("SecurityDrift") == 1


def test_a_whitelist_that_differs_from_the_mirror_raises_security_drift(world: World) -> None:
    # Someone added A2 in Dfns outside the approval flow, and removed A1.
    world.dfns.set_whitelist(whitelist_of(world, "c1"), [A2])
    world.reconciler().run()
    [event] = world.publisher.events
    assert event.detail["driftKind"] == "whitelist_mismatch"
    assert event.detail["unexpectedAddresses"] == [A2]
    assert event.detail["missingAddresses"] == [A1]


def test_evm_case_differences_are_not_drift(world: World) -> None:
    world.dfns.set_whitelist(whitelist_of(world, "c1"), [A1.upper().replace("0X", "0x")])
    assert world.reconciler().run()["drift"] == 0


def test_an_archived_whitelist_policy_is_drift(world: World) -> None:
    world.dfns.set_policy_status(whitelist_of(world, "c2"), "Archived")
    world.reconciler().run()
    assert [e.detail["driftKind"] for e in world.publisher.events] == ["whitelist_policy_inactive"]


def test_a_dfns_failure_on_one_item_does_not_stop_the_others(world: World) -> None:
    unreadable = ask(world, "c1", A2)
    denied = ask(world, "c2", A2)
    world.dfns.decide(denied, "Denied")
    world.dfns.down_for = {unreadable, wallet_of(world, "c1")}
    world.dfns.remove_tags(wallet_of(world, "c2"), ["client:c2"])

    summary = world.reconciler().run()

    assert statuses(world, "c1")[A2] == "submitted"
    assert statuses(world, "c2")[A2] == "rejected"
    assert summary["failures"] == 2
    assert summary["drift"] == 1
    assert summary["aborted"] is False
    assert summary["policiesChecked"] == 2


def test_an_unexpected_error_on_one_item_is_contained(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.dfns.decide(ask(world, "c1", A2), "Denied")

    def throttled(approval_id: str) -> list[object]:
        raise RuntimeError("dynamodb throttled")

    monkeypatch.setattr(world.repo, "find_requests_by_approval", throttled)
    summary = world.reconciler().run()
    assert summary["failures"] == 1
    assert summary["walletsChecked"] == 2


def test_repeated_outages_open_the_circuit_breaker() -> None:
    world = estate(clients=10)
    world.dfns.down = True
    summary = world.reconciler(max_consecutive_outages=3).run()
    assert summary["aborted"] is True
    assert summary["failures"] == 3
    assert len(world.dfns.reads) == 3
    assert summary["deferred"] > 0


def test_the_time_budget_stops_new_items() -> None:
    world = estate(clients=3)
    assert world.reconciler().run(time_left=lambda: 5.0)["walletsChecked"] == 0


def test_work_is_bounded_and_the_window_rotates_over_every_account() -> None:
    world = estate(clients=5)
    wallets = {wallet_of(world, f"c{n}") for n in range(1, 6)}
    seen: set[str] = set()
    for _ in range(3):
        world.dfns.reads.clear()
        summary = world.reconciler(max_accounts=2).run()
        assert summary["walletsChecked"] == 2
        assert summary["deferred"] == 3
        seen.update(r for r in world.dfns.reads if r in wallets)
        world.clock.advance(300)
    assert seen == wallets


def test_rotating_window_covers_everything() -> None:
    items = list(range(7))
    assert rotating_window(items, 10, 3) == items
    covered = {x for slot in range(4) for x in rotating_window(items, 2, slot)}
    assert covered == set(items)


def test_accounts_still_onboarding_get_only_the_checks_that_apply(world: World) -> None:
    world.dfns.fail("create_policy")
    with pytest.raises(UpstreamUnavailable):
        world.onboarding.onboard("c3")  # no policy, no wallet yet
    world.dfns.fail("create_wallet")
    with pytest.raises(UpstreamUnavailable):
        world.onboarding.onboard("c4")  # the policy, no wallet yet
    assert [account(world, c).status for c in ("c3", "c4")] == ["creating_policy", "creating_wallet"]
    summary = world.reconciler().run()
    assert (summary["walletsChecked"], summary["policiesChecked"], summary["failures"]) == (2, 2, 0)
    assert summary["onboardingStuck"] == 0  # within the onboarding lease: the clients may still retry


def test_clients_with_queued_requests_get_their_next_batch_submitted(world: World) -> None:
    world.dfns.down = True
    for client_id in ("c1", "c2"):
        world.destinations.request_destination(client_id, A2, None)
    world.dfns.down = False
    assert sorted(world.repo.iter_clients_with_queued_requests()) == ["c1", "c2"]
    summary = world.reconciler().run()
    assert summary["queuedClients"] == 2
    assert [statuses(world, c)[A2] for c in ("c1", "c2")] == ["submitted", "submitted"]


def test_a_change_approved_after_the_approval_step_is_applied_not_reported_as_drift(world: World) -> None:
    approval_id = ask(world, "c1", A2)
    # The officer approves (Dfns applies A2) after the reconciler read the approval as pending, and
    # before it reads c1's whitelist; the webhook is still on the way.
    world.dfns.on_call("get_policy", lambda: world.dfns.decide(approval_id, "Approved"))
    summary = world.reconciler().run()
    assert (summary["approvalsPending"], summary["drift"], summary["approvalsApplied"]) == (1, 0, 1)
    assert world.publisher.types().count("SecurityDrift") == 0
    assert statuses(world, "c1")[A2] == "approved"


def test_a_change_the_webhook_applies_between_the_drift_checks_reads_is_not_drift(world: World) -> None:
    # Found by tests/e2e/test_story_under_faults.py: the officer approves A2 just before the reconciler
    # reads c1's live whitelist, and the webhook applies it (mirror updated, claim released) before the
    # reconciler settles the in-flight change, which then finds nothing left to apply.
    approval_id = ask(world, "c1", A2)

    def officer_then_webhook() -> None:
        approval = world.dfns.decide(approval_id, "Approved")
        world.dfns.on_call("get_approval", lambda: world.decisions().apply_approval(approval))

    world.dfns.on_call("get_policy", officer_then_webhook)
    summary = world.reconciler().run()
    assert summary["drift"] == 0
    assert world.publisher.types().count("SecurityDrift") == 0
    assert statuses(world, "c1")[A2] == "approved"


def test_the_next_change_approved_while_the_reconciler_settles_the_first_is_not_drift(world: World) -> None:
    # Found by tests/e2e/test_story_under_faults.py: settling c1's first change (approved, its webhook
    # dropped) submits the request queued behind it, and the officer approves that one before the
    # reconciler's re-read: the live whitelist then holds it, the mirror not yet.
    first = ask(world, "c1", A2)
    world.destinations.request_destination("c1", A3, None)  # queued behind the first change

    def officer_approves_the_change_in_flight() -> None:
        claim = account(world, "c1").claim
        assert claim is not None
        assert claim.approval_id not in (None, first)
        world.dfns.decide(str(claim.approval_id), "Approved")

    def officer_approves_the_first() -> None:
        world.dfns.decide(first, "Approved")
        # The next read is the submission's own (it builds the next change); the one after, the re-read.
        world.dfns.on_call("get_policy", officer_approves_the_change_in_flight, nth=2)

    world.dfns.on_call("get_policy", officer_approves_the_first)
    summary = world.reconciler().run()

    assert summary["drift"] == 0
    assert world.publisher.types().count("SecurityDrift") == 0
    assert statuses(world, "c1") == {A1: "approved", A2: "approved", A3: "approved"}


def test_a_mismatch_with_a_change_still_pending_is_drift(world: World) -> None:
    ask(world, "c1", A2)
    world.dfns.set_whitelist(whitelist_of(world, "c1"), [A1, A2])  # not by the pending change
    summary = world.reconciler().run()
    assert summary["drift"] == 1
    [drift] = [e for e in world.publisher.events if e.type == "SecurityDrift"]
    assert drift.detail["unexpectedAddresses"] == [A2]


# --- the scheduled function -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_the_function_runs_the_reconciler_it_is_given_and_returns_its_summary(world: World) -> None:
    world.dfns.remove_tags(wallet_of(world, "c1"), ["client:c1"])
    event = {"detail-type": "Scheduled Event", "resources": ["arn:aws:scheduler:::schedule/reconcile"]}
    summary = reconciler_function.handler(event, FakeLambdaContext(), reconciler=world.reconciler())
    assert (summary["walletsChecked"], summary["drift"], summary["failures"]) == (2, 1, 0)


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_the_function_stops_starting_items_when_its_invocation_is_about_to_time_out(world: World) -> None:
    almost_out_of_time = FakeLambdaContext(remaining_ms=5_000)
    summary = reconciler_function.handler({}, almost_out_of_time, reconciler=world.reconciler())
    assert summary["walletsChecked"] == 0
    assert summary["deferred"] > 0
