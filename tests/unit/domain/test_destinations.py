"""Destination requests: queued -> submitted -> approved | rejected | failed, nothing lost or duplicated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from managed_accounts.dfns.errors import DfnsBadRequest
from managed_accounts.domain.destinations import CLAIM_LEASE
from managed_accounts.domain.whitelist import with_addresses
from managed_accounts.errors import AccountNotReady, Conflict, InvalidInput, NotFound, UpstreamUnavailable

from tests.fakes.world import World, build_world

CLIENT = "alice"
A1 = "0x" + "a1" * 20
A2 = "0x" + "b2" * 20
A3 = "0x" + "c3" * 20
CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def _live(world: World, client_id: str = CLIENT) -> list[str]:
    account = world.repo.get_account(client_id)
    assert account is not None
    return world.dfns.whitelist(str(account.whitelist_policy_id))


def _statuses(world: World, client_id: str = CLIENT) -> dict[str, str]:
    return {r.address: r.status for r in world.repo.list_requests(client_id, limit=100).items}


@pytest.fixture
def onboarded(world: World) -> World:
    world.active_account(CLIENT)
    world.publisher.events.clear()
    return world


def test_a_request_is_submitted_as_one_change_and_approval_whitelists_it(onboarded: World) -> None:
    world = onboarded
    request = world.destinations.request_destination(CLIENT, CHECKSUMMED, "cold storage")

    assert request.status == "submitted"
    assert request.address == CHECKSUMMED.lower()
    assert request.approval_id in world.dfns.approvals
    assert request.change_request_id
    assert _live(world) == []  # nothing changes in Dfns before compliance approves
    assert world.dfns.calls["get_policy"] == 1
    assert world.dfns.calls["update_policy"] == 1

    approval = world.dfns.decide(str(request.approval_id), "Approved")
    assert world.destinations.apply_approval(approval) is True

    assert _live(world) == [CHECKSUMMED.lower()]
    [destination] = world.destinations.list_destinations(CLIENT)
    assert (destination.address, destination.label, destination.approval_id) == (
        CHECKSUMMED.lower(),
        "cold storage",
        approval.id,
    )
    stored = world.destinations.get_request(CLIENT, request.request_id)
    assert stored.status == "approved"
    assert stored.ungoverned is False
    assert world.publisher.types() == ["DestinationRequested", "DestinationSubmitted", "DestinationApproved"]
    account = world.repo.get_account(CLIENT)
    assert account is not None
    assert account.claim is None


def test_a_denied_change_rejects_the_request_and_the_address_can_be_asked_again(onboarded: World) -> None:
    world = onboarded
    request = world.destinations.request_destination(CLIENT, A1, None)
    denied = world.dfns.decide(str(request.approval_id), "Denied")

    assert world.destinations.apply_approval(denied) is True

    assert world.destinations.get_request(CLIENT, request.request_id).status == "rejected"
    assert world.destinations.list_destinations(CLIENT) == []
    assert _live(world) == []
    assert world.publisher.types()[-1] == "DestinationRejected"
    again = world.destinations.request_destination(CLIENT, A1, None)
    assert again.status == "submitted"


def test_apply_approval_is_forward_only_and_idempotent(onboarded: World) -> None:
    world = onboarded
    request = world.destinations.request_destination(CLIENT, A1, None)
    pending = world.dfns.get_approval(str(request.approval_id))
    assert world.destinations.apply_approval(pending) is False  # Pending: nothing to do

    approved = world.dfns.decide(pending.id, "Approved")
    assert world.destinations.apply_approval(approved) is True
    assert world.destinations.apply_approval(approved) is False  # a replay changes nothing
    assert world.destinations.apply_approval(pending) is False  # a late older status changes nothing
    denied_late = approved.model_copy(update={"status": "Denied"})
    assert world.destinations.apply_approval(denied_late) is False
    assert world.destinations.get_request(CLIENT, request.request_id).status == "approved"
    assert world.publisher.types().count("DestinationApproved") == 1
    unknown = approved.model_copy(update={"id": "ap-unknown"})
    assert world.destinations.apply_approval(unknown) is False


def test_a_repeat_while_pending_is_the_same_request_and_other_duplicates_are_409(onboarded: World) -> None:
    world = onboarded
    request = world.destinations.request_destination(CLIENT, A1, None)
    repeat = world.destinations.request_destination(CLIENT, A1.upper().replace("0X", "0x"), None)
    assert repeat.request_id == request.request_id
    with pytest.raises(Conflict, match="pending"):
        world.destinations.request_destination(CLIENT, A1, "another label")
    with pytest.raises(NotFound):
        world.destinations.request_removal(CLIENT, A2)
    world.destinations.apply_approval(world.dfns.decide(str(request.approval_id), "Approved"))
    with pytest.raises(Conflict, match="already an approved destination"):
        world.destinations.request_destination(CLIENT, A1, None)
    assert len(world.repo.list_requests(CLIENT).items) == 1


def test_labels_with_control_or_invisible_characters_are_refused(onboarded: World) -> None:
    for label in ("bank\u202egpj.exe", "zero\u200bwidth", "bell\x07"):
        with pytest.raises(InvalidInput, match="control or invisible"):
            onboarded.destinations.request_destination(CLIENT, A1, label)
    assert onboarded.repo.list_requests(CLIENT).items == []


def test_removal_goes_through_approval_and_leaves_the_other_addresses(onboarded: World) -> None:
    world = onboarded
    for address in (A1, A2):
        world.destinations.request_destination(CLIENT, address, None)
        world.approve_all()
    assert _live(world) == [A1, A2]

    removal = world.destinations.request_removal(CLIENT, A1.upper().replace("0X", "0x"))
    assert removal.action == "remove"
    assert removal.status == "submitted"
    assert _live(world) == [A1, A2]
    world.approve_all()

    assert _live(world) == [A2]
    assert [d.address for d in world.destinations.list_destinations(CLIENT)] == [A2]


def test_requests_made_while_a_change_is_in_flight_go_out_together_in_the_next_change(
    onboarded: World,
) -> None:
    world = onboarded
    world.destinations.request_destination(CLIENT, A1, None)
    queued = [world.destinations.request_destination(CLIENT, a, None) for a in (A2, A3)]
    assert [r.status for r in queued] == ["queued", "queued"]
    assert world.dfns.calls["update_policy"] == 1  # one change request per policy at a time

    world.approve_all()  # resolving the first submits the next batch
    assert world.dfns.calls["update_policy"] == 2
    assert set(_statuses(world).values()) == {"approved", "submitted"}
    world.approve_all()

    assert sorted(_live(world)) == [A1, A2, A3]
    assert set(_statuses(world).values()) == {"approved"}


def test_without_governance_a_change_applies_at_once_and_is_flagged_ungoverned() -> None:
    world = build_world(governed=False)
    world.active_account(CLIENT)
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "approved"
    assert request.ungoverned is True
    assert _live(world) == [A1]
    assert [d.address for d in world.destinations.list_destinations(CLIENT)] == [A1]


def test_dfns_down_leaves_the_request_queued_and_a_later_submit_sends_it(onboarded: World) -> None:
    world = onboarded
    world.dfns.fail("get_policy")
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "queued"
    account = world.repo.get_account(CLIENT)
    assert account is not None
    assert account.claim is None
    assert list(world.repo.iter_clients_with_queued_requests()) == [CLIENT]

    world.destinations.submit_next_batch(CLIENT)

    assert world.destinations.get_request(CLIENT, request.request_id).status == "submitted"
    assert list(world.repo.iter_clients_with_queued_requests()) == []
    assert list(world.repo.iter_submitted_approval_ids()) == [
        (CLIENT, str(world.dfns.pending_approval_ids()[0]))
    ]


def test_submit_next_batch_raises_a_domain_error_when_dfns_is_down_and_keeps_the_queue(
    onboarded: World,
) -> None:
    world = onboarded
    world.dfns.fail("get_policy")
    request = world.destinations.request_destination(CLIENT, A1, None)
    world.dfns.fail("get_policy")
    with pytest.raises(UpstreamUnavailable):
        world.destinations.submit_next_batch(CLIENT)
    assert world.destinations.get_request(CLIENT, request.request_id).status == "queued"
    account = world.repo.get_account(CLIENT)
    assert account is not None
    assert account.claim is None


def test_change_request_created_but_answer_lost_is_adopted_not_duplicated(onboarded: World) -> None:
    world = onboarded
    world.dfns.fail("update_policy", after_effect=True)
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "queued"
    assert len(world.dfns.pending_approval_ids()) == 1

    world.destinations.submit_next_batch(CLIENT)

    stored = world.destinations.get_request(CLIENT, request.request_id)
    assert stored.status == "submitted"
    assert stored.approval_id == world.dfns.pending_approval_ids()[0]
    assert world.dfns.calls["update_policy"] == 1  # no second change request
    world.approve_all()
    assert _live(world) == [A1]
    assert world.destinations.get_request(CLIENT, request.request_id).status == "approved"


def test_a_dynamodb_write_failing_after_the_put_is_recovered(
    onboarded: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = onboarded

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("DynamoDB unavailable")

    real = world.repo.mark_submitted
    monkeypatch.setattr(world.repo, "mark_submitted", broken)
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "queued"
    monkeypatch.setattr(world.repo, "mark_submitted", real)

    world.destinations.submit_next_batch(CLIENT)

    assert world.dfns.calls["update_policy"] == 1
    world.approve_all()
    assert _live(world) == [A1]
    assert world.destinations.get_request(CLIENT, request.request_id).status == "approved"


def test_a_crash_between_claim_and_submit_is_taken_over_after_the_lease(onboarded: World) -> None:
    world = onboarded
    # A worker claimed the slot and died before calling Dfns.
    assert world.repo.claim_change(CLIENT, "batch-dead", world.clock.now(), world.clock.now() - CLAIM_LEASE)
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "queued"
    world.destinations.submit_next_batch(CLIENT)
    assert world.destinations.get_request(CLIENT, request.request_id).status == "queued"

    world.clock.advance((CLAIM_LEASE + timedelta(seconds=1)).total_seconds())
    world.destinations.submit_next_batch(CLIENT)

    assert world.destinations.get_request(CLIENT, request.request_id).status == "submitted"
    world.approve_all()
    assert _live(world) == [A1]


def test_a_claim_written_with_its_answer_lost_is_freed_at_once_not_left_to_the_lease(
    onboarded: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by tests/e2e/test_story_under_faults.py: DynamoDB applied the claim, then the SDK's retries all
    # failed; the claim, held by a batch nobody works on, blocked the client's requests for the lease.
    world = onboarded
    claim = world.repo.claim_change

    def applied_then_failed(*args: object) -> bool:
        claim(*args)  # type: ignore[arg-type]
        raise RuntimeError("InternalServerError (reached max retries)")

    monkeypatch.setattr(world.repo, "claim_change", applied_then_failed)
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "queued"  # stored; the submission failed quietly
    account = world.repo.get_account(CLIENT)
    assert account is not None
    assert account.claim is None  # freed, not left to the lease

    monkeypatch.setattr(world.repo, "claim_change", claim)
    world.destinations.submit_next_batch(CLIENT)  # the reconciler's next pass, seconds later
    assert world.destinations.get_request(CLIENT, request.request_id).status == "submitted"


def test_a_change_dfns_refuses_fails_the_batch_and_frees_the_address(onboarded: World) -> None:
    world = onboarded
    world.dfns.fail("update_policy", error=DfnsBadRequest("invalid", status=400))
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "failed"
    assert request.reason
    assert "refused" in request.reason
    assert world.publisher.types()[-1] == "DestinationFailed"
    assert world.destinations.request_destination(CLIENT, A1, None).status == "submitted"


def test_an_address_already_in_the_live_whitelist_is_approved_without_a_change(onboarded: World) -> None:
    world = onboarded
    account = world.repo.get_account(CLIENT)
    assert account is not None
    policy_id = str(account.whitelist_policy_id)
    policy = world.dfns.policies[policy_id]
    world.dfns.policies[policy_id] = policy.model_validate(
        {
            **policy.model_dump(by_alias=True),
            "rule": {"kind": "TransactionRecipientWhitelist", "configuration": {"addresses": [A1]}},
        }
    )
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "approved"
    assert world.dfns.calls["update_policy"] == 0


def test_invalid_addresses_are_refused_and_nothing_is_stored(onboarded: World) -> None:
    world = onboarded
    for bad in ("0x123", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "not an address", ""):
        with pytest.raises(InvalidInput):
            world.destinations.request_destination(CLIENT, bad, None)
    assert world.repo.list_requests(CLIENT).items == []
    assert world.dfns.calls["update_policy"] == 0


def test_requests_need_an_active_account(world: World) -> None:
    with pytest.raises(NotFound):
        world.destinations.request_destination("nobody", A1, None)
    world.dfns.fail("create_policy")
    with pytest.raises(UpstreamUnavailable):
        world.onboarding.onboard(CLIENT)
    with pytest.raises(AccountNotReady):
        world.destinations.request_destination(CLIENT, A1, None)


def test_listing_is_newest_first_with_a_status_filter_and_cursor_paging(onboarded: World) -> None:
    world = onboarded
    made = []
    for address in (A1, A2, A3):
        made.append(world.destinations.request_destination(CLIENT, address, None))
        world.clock.advance(1)
    world.approve_all()  # A1 approved, A2+A3 submitted together

    first = world.destinations.list_requests(CLIENT, limit=2)
    assert [r.address for r in first.items] == [A3, A2]
    assert first.next_cursor
    second = world.destinations.list_requests(CLIENT, limit=2, cursor=first.next_cursor)
    assert [r.address for r in second.items] == [A1]
    assert second.next_cursor is None
    approved = world.destinations.list_requests(CLIENT, status="approved")
    assert [r.address for r in approved.items] == [A1]
    with pytest.raises(InvalidInput):
        world.destinations.list_requests(CLIENT, status="bogus")
    with pytest.raises(InvalidInput):
        world.destinations.list_requests(CLIENT, cursor="!!not-a-cursor")


def test_another_client_cannot_read_or_remove_alices_data(onboarded: World) -> None:
    world = onboarded
    world.active_account("bob")
    request = world.destinations.request_destination(CLIENT, A1, None)
    world.approve_all()
    with pytest.raises(NotFound):
        world.destinations.get_request("bob", request.request_id)
    with pytest.raises(NotFound):
        world.destinations.request_removal("bob", A1)
    assert world.destinations.list_destinations("bob") == []
    assert world.destinations.list_requests("bob").items == []


def test_an_approval_whose_change_dfns_failed_to_apply_fails_the_batch(onboarded: World) -> None:
    world = onboarded
    request = world.destinations.request_destination(CLIENT, A1, None)
    approval = world.dfns.get_approval(str(request.approval_id))
    assert approval.activity is not None
    assert approval.activity.change_request is not None
    failed_change = approval.activity.change_request.model_copy(update={"status": "Failed"})
    applied_badly = approval.model_copy(
        update={
            "status": "Approved",
            "activity": approval.activity.model_copy(update={"change_request": failed_change}),
        }
    )

    assert world.destinations.apply_approval(applied_badly) is True

    stored = world.destinations.get_request(CLIENT, request.request_id)
    assert stored.status == "failed"
    assert world.destinations.list_destinations(CLIENT) == []
    assert world.publisher.types()[-1] == "DestinationFailed"


def test_a_lost_answer_whose_change_was_approved_meanwhile_is_recognised_as_enforced(
    onboarded: World,
) -> None:
    world = onboarded
    world.dfns.fail("update_policy", after_effect=True)
    request = world.destinations.request_destination(CLIENT, A1, None)
    [approval_id] = world.dfns.pending_approval_ids()
    approved = world.dfns.decide(approval_id, "Approved")  # compliance was quick
    assert world.destinations.apply_approval(approved) is False  # the webhook: not recorded yet

    world.destinations.submit_next_batch(CLIENT)  # next request, or the reconciler

    stored = world.destinations.get_request(CLIENT, request.request_id)
    assert stored.status == "approved"
    assert stored.reason == "already enforced by the live whitelist"
    assert [d.address for d in world.destinations.list_destinations(CLIENT)] == [A1]
    assert world.dfns.calls["update_policy"] == 1


def test_a_change_pending_in_dfns_that_is_not_ours_makes_the_queue_wait(onboarded: World) -> None:
    world = onboarded
    account = world.repo.get_account(CLIENT)
    assert account is not None
    policy_id = str(account.whitelist_policy_id)
    world.dfns.update_policy(
        policy_id, with_addresses(world.dfns.policies[policy_id], [A3])
    )  # via the dashboard
    request = world.destinations.request_destination(CLIENT, A1, None)
    assert request.status == "queued"
    account = world.repo.get_account(CLIENT)
    assert account is not None
    assert account.claim is None

    [foreign] = world.dfns.pending_approval_ids()
    world.dfns.decide(foreign, "Denied")
    world.destinations.submit_next_batch(CLIENT)

    assert world.destinations.get_request(CLIENT, request.request_id).status == "submitted"
    world.approve_all()
    assert _live(world) == [A1]
