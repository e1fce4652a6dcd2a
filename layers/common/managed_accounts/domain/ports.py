"""Every port the domain talks through: storage, Dfns, events, time, metrics, de-duplication.

The domain imports these Protocols, its own models and errors, and nothing else from outside it.
Adapters implement them elsewhere: ``data/`` (DynamoDB), ``dfns/`` (the Dfns HTTP client),
``eventbridge.py`` (domain events), ``wiring.py`` (the system clock); ``tests/fakes/`` holds the fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from managed_accounts.dfns.models import (
    Approval,
    AuditLog,
    AuditLogExport,
    AuditLogRow,
    ChangeRequest,
    CreateWalletBody,
    HistoryEvent,
    HistoryPage,
    Policy,
    PolicyBody,
    TransferBody,
    TransferPage,
    TransferRequest,
    Wallet,
    WalletAssets,
)
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.models import (
    Account,
    ApprovedDestination,
    DestinationRequest,
    PendingEntry,
    RequestPage,
)
from managed_accounts.domain.report_models import AuditEntry, AuditPage, SharedPolicyIds
from managed_accounts.domain.trading import Mandate, MandatePage, Order, OrderPage, OrderRun

# --- storage ---------------------------------------------------------------------------------------

Outcome = Literal["approved", "rejected", "failed"]


class AccountsRepository(Protocol):
    # accounts
    def get_account(self, client_id: str) -> Account | None: ...
    def create_account(self, account: Account) -> bool: ...
    def update_onboarding(self, account: Account, *, events: Sequence[DomainEvent] = ()) -> Account: ...
    def get_account_by_wallet(self, wallet_id: str) -> Account | None: ...
    def iter_accounts(self) -> Iterator[Account]: ...

    # the one destination change in flight per client
    def claim_change(self, client_id: str, batch_id: str, now: datetime, stale_before: datetime) -> bool: ...
    def release_claim(self, client_id: str, batch_id: str) -> None: ...

    # destination requests
    def create_request(self, request: DestinationRequest, *, events: Sequence[DomainEvent] = ()) -> None: ...
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
        events: Sequence[DomainEvent] = (),
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
        events: Sequence[DomainEvent] = (),
    ) -> None: ...
    def iter_submitted_approval_ids(self) -> Iterator[tuple[str, str]]: ...
    def iter_clients_with_queued_requests(self) -> Iterator[str]: ...

    # approved destinations (mirror)
    def list_destinations(self, client_id: str) -> list[ApprovedDestination]: ...
    def get_destination(self, client_id: str, address: str) -> ApprovedDestination | None: ...

    # the outbox: events committed with the state change they report, until published
    def list_outbox(self, *, older_than: datetime, limit: int = 100) -> list[DomainEvent]: ...
    def delete_outbox(self, events: Sequence[DomainEvent]) -> None: ...


class FactStore(Protocol):
    """Business facts already acted on (object id + what happened), for webhook de-duplication."""

    def seen(self, object_id: str, fact: str) -> bool: ...
    def claim(self, object_id: str, fact: str) -> bool: ...
    def release(self, object_id: str, fact: str) -> None: ...


# --- Dfns ------------------------------------------------------------------------------------------


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
    """What the service account may do in Dfns. No untagging, no approving: those are humans' acts."""

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


# --- events, time, metrics -------------------------------------------------------------------------


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class Metrics(Protocol):
    """The slice of Powertools ``Metrics`` the domain uses."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...


# --- domain services other domain services call -----------------------------------------------------


class ApprovalResolver(Protocol):
    """Resolves the destination batch waiting for an approval (``DestinationService``): forward-only,
    idempotent; False when the approval is unknown or nothing changed."""

    def apply_approval(self, approval: Approval) -> bool: ...
    def submit_next_batch(self, client_id: str) -> None: ...


class TransferOutcomes(Protocol):
    """Records a transfer's outcome on the order that caused it; False when no order matches or
    nothing changed."""

    def record_transfer(self, client_id: str, transfer: TransferRequest) -> bool: ...


# --- reports: the audit trail, the shared-policy registry, Dfns reads of the client views (issue 15) --


class AuditRepository(Protocol):
    """The per-client audit trail (``CLIENT#<id>`` partition), time-ordered, plus what filing Dfns
    audit-log rows needs: a directory of Dfns ids to clients and the ingestion watermark."""

    def record(self, entries: Sequence[AuditEntry]) -> None:
        """Upserts by (client, entry id): recording a fact again changes nothing, and a later write
        adds what it knows (e.g. the signed action's evidence) without erasing what is there."""
        ...

    def list_entries(
        self, client_id: str, *, start: datetime, end: datetime, limit: int, cursor: str | None = None
    ) -> AuditPage: ...
    def get_entry(self, client_id: str, entry_id: str) -> AuditEntry | None: ...
    def decisions_for(self, client_id: str, approval_id: str) -> list[AuditEntry]: ...

    # Dfns ids (wallet, whitelist policy, change request, approval, transfer) -> the client they concern
    def file_references(self, client_id: str, dfns_ids: Sequence[str]) -> None: ...
    def client_for(self, dfns_id: str) -> str | None: ...

    # how far the Dfns audit log has been ingested
    def ingest_watermark(self) -> datetime | None: ...
    def advance_watermark(self, previous: datetime | None, through: datetime) -> bool:
        """Moves the watermark from ``previous`` to ``through``; False if another run moved it first."""
        ...


class PolicyRegistry(Protocol):
    """The ids of the governance and limit-profile policies, recorded by the bootstrap."""

    def record_shared_policies(self, policies: SharedPolicyIds) -> None: ...
    def shared_policies(self) -> SharedPolicyIds | None: ...


class ReportsDfnsGateway(Protocol):
    """The Dfns reads the client views need: an additive slice of the Dfns client (``DfnsClient``)."""

    def get_wallet(self, wallet_id: str) -> Wallet: ...
    def get_policy(self, policy_id: str) -> Policy: ...
    def get_wallet_assets(self, wallet_id: str) -> WalletAssets: ...
    def wallet_history_page(
        self, wallet_id: str, *, limit: int, token: str | None = None, direction: str | None = None
    ) -> HistoryPage: ...
    def transfers_page(self, wallet_id: str, *, limit: int, token: str | None = None) -> TransferPage: ...


class AuditLogSource(Protocol):
    """What ingesting the Dfns audit log reads (``DfnsClient``)."""

    def audit_log_export(
        self, start: datetime, end: datetime, *, user_id: str | None = None
    ) -> AuditLogExport: ...
    def get_audit_log(self, log_id: str) -> AuditLog: ...
    def get_approval(self, approval_id: str) -> Approval: ...
    def get_wallet(self, wallet_id: str) -> Wallet: ...
    def get_policy(self, policy_id: str) -> Policy: ...


class SignatureVerifier(Protocol):
    """Checks a signature with a credential's public key (PEM): Ed25519, ECDSA (DER, SHA-256) or RSA
    (PKCS#1 v1.5, SHA-256), as Dfns credentials sign (DFNS.md §1.4)."""

    def verify(self, public_key: str, signature: bytes, message: bytes) -> bool: ...


# --- trading: mandates, order runs, orders (DESIGN.md §4 "Trading and order runs") ------------------
# Kept apart from ``AccountsRepository``: trading has its own repository and its own fakes.


class DestinationRequests(Protocol):
    """Asking for an approved destination through the normal flow (``DestinationService``)."""

    def request_destination(self, client_id: str, address: str, label: str | None) -> DestinationRequest: ...


class DestinationListener(Protocol):
    """Told when destination requests resolve (after their transition is committed), e.g. to move the
    trading mandate that waits for its exchange address. A failure here never undoes the resolution:
    whoever reads the mandate later settles it from the requests and the mirror."""

    def destinations_resolved(self, client_id: str, requests: Sequence[DestinationRequest]) -> None: ...


class OrdersRepository(Protocol):
    """Mandates, order runs and orders. Writes are conditional (``version``), so two writers never
    overwrite each other silently: the loser gets ``ConcurrentUpdate``."""

    # mandates (one per client)
    def get_mandate(self, client_id: str) -> Mandate | None: ...
    def save_mandate(self, mandate: Mandate, *, expected_version: int | None) -> Mandate: ...
    def list_planned_mandates(self, *, limit: int, cursor: str | None = None) -> MandatePage: ...

    # runs
    def create_run(self, run: OrderRun) -> bool: ...
    def get_run(self, run_id: str) -> OrderRun | None: ...
    def begin_replay(self, run_id: str, now: datetime) -> OrderRun: ...
    def finish_planning(self, run_id: str, planned: int, now: datetime) -> None: ...
    def record_dfns_failure(self, run_id: str, *, threshold: int, now: datetime) -> bool: ...
    def record_dfns_success(self, run_id: str) -> None: ...

    # orders (legs)
    def create_order(self, order: Order) -> bool: ...
    def get_order(self, client_id: str, run_id: str, run_created_at: datetime) -> Order | None: ...
    def get_orders(self, run: OrderRun, client_ids: Sequence[str]) -> dict[str, Order]: ...
    def save_order(
        self, order: Order, *, expected_version: int, events: Sequence[DomainEvent] = ()
    ) -> Order: ...
    def find_order_by_external_id(self, client_id: str, external_id: str) -> Order | None: ...
    def list_orders(self, client_id: str, *, limit: int = 20, cursor: str | None = None) -> OrderPage: ...
    def iter_client_orders(self, client_id: str, *, runs_since: datetime) -> Iterator[Order]: ...
    def iter_run_orders(self, run_id: str) -> Iterator[Order]: ...
    def iter_open_orders(self) -> Iterator[Order]: ...


@dataclass(frozen=True, slots=True)
class LegMessage:
    """One order leg on the queue: which run, which client. Everything else is read fresh."""

    run_id: str
    client_id: str
    receipt: str = ""  # the queue's handle for this delivery
    receive_count: int = 1


@dataclass(frozen=True, slots=True)
class PlanningPage:
    """The next page of the mandates index to plan for a run (planning goes a page per message, so no
    invocation ever holds or walks the whole index). ``cursor`` None: the first page."""

    run_id: str
    cursor: str | None = None
    planned: int = 0  # mandates planned by the pages before this one
    receipt: str = ""


class OrderLegQueue(Protocol):
    """The queue that spreads a run over worker invocations (SQS): planning pages and order legs."""

    def enqueue(self, legs: Sequence[LegMessage]) -> None: ...  # at most 10 (one SendMessageBatch)
    def enqueue_page(self, page: PlanningPage) -> None: ...
    def retry_later(self, message: LegMessage | PlanningPage, delay_seconds: int) -> None: ...


class OrderTransfers(TransferOutcomes, Protocol):
    """The reconciler's view of orders: which transfers still await an outcome, and recording one."""

    def iter_open_transfers(self) -> Iterator[tuple[str, str, str]]: ...  # (clientId, walletId, transferId)
