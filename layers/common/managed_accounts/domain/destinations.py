"""Approved destinations: the service the routes, the webhook and the reconciler call (DESIGN §4).

Nothing is lost: a request is stored (queued, with a per-address pending guard) before Dfns is
called; submission (``domain/batches.py``) claims the client's one change slot, and any failure
leaves the requests queued for the next request, approval or reconciler run. Resolution
(``apply_approval``) is forward-only and idempotent, then frees the slot and submits the next batch.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from managed_accounts.dfns.models import Approval
from managed_accounts.domain.addresses import normalize_address
from managed_accounts.domain.destination_batches import CLAIM_LEASE, BatchSubmitter
from managed_accounts.domain.destination_outcomes import RequestOutcomes
from managed_accounts.domain.models import (
    REQUEST_STATUSES,
    Account,
    ApprovedDestination,
    DestinationRequest,
    RequestAction,
    RequestPage,
    validate_client_id,
    validate_label,
)
from managed_accounts.domain.ports import (
    AccountsRepository,
    Clock,
    DestinationListener,
    DfnsGateway,
    EventPublisher,
    Outcome,
)
from managed_accounts.errors import (
    AccountNotReady,
    AlreadyPending,
    ConcurrentUpdate,
    DomainError,
    InvalidInput,
    NotFound,
)
from managed_accounts.logs import get_logger

logger = get_logger("destinations")

__all__ = ["CLAIM_LEASE", "DestinationService", "new_request_id"]

_MAX_ROUNDS = 10  # immediate outcomes (200, nothing to change) free the slot: submit again, bounded


def new_request_id(now: datetime) -> str:
    """Sorts by creation time (newest-first listing), unique across concurrent writers."""
    return f"dr-{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


class DestinationService:
    def __init__(
        self,
        repository: AccountsRepository,
        dfns: DfnsGateway,
        publisher: EventPublisher,
        clock: Clock,
        *,
        listeners: Sequence[DestinationListener] = (),
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._outcomes = RequestOutcomes(repository, publisher, clock, listeners=listeners)
        self._batches = BatchSubmitter(repository, dfns, self._outcomes, clock)

    # --- reads --------------------------------------------------------------------------------------

    def list_destinations(self, client_id: str) -> list[ApprovedDestination]:
        self._active_account(client_id)
        return sorted(self._repo.list_destinations(client_id), key=lambda d: d.approved_at)

    def list_requests(
        self, client_id: str, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> RequestPage:
        validate_client_id(client_id)
        if status is not None and status not in REQUEST_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(REQUEST_STATUSES)}")
        return self._repo.list_requests(client_id, status=status, limit=limit, cursor=cursor)

    def get_request(self, client_id: str, request_id: str) -> DestinationRequest:
        request = self._repo.get_request(validate_client_id(client_id), request_id)
        if request is None:
            raise NotFound("no such destination request")
        return request

    # --- requests -----------------------------------------------------------------------------------

    def request_destination(self, client_id: str, address: str, label: str | None) -> DestinationRequest:
        validate_label(label)
        account = self._active_account(client_id)
        return self._create(account, "add", normalize_address(account.network, address), label)

    def request_removal(self, client_id: str, address: str) -> DestinationRequest:
        account = self._active_account(client_id)
        try:
            normalized = normalize_address(account.network, address)
        except InvalidInput:
            raise NotFound(f"{address} is not an approved destination") from None
        destination = self._repo.get_destination(client_id, normalized)
        if destination is None:
            raise NotFound(f"{address} is not an approved destination")
        return self._create(account, "remove", normalized, destination.label)

    def _create(
        self, account: Account, action: RequestAction, address: str, label: str | None
    ) -> DestinationRequest:
        now = self._clock.now()
        request = DestinationRequest(
            request_id=new_request_id(now),
            client_id=account.client_id,
            action=action,
            address=address,
            network=account.network,
            status="queued",
            created_at=now,
            updated_at=now,
            label=label,
        )
        events = self._outcomes.events("DestinationRequested", [request])
        try:
            self._repo.create_request(request, events=events)
        except AlreadyPending:
            earlier = self._pending_request(account.client_id, address)
            if earlier is not None and (earlier.action, earlier.label) == (action, label):
                return earlier  # a repeat while the first is in flight: the same request, not a second
            raise
        self._outcomes.outbox.publish(events)
        self._submit_quietly(account.client_id)
        return self._repo.get_request(account.client_id, request.request_id) or request

    # --- submission ---------------------------------------------------------------------------------

    def submit_next_batch(self, client_id: str) -> None:
        """Claims the client's change slot and submits the queued requests; does nothing if the slot is
        held or nothing is queued. A Dfns failure leaves the requests queued and raises a domain error."""
        for _ in range(_MAX_ROUNDS):
            if not self._batches.submit_once(client_id):
                return

    def _submit_quietly(self, client_id: str) -> None:
        try:
            self.submit_next_batch(client_id)
        except DomainError as error:
            # The requests stay queued; the next request, approval or reconciler run submits them.
            logger.warning("destination change not submitted now", extra={"error": str(error)})
        except Exception:  # e.g. DynamoDB failing: the stored requests are safe, so the caller still succeeds
            logger.exception("destination change not submitted now")

    # --- resolution ---------------------------------------------------------------------------------

    def apply_approval(self, approval: Approval) -> bool:
        """Resolves the batch waiting for ``approval`` (already re-read from Dfns by the caller).

        Forward-only and idempotent: Pending, an unknown approval, or a batch already resolved change
        nothing and return False. Approved -> requests approved and the mirror updated; Denied/Expired
        -> rejected. Then the slot is freed and the next batch submitted.
        """
        if approval.status not in ("Approved", "Denied", "Expired"):
            return False
        waiting = [
            r
            for r in self._repo.find_requests_by_approval(approval.id)
            if r.status == "submitted" and r.approval_id == approval.id
        ]
        if not waiting:
            return False
        client_id = waiting[0].client_id
        outcome, reason = _outcome_of(approval)
        release = self._claim_waiting_for(client_id, approval.id)
        try:
            self._outcomes.resolve(client_id, waiting, outcome, reason=reason, release_batch_id=release)
        except ConcurrentUpdate:
            still = self._repo.get_requests(client_id, [r.request_id for r in waiting])
            if any(r.status == "submitted" for r in still):
                raise
            return False  # a concurrent call resolved it first
        self._submit_quietly(client_id)
        return True

    def _claim_waiting_for(self, client_id: str, approval_id: str) -> str | None:
        """The batch id of the client's claim if it is the change waiting for ``approval_id``."""
        account = self._repo.get_account(client_id)
        claim = account.claim if account else None
        return claim.batch_id if claim and claim.approval_id == approval_id else None

    # --- helpers ------------------------------------------------------------------------------------

    def _pending_request(self, client_id: str, address: str) -> DestinationRequest | None:
        entry = next((p for p in self._repo.list_pending(client_id) if p.address == address), None)
        return self._repo.get_request(client_id, entry.request_id) if entry else None

    def _active_account(self, client_id: str) -> Account:
        account = self._repo.get_account(validate_client_id(client_id))
        if account is None:
            raise NotFound("no account yet: POST /accounts first")
        if account.status != "active":
            raise AccountNotReady("the account is still being set up; retry POST /accounts")
        return account


def _outcome_of(approval: Approval) -> tuple[Outcome, str | None]:
    change = approval.activity.change_request if approval.activity else None
    if approval.status == "Approved":
        if change is not None and change.status == "Failed":
            # Approved, but Dfns could not apply the change: the whitelist did not change.
            return "failed", "approved, but Dfns failed to apply the change"
        return "approved", None
    return "rejected", _rejection_reason(approval)


def _rejection_reason(approval: Approval) -> str:
    if approval.status == "Expired":
        return "the approval expired"
    denial = next((d for d in approval.decisions if d.value == "Denied"), None)
    if denial and denial.reason:
        return f"denied by compliance: {denial.reason}"
    return "denied by compliance"
