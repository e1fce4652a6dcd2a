"""The in-memory storage ports for fast unit tests: ``MemoryAccountsRepository`` with the DynamoDB
adapter's semantics (conditional writes, all-or-nothing transitions, the same domain errors in the same
precedence) and ``MemoryFactStore``. tests/integration/test_repository.py and test_webhooks_dedupe.py
run the same contract tests on these and on the DynamoDB adapters (moto).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal

from managed_accounts.data.items import REQUEST_PREFIX
from managed_accounts.data.paging import decode_cursor, encode_cursor
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.models import (
    Account,
    ApprovedDestination,
    Claim,
    DestinationRequest,
    PendingEntry,
    RequestPage,
)
from managed_accounts.errors import AccountNotReady, AlreadyPending, ConcurrentUpdate, Conflict, NotFound

Outcome = Literal["approved", "rejected", "failed"]


class MemoryAccountsRepository:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.requests: dict[tuple[str, str], DestinationRequest] = {}
        self.pending: dict[tuple[str, str], PendingEntry] = {}
        self.destinations: dict[tuple[str, str], ApprovedDestination] = {}
        self.outbox: dict[str, DomainEvent] = {}
        self._lock = threading.RLock()

    # --- accounts -----------------------------------------------------------------------------------

    def get_account(self, client_id: str) -> Account | None:
        return self.accounts.get(client_id)

    def create_account(self, account: Account) -> bool:
        with self._lock:
            if account.client_id in self.accounts:
                return False
            self.accounts[account.client_id] = account
            return True

    def update_onboarding(self, account: Account, *, events: Sequence[DomainEvent] = ()) -> Account:
        with self._lock:
            stored = self.accounts.get(account.client_id)
            if stored is None or stored.version != account.version:
                raise ConcurrentUpdate("the account changed meanwhile")
            updated = replace(account, version=account.version + 1, claim=stored.claim)
            self.accounts[account.client_id] = updated
            self._commit(events)
            return updated

    def get_account_by_wallet(self, wallet_id: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.wallet_id == wallet_id), None)

    def iter_accounts(self) -> Iterator[Account]:
        return iter(list(self.accounts.values()))

    # --- claim --------------------------------------------------------------------------------------

    def claim_change(self, client_id: str, batch_id: str, now: datetime, stale_before: datetime) -> bool:
        with self._lock:
            account = self.accounts.get(client_id)
            if account is None or account.status != "active":
                return False
            claim = account.claim
            if claim is not None and claim.batch_id == batch_id:
                return True  # already ours (a retried write), as on DynamoDB
            if claim is not None and (claim.approval_id is not None or claim.claimed_at >= stale_before):
                return False
            self._set_claim(account, Claim(batch_id=batch_id, claimed_at=now))
            return True

    def release_claim(self, client_id: str, batch_id: str) -> None:
        with self._lock:
            account = self.accounts.get(client_id)
            claim = account.claim if account is not None else None
            if (
                account is not None
                and claim is not None
                and claim.batch_id == batch_id
                and not claim.approval_id
            ):
                self._set_claim(account, None)

    def _set_claim(self, account: Account, claim: Claim | None) -> None:
        self.accounts[account.client_id] = replace(account, claim=claim, version=account.version + 1)

    # --- requests -----------------------------------------------------------------------------------

    def create_request(self, request: DestinationRequest, *, events: Sequence[DomainEvent] = ()) -> None:
        with self._lock:
            key = (request.client_id, request.address)
            account = self.accounts.get(request.client_id)
            if account is None or account.status != "active":
                raise AccountNotReady("the account is not active yet")
            if key in self.pending:
                raise AlreadyPending(f"{request.address} already has a pending request")
            if request.action == "add" and key in self.destinations:
                raise Conflict(f"{request.address} is already an approved destination")
            if request.action == "remove" and key not in self.destinations:
                raise NotFound(f"{request.address} is not an approved destination")
            if (request.client_id, request.request_id) in self.requests:
                raise ConcurrentUpdate("the request could not be stored; retry")
            self.requests[(request.client_id, request.request_id)] = request
            self.pending[key] = PendingEntry(
                request.address, request.request_id, request.action, "queued", request.created_at
            )
            self._commit(events)

    def get_request(self, client_id: str, request_id: str) -> DestinationRequest | None:
        return self.requests.get((client_id, request_id))

    def get_requests(self, client_id: str, request_ids: Sequence[str]) -> list[DestinationRequest]:
        found = [self.requests.get((client_id, request_id)) for request_id in request_ids]
        return [r for r in found if r is not None]

    def list_requests(
        self, client_id: str, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> RequestPage:
        after = decode_cursor(client_id, cursor)[len(REQUEST_PREFIX) :] if cursor else None
        mine = sorted(
            (r for (c, _), r in self.requests.items() if c == client_id),
            key=lambda r: r.request_id,
            reverse=True,
        )
        if after is not None:
            mine = [r for r in mine if r.request_id < after]
        matches = [r for r in mine if status is None or r.status == status]
        if len(matches) > limit:
            return RequestPage(
                matches[:limit], encode_cursor(client_id, REQUEST_PREFIX + matches[limit - 1].request_id)
            )
        return RequestPage(matches, None)

    def list_pending(self, client_id: str) -> list[PendingEntry]:
        entries = [p for (c, _), p in self.pending.items() if c == client_id]
        return sorted(entries, key=lambda e: (e.created_at, e.request_id))

    def find_requests_by_approval(self, approval_id: str) -> list[DestinationRequest]:
        return [r for r in self.requests.values() if r.approval_id == approval_id]

    def mark_submitted(
        self,
        client_id: str,
        batch_id: str,
        requests: Sequence[DestinationRequest],
        *,
        change_request_id: str,
        approval_id: str,
        now: datetime,
        events: Sequence[DomainEvent] = (),
    ) -> None:
        with self._lock:
            account = self.accounts.get(client_id)
            if account is None or account.claim is None or account.claim.batch_id != batch_id:
                raise ConcurrentUpdate("the destination requests changed meanwhile")
            if account.claim.approval_id == approval_id:
                return  # already recorded (a retried write), as on DynamoDB
            for request in requests:
                stored = self.requests.get((client_id, request.request_id))
                guard = self.pending.get((client_id, request.address))
                if stored is None or stored.status != "queued" or guard is None:
                    raise ConcurrentUpdate("the destination requests changed meanwhile")
                if guard.request_id != request.request_id:
                    raise ConcurrentUpdate("the destination requests changed meanwhile")
            for request in requests:
                stored = self.requests[(client_id, request.request_id)]
                self.requests[(client_id, request.request_id)] = replace(
                    stored,
                    status="submitted",
                    change_request_id=change_request_id,
                    approval_id=approval_id,
                    submitted_at=now,
                    updated_at=now,
                )
                guard = self.pending[(client_id, request.address)]
                self.pending[(client_id, request.address)] = replace(guard, state="submitted")
            claim = replace(account.claim, approval_id=approval_id, change_request_id=change_request_id)
            self._set_claim(account, claim)
            self._commit(events)

    def resolve_requests(
        self,
        client_id: str,
        requests: Sequence[DestinationRequest],
        *,
        outcome: Outcome,
        now: datetime,
        reason: str | None = None,
        ungoverned: bool = False,
        release_batch_id: str | None = None,
        events: Sequence[DomainEvent] = (),
    ) -> None:
        with self._lock:
            for request in requests:
                stored = self.requests.get((client_id, request.request_id))
                guard = self.pending.get((client_id, request.address))
                if stored is None or stored.status != request.status or guard is None:
                    raise ConcurrentUpdate("the destination requests changed meanwhile")
                if request.approval_id and stored.approval_id != request.approval_id:
                    raise ConcurrentUpdate("the destination requests changed meanwhile")
                if guard.request_id != request.request_id:
                    raise ConcurrentUpdate("the destination requests changed meanwhile")
            account = self.accounts.get(client_id)
            if release_batch_id and (
                account is None or account.claim is None or account.claim.batch_id != release_batch_id
            ):
                raise ConcurrentUpdate("the destination requests changed meanwhile")
            for request in requests:
                stored = self.requests[(client_id, request.request_id)]
                resolved = replace(
                    stored,
                    status=outcome,
                    resolved_at=now,
                    updated_at=now,
                    ungoverned=ungoverned,
                    reason=reason or stored.reason,
                )
                self.requests[(client_id, request.request_id)] = resolved
                del self.pending[(client_id, request.address)]
                if outcome == "approved":
                    self._mirror(resolved, now)
            if release_batch_id and account is not None:
                self._set_claim(account, None)
            self._commit(events)

    def _mirror(self, request: DestinationRequest, now: datetime) -> None:
        key = (request.client_id, request.address)
        if request.action == "remove":
            self.destinations.pop(key, None)
            return
        self.destinations[key] = ApprovedDestination(
            client_id=request.client_id,
            address=request.address,
            network=request.network,
            approved_at=now,
            request_id=request.request_id,
            label=request.label,
            approval_id=request.approval_id,
        )

    def iter_submitted_approval_ids(self) -> Iterator[tuple[str, str]]:
        submitted = sorted(
            (r for r in self.requests.values() if r.status == "submitted" and r.approval_id),
            key=lambda r: (r.submitted_at or r.created_at, r.request_id),
        )
        return iter(dict.fromkeys((r.client_id, str(r.approval_id)) for r in submitted))

    def iter_clients_with_queued_requests(self) -> Iterator[str]:
        queued = sorted(
            (r for r in self.requests.values() if r.status == "queued"), key=lambda r: r.created_at
        )
        return iter(dict.fromkeys(r.client_id for r in queued))

    # --- mirror -------------------------------------------------------------------------------------

    def list_destinations(self, client_id: str) -> list[ApprovedDestination]:
        return [d for (c, _), d in self.destinations.items() if c == client_id]

    def get_destination(self, client_id: str, address: str) -> ApprovedDestination | None:
        return self.destinations.get((client_id, address))

    # --- the outbox ---------------------------------------------------------------------------------

    def _commit(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self.outbox[event.event_id] = event

    def list_outbox(self, *, older_than: datetime, limit: int = 100) -> list[DomainEvent]:
        with self._lock:
            waiting = sorted(self.outbox.values(), key=lambda e: (e.occurred_at, e.event_id))
            return [e for e in waiting if e.occurred_at < older_than][:limit]

    def delete_outbox(self, events: Sequence[DomainEvent]) -> None:
        with self._lock:
            for event in events:
                self.outbox.pop(event.event_id, None)


class MemoryFactStore:
    """The ``FactStore`` port in memory (webhook de-duplication), with ``DynamoDedupeStore``'s contract
    (tests/integration/test_webhooks_dedupe.py runs both); facts do not expire here."""

    def __init__(self) -> None:
        self.facts: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def seen(self, object_id: str, fact: str) -> bool:
        return (object_id, fact) in self.facts

    def claim(self, object_id: str, fact: str) -> bool:
        with self._lock:
            if (object_id, fact) in self.facts:
                return False
            self.facts.add((object_id, fact))
            return True

    def release(self, object_id: str, fact: str) -> None:
        with self._lock:
            self.facts.discard((object_id, fact))
