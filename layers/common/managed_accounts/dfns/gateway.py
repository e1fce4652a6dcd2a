"""The port the domain logic uses to talk to Dfns. ``DfnsClient`` implements it over HTTP; tests use fakes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from managed_accounts.dfns.models import (
    Approval,
    AuditLogRow,
    ChangeRequest,
    CreateWalletBody,
    HistoryEvent,
    Policy,
    PolicyBody,
    TransferBody,
    TransferRequest,
    Wallet,
    WalletAssets,
)


@dataclass(frozen=True, slots=True)
class PolicyApplied:
    """200: the change took effect at once (no ``Policies:Modify`` governance matched)."""

    policy: Policy


@dataclass(frozen=True, slots=True)
class ChangeRequestPending:
    """202: the change waits for approval; Dfns applies it itself once approved."""

    change_request: ChangeRequest


PolicyChangeOutcome = PolicyApplied | ChangeRequestPending


class DfnsGateway(Protocol):
    # wallets
    def create_wallet(self, body: CreateWalletBody) -> Wallet: ...
    def get_wallet(self, wallet_id: str) -> Wallet: ...
    def iter_wallets(self, *, page_size: int = 100) -> Iterator[Wallet]: ...
    def tag_wallet(self, wallet_id: str, tags: list[str]) -> None: ...
    def get_wallet_assets(self, wallet_id: str) -> WalletAssets: ...
    def iter_wallet_history(self, wallet_id: str, *, page_size: int = 100) -> Iterator[HistoryEvent]: ...

    # transfers
    def transfer(self, wallet_id: str, body: TransferBody) -> TransferRequest: ...
    def get_transfer(self, wallet_id: str, transfer_id: str) -> TransferRequest: ...
    def iter_transfers(self, wallet_id: str, *, page_size: int = 100) -> Iterator[TransferRequest]: ...

    # policies
    def create_policy(self, body: PolicyBody) -> Policy: ...
    def get_policy(self, policy_id: str) -> Policy: ...
    def iter_policies(self, *, status: str | None = "Active", page_size: int = 100) -> Iterator[Policy]: ...
    def update_policy(self, policy_id: str, body: PolicyBody) -> PolicyChangeOutcome: ...
    def archive_policy(self, policy_id: str) -> PolicyChangeOutcome: ...

    # approvals
    def get_approval(self, approval_id: str) -> Approval: ...
    def iter_approvals(self, *, status: str | None = None, page_size: int = 100) -> Iterator[Approval]: ...

    # audit
    def audit_logs(
        self, start: datetime, end: datetime, *, user_id: str | None = None
    ) -> list[AuditLogRow]: ...
