"""The data-access port the logic depends on (``data/repository.py`` holds its DynamoDB adapter)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Literal, Protocol

from managed_accounts.domain.models import (
    Account,
    ApprovedDestination,
    DestinationRequest,
    PendingEntry,
    RequestPage,
)

Outcome = Literal["approved", "rejected", "failed"]


class AccountsRepository(Protocol):
    # accounts
    def get_account(self, client_id: str) -> Account | None: ...
    def create_account(self, account: Account) -> bool: ...
    def update_onboarding(self, account: Account) -> Account: ...
    def get_account_by_wallet(self, wallet_id: str) -> Account | None: ...
    def iter_accounts(self) -> Iterator[Account]: ...

    # the one destination change in flight per client
    def claim_change(self, client_id: str, batch_id: str, now: datetime, stale_before: datetime) -> bool: ...
    def release_claim(self, client_id: str, batch_id: str) -> None: ...

    # destination requests
    def create_request(self, request: DestinationRequest) -> None: ...
    def get_request(self, client_id: str, request_id: str) -> DestinationRequest | None: ...
    def get_requests(self, client_id: str, request_ids: Sequence[str]) -> list[DestinationRequest]: ...
    def list_requests(
        self, client_id: str, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> RequestPage: ...
    def list_pending(self, client_id: str) -> list[PendingEntry]: ...
    def find_requests_by_approval(self, approval_id: str) -> list[DestinationRequest]: ...
    def mark_submitted(
        self,
        client_id: str,
        batch_id: str,
        requests: Sequence[DestinationRequest],
        *,
        change_request_id: str,
        approval_id: str,
        now: datetime,
    ) -> None: ...
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
    ) -> None: ...
    def iter_submitted_approval_ids(self) -> Iterator[tuple[str, str]]: ...
    def iter_clients_with_queued_requests(self) -> Iterator[str]: ...

    # approved destinations (mirror)
    def list_destinations(self, client_id: str) -> list[ApprovedDestination]: ...
    def get_destination(self, client_id: str, address: str) -> ApprovedDestination | None: ...
