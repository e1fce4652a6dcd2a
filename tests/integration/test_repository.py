"""The ``AccountsRepository`` contract: conditional writes, claims, queues, lookups and paging.

Every test runs on ``AccountsRepository`` (moto) and on the in-memory repository the unit tests
use, so the fast fake cannot drift from the adapter it stands in for.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from managed_accounts.domain.destinations import new_request_id
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.models import Account, DestinationRequest, RequestAction
from managed_accounts.domain.ports import AccountsRepository
from managed_accounts.errors import AccountNotReady, ConcurrentUpdate, Conflict, InvalidInput, NotFound

from tests.fakes.world import World

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def repo(either_world: World) -> AccountsRepository:
    return either_world.repo


def _active(repo: AccountsRepository, client_id: str, wallet_id: str = "wa-1") -> Account:
    account = Account(client_id, "creating_wallet", "EthereumSepolia", "standard", T0, T0)
    assert repo.create_account(account)
    return repo.update_onboarding(
        replace(account, status="active", wallet_id=wallet_id, whitelist_policy_id="plc-1")
    )


def _request(client_id: str, address: str, at: datetime, action: RequestAction = "add") -> DestinationRequest:
    return DestinationRequest(
        new_request_id(at), client_id, action, address, "EthereumSepolia", "queued", at, at
    )


def test_accounts_are_created_once_and_updated_only_from_the_version_read(
    repo: AccountsRepository,
) -> None:
    account = Account("c1", "creating_wallet", "EthereumSepolia", "standard", T0, T0)
    assert repo.create_account(account) is True
    assert repo.create_account(account) is False
    updated = repo.update_onboarding(replace(account, wallet_create_started=True))
    assert updated.version == 2
    with pytest.raises(ConcurrentUpdate):
        repo.update_onboarding(replace(account, status="active"))  # stale version 1
    stored = repo.get_account("c1")
    assert stored is not None
    assert stored.status == "creating_wallet"
    assert stored.wallet_create_started


def test_onboarding_stores_the_wallet_it_opened_with_its_network(repo: AccountsRepository) -> None:
    account = Account("c1", "creating_wallet", "EthereumSepolia", "standard", T0, T0)
    repo.create_account(account)
    returned = repo.update_onboarding(
        replace(account, status="active", wallet_id="wa-9", address="0xabc", network="Base")
    )
    stored = repo.get_account("c1")
    assert stored is not None
    assert (stored.wallet_id, stored.address, stored.network) == ("wa-9", "0xabc", "Base")
    assert replace(stored, updated_at=returned.updated_at) == returned


def test_accounts_are_found_by_wallet_and_listed(repo: AccountsRepository) -> None:
    _active(repo, "c1", "wa-1")
    _active(repo, "c2", "wa-2")
    found = repo.get_account_by_wallet("wa-2")
    assert found is not None
    assert found.client_id == "c2"
    assert repo.get_account_by_wallet("wa-unknown") is None
    assert sorted(a.client_id for a in repo.iter_accounts()) == ["c1", "c2"]


def test_the_change_slot_is_exclusive_and_only_an_unsubmitted_stale_claim_is_taken_over(
    repo: AccountsRepository,
) -> None:
    _active(repo, "c1")
    lease = timedelta(minutes=2)
    assert repo.claim_change("c1", "b1", T0, T0 - lease)
    # Found by tests/e2e/test_story_under_faults.py (DynamoDB applying a write but answering 500): the
    # SDK's retry of b1's claim must find the slot b1's, not refuse it and strand the batch for the lease.
    assert repo.claim_change("c1", "b1", T0, T0 - lease)
    assert not repo.claim_change("c1", "b2", T0, T0 - lease)
    later = T0 + lease + timedelta(seconds=1)
    assert repo.claim_change("c1", "b2", later, later - lease)  # b1 never submitted: taken over
    request = _request("c1", "0x" + "1" * 40, T0)
    repo.create_request(request)
    repo.mark_submitted("c1", "b2", [request], change_request_id="cr-1", approval_id="ap-1", now=later)
    # The same, retried by the SDK after DynamoDB applied it but answered 500: recorded, not a conflict.
    repo.mark_submitted("c1", "b2", [request], change_request_id="cr-1", approval_id="ap-1", now=later)
    # A failure after the submission must not free the slot: the next change would go out beside it.
    repo.release_claim("c1", "b2")
    much_later = later + timedelta(days=1)
    assert not repo.claim_change("c1", "b3", much_later, much_later - lease)  # waits for its approval
    repo.release_claim("c1", "b-other")  # not the holder: no effect
    account = repo.get_account("c1")
    assert account is not None
    assert account.claim is not None
    assert (account.claim.batch_id, account.claim.approval_id) == ("b2", "ap-1")


def test_a_claim_needs_an_active_account(repo: AccountsRepository) -> None:
    repo.create_account(Account("c1", "creating_wallet", "EthereumSepolia", "standard", T0, T0))
    assert not repo.claim_change("c1", "b1", T0, T0)


def test_request_creation_guards_duplicates_and_account_state(repo: AccountsRepository) -> None:
    repo.create_account(Account("c0", "creating_wallet", "EthereumSepolia", "standard", T0, T0))
    with pytest.raises(AccountNotReady):
        repo.create_request(_request("c0", "0x" + "1" * 40, T0))
    _active(repo, "c1")
    address = "0x" + "1" * 40
    repo.create_request(_request("c1", address, T0))
    with pytest.raises(Conflict, match="pending"):
        repo.create_request(_request("c1", address, T0))
    with pytest.raises(NotFound):
        repo.create_request(_request("c1", "0x" + "2" * 40, T0, action="remove"))
    assert len(repo.list_requests("c1").items) == 1


def test_queues_and_approval_lookups_follow_the_request_states(repo: AccountsRepository) -> None:
    _active(repo, "c1")
    _active(repo, "c2", "wa-2")
    r1, r2 = _request("c1", "0x" + "1" * 40, T0), _request("c2", "0x" + "2" * 40, T0)
    repo.create_request(r1)
    repo.create_request(r2)
    assert sorted(repo.iter_clients_with_queued_requests()) == ["c1", "c2"]
    assert repo.claim_change("c1", "b1", T0, T0)
    repo.mark_submitted("c1", "b1", [r1], change_request_id="cr-1", approval_id="ap-1", now=T0)
    assert list(repo.iter_clients_with_queued_requests()) == ["c2"]
    assert list(repo.iter_submitted_approval_ids()) == [("c1", "ap-1")]
    [submitted] = repo.find_requests_by_approval("ap-1")
    assert submitted.request_id == r1.request_id
    assert submitted.status == "submitted"
    repo.resolve_requests("c1", [submitted], outcome="approved", now=T0, release_batch_id="b1")
    assert list(repo.iter_submitted_approval_ids()) == []
    assert [d.address for d in repo.list_destinations("c1")] == [r1.address]
    with pytest.raises(ConcurrentUpdate):  # resolving twice is refused, not repeated
        repo.resolve_requests("c1", [submitted], outcome="rejected", now=T0)
    account = repo.get_account("c1")
    assert account is not None
    assert account.claim is None


def test_paging_with_a_filter_never_skips_or_repeats(repo: AccountsRepository) -> None:
    _active(repo, "c1")
    made = []
    for i in range(12):
        request = _request("c1", f"0x{i:040x}", T0 + timedelta(seconds=i))
        repo.create_request(request)
        made.append(request)
    repo.claim_change("c1", "b1", T0, T0)
    every_third = made[::3]
    repo.mark_submitted("c1", "b1", every_third, change_request_id="cr", approval_id="ap", now=T0)

    seen: list[str] = []
    cursor = None
    first_cursor = repo.list_requests("c1", limit=2).next_cursor
    while True:
        page = repo.list_requests("c1", status="submitted", limit=2, cursor=cursor)
        seen.extend(r.request_id for r in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [r.request_id for r in reversed(every_third)]
    # A cursor is bound to its owner: another client's use of it is refused.
    assert first_cursor is not None
    with pytest.raises(InvalidInput):
        repo.list_requests("c2", cursor=first_cursor)


def test_what_is_stored_is_read_back_unchanged(repo: AccountsRepository) -> None:
    account = _active(repo, "c1")
    assert repo.get_account("c1") == account
    request = replace(_request("c1", "0x" + "1" * 40, T0), label="cold storage")
    repo.create_request(request)
    assert repo.get_request("c1", request.request_id) == request
    assert repo.get_request("c2", request.request_id) is None
    assert repo.get_requests("c1", ["dr-unknown", request.request_id]) == [request]


def test_onboarding_writes_keep_the_change_slot(repo: AccountsRepository) -> None:
    _active(repo, "c1")
    assert repo.claim_change("c1", "b1", T0, T0)
    claimed = repo.get_account("c1")
    assert claimed is not None
    assert claimed.claim is not None
    repo.update_onboarding(replace(claimed, claim=None, address="0x" + "9" * 40))
    stored = repo.get_account("c1")
    assert stored is not None
    assert stored.address == "0x" + "9" * 40
    assert stored.claim == claimed.claim
    assert stored.version == claimed.version + 1


def test_pending_guards_follow_a_request_until_it_resolves(repo: AccountsRepository) -> None:
    _active(repo, "c1")
    first, second = _request("c1", "0x" + "1" * 40, T0), _request("c1", "0x" + "2" * 40, T0 + timedelta(1))
    repo.create_request(second)
    repo.create_request(first)
    assert [(p.request_id, p.state) for p in repo.list_pending("c1")] == [
        (first.request_id, "queued"),
        (second.request_id, "queued"),
    ]
    assert repo.claim_change("c1", "b1", T0, T0)
    repo.mark_submitted("c1", "b1", [first], change_request_id="cr-1", approval_id="ap-1", now=T0)
    assert [p.state for p in repo.list_pending("c1")] == ["submitted", "queued"]
    [submitted] = repo.get_requests("c1", [first.request_id])
    repo.resolve_requests("c1", [submitted], outcome="rejected", now=T0, reason="denied")
    assert [p.request_id for p in repo.list_pending("c1")] == [second.request_id]
    resolved = repo.get_request("c1", first.request_id)
    assert resolved is not None
    assert (resolved.status, resolved.reason, resolved.resolved_at) == ("rejected", "denied", T0)
    assert repo.list_destinations("c1") == []


def test_a_transition_from_a_state_the_request_is_no_longer_in_changes_nothing(
    repo: AccountsRepository,
) -> None:
    _active(repo, "c1")
    request = _request("c1", "0x" + "1" * 40, T0)
    repo.create_request(request)
    with pytest.raises(ConcurrentUpdate):  # the slot is not held by this batch
        repo.mark_submitted("c1", "b1", [request], change_request_id="cr-1", approval_id="ap-1", now=T0)
    assert repo.claim_change("c1", "b1", T0, T0)
    repo.mark_submitted("c1", "b1", [request], change_request_id="cr-1", approval_id="ap-1", now=T0)
    with pytest.raises(ConcurrentUpdate):  # no longer queued
        repo.mark_submitted("c1", "b1", [request], change_request_id="cr-2", approval_id="ap-2", now=T0)
    [submitted] = repo.find_requests_by_approval("ap-1")
    other_approval = replace(submitted, approval_id="ap-other")
    with pytest.raises(ConcurrentUpdate):
        repo.resolve_requests("c1", [other_approval], outcome="approved", now=T0)
    with pytest.raises(ConcurrentUpdate):  # another batch's claim: nothing of the transition is written
        repo.resolve_requests("c1", [submitted], outcome="approved", now=T0, release_batch_id="b-other")
    assert repo.get_request("c1", request.request_id) == submitted
    assert repo.list_destinations("c1") == []
    account = repo.get_account("c1")
    assert account is not None
    assert account.claim is not None
    assert account.claim.approval_id == "ap-1"


def test_an_approved_removal_takes_the_address_out_of_the_mirror(repo: AccountsRepository) -> None:
    _active(repo, "c1")
    address = "0x" + "1" * 40
    add = _request("c1", address, T0)
    repo.create_request(add)
    repo.resolve_requests("c1", [add], outcome="approved", now=T0)
    destination = repo.get_destination("c1", address)
    assert destination is not None
    assert (destination.request_id, destination.approved_at) == (add.request_id, T0)
    with pytest.raises(Conflict, match="already an approved destination"):
        repo.create_request(_request("c1", address, T0))
    removal = _request("c1", address, T0 + timedelta(1), action="remove")
    repo.create_request(removal)
    repo.resolve_requests("c1", [removal], outcome="approved", now=T0)
    assert repo.get_destination("c1", address) is None
    assert repo.list_destinations("c1") == []


def test_queued_clients_are_listed_oldest_request_first_each_once(repo: AccountsRepository) -> None:
    for client_id in ("c1", "c2"):
        _active(repo, client_id, f"wa-{client_id}")
    repo.create_request(_request("c2", "0x" + "1" * 40, T0))
    repo.create_request(_request("c1", "0x" + "2" * 40, T0 + timedelta(seconds=1)))
    repo.create_request(_request("c2", "0x" + "3" * 40, T0 + timedelta(seconds=2)))
    assert list(repo.iter_clients_with_queued_requests()) == ["c2", "c1"]


def test_events_are_committed_with_their_change_or_not_at_all(repo: AccountsRepository) -> None:
    _active(repo, "c1")
    address = "0x" + "1" * 40
    committed = DomainEvent("DestinationRequested", "c1", {"address": address}, occurred_at=T0)
    repo.create_request(_request("c1", address, T0), events=[committed])
    refused = DomainEvent("DestinationRequested", "c1", {"address": address}, occurred_at=T0)
    with pytest.raises(Conflict):
        repo.create_request(_request("c1", address, T0), events=[refused])
    later = T0 + timedelta(seconds=1)
    assert [e.event_id for e in repo.list_outbox(older_than=later)] == [committed.event_id]
    assert repo.list_outbox(older_than=T0) == []  # not older than its own moment
    [listed] = repo.list_outbox(older_than=later)
    assert (listed.type, listed.client_id, listed.detail, listed.occurred_at) == (
        "DestinationRequested",
        "c1",
        {"address": address},
        T0,
    )
    repo.delete_outbox([listed])
    assert repo.list_outbox(older_than=later) == []
