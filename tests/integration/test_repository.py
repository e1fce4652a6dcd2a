"""DynamoAccountsRepository on moto: conditional writes, claims, GSIs and paging."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.domain.destinations import new_request_id
from managed_accounts.domain.models import Account, DestinationRequest, RequestAction
from managed_accounts.errors import AccountNotReady, ConcurrentUpdate, Conflict, NotFound

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def repo(table: Any) -> DynamoAccountsRepository:
    return DynamoAccountsRepository(table)


def _active(repo: DynamoAccountsRepository, client_id: str, wallet_id: str = "wa-1") -> Account:
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
    repo: DynamoAccountsRepository,
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


def test_accounts_are_found_by_wallet_and_listed(repo: DynamoAccountsRepository) -> None:
    _active(repo, "c1", "wa-1")
    _active(repo, "c2", "wa-2")
    found = repo.get_account_by_wallet("wa-2")
    assert found is not None
    assert found.client_id == "c2"
    assert repo.get_account_by_wallet("wa-unknown") is None
    assert sorted(a.client_id for a in repo.iter_accounts()) == ["c1", "c2"]


def test_the_change_slot_is_exclusive_and_only_an_unsubmitted_stale_claim_is_taken_over(
    repo: DynamoAccountsRepository,
) -> None:
    _active(repo, "c1")
    lease = timedelta(minutes=2)
    assert repo.claim_change("c1", "b1", T0, T0 - lease)
    assert not repo.claim_change("c1", "b2", T0, T0 - lease)
    later = T0 + lease + timedelta(seconds=1)
    assert repo.claim_change("c1", "b2", later, later - lease)  # b1 never submitted: taken over
    request = _request("c1", "0x" + "1" * 40, T0)
    repo.create_request(request)
    repo.mark_submitted("c1", "b2", [request], change_request_id="cr-1", approval_id="ap-1", now=later)
    much_later = later + timedelta(days=1)
    assert not repo.claim_change("c1", "b3", much_later, much_later - lease)  # waits for its approval
    repo.release_claim("c1", "b-other")  # not the holder: no effect
    account = repo.get_account("c1")
    assert account is not None
    assert account.claim is not None
    assert (account.claim.batch_id, account.claim.approval_id) == ("b2", "ap-1")


def test_a_claim_needs_an_active_account(repo: DynamoAccountsRepository) -> None:
    repo.create_account(Account("c1", "creating_wallet", "EthereumSepolia", "standard", T0, T0))
    assert not repo.claim_change("c1", "b1", T0, T0)


def test_request_creation_guards_duplicates_and_account_state(repo: DynamoAccountsRepository) -> None:
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


def test_queues_and_approval_lookups_follow_the_request_states(repo: DynamoAccountsRepository) -> None:
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


def test_paging_with_a_filter_never_skips_or_repeats(repo: DynamoAccountsRepository) -> None:
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
    # A cursor only positions within the caller's own partition: another client sees nothing of c1.
    assert first_cursor is not None
    assert repo.list_requests("c2", cursor=first_cursor).items == []
