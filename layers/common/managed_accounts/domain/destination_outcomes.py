"""Resolving destination requests (approved, rejected, failed) and announcing every transition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from managed_accounts.domain.events import DomainEvent, DomainEventType
from managed_accounts.domain.models import DestinationRequest
from managed_accounts.domain.outbox import Outbox
from managed_accounts.domain.ports import (
    AccountsRepository,
    Clock,
    DestinationListener,
    EventPublisher,
    Outcome,
)
from managed_accounts.logs import get_logger

logger = get_logger("destinations")

_EVENT_FOR: dict[Outcome, DomainEventType] = {
    "approved": "DestinationApproved",
    "rejected": "DestinationRejected",
    "failed": "DestinationFailed",
}


class RequestOutcomes:
    def __init__(
        self,
        repository: AccountsRepository,
        publisher: EventPublisher,
        clock: Clock,
        *,
        listeners: Sequence[DestinationListener] = (),
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._listeners = tuple(listeners)
        self.outbox = Outbox(repository, publisher)

    def resolve(
        self,
        client_id: str,
        batch: Sequence[DestinationRequest],
        outcome: Outcome,
        *,
        reason: str | None = None,
        ungoverned: bool = False,
        release_batch_id: str | None = None,
    ) -> None:
        now = self._clock.now()
        resolved = [
            replace(r, status=outcome, reason=reason, ungoverned=ungoverned, resolved_at=now) for r in batch
        ]
        events = self.events(_EVENT_FOR[outcome], resolved)
        self._repo.resolve_requests(
            client_id,
            batch,
            outcome=outcome,
            now=now,
            reason=reason,
            ungoverned=ungoverned,
            release_batch_id=release_batch_id,
            events=events,
        )
        logger.info(
            "destination requests resolved",
            extra={
                "clientId": client_id,
                "outcome": outcome,
                "requestIds": [r.request_id for r in batch],
                "approvalId": batch[0].approval_id if batch else None,
                "ungoverned": ungoverned,
            },
        )
        self.outbox.publish(events)
        self._tell_listeners(client_id, resolved)

    def _tell_listeners(self, client_id: str, resolved: Sequence[DestinationRequest]) -> None:
        """After the commit: a listener's failure never undoes a resolution (its readers settle later)."""
        for listener in self._listeners:
            try:
                listener.destinations_resolved(client_id, resolved)
            except Exception:
                logger.exception("a destination listener failed; its state settles on its next read")

    def events(self, kind: DomainEventType, requests: Sequence[DestinationRequest]) -> list[DomainEvent]:
        """One event per request, to commit with the transition (``events=``) and publish after."""
        now = self._clock.now()
        return [
            DomainEvent(
                kind,
                r.client_id,
                {
                    "requestId": r.request_id,
                    "action": r.action,
                    "address": r.address,
                    "network": r.network,
                    "label": r.label,
                    "status": r.status,
                    "approvalId": r.approval_id,
                    "changeRequestId": r.change_request_id,
                    "ungoverned": r.ungoverned,
                    "reason": r.reason,
                },
                occurred_at=now,
            )
            for r in requests
        ]
