"""Resolving destination requests (approved, rejected, failed) and announcing every transition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from managed_accounts.domain.events import DomainEvent, DomainEventType
from managed_accounts.domain.models import DestinationRequest
from managed_accounts.domain.ports import AccountsRepository, Clock, EventPublisher, Outcome
from managed_accounts.logs import get_logger

logger = get_logger("destinations")

_EVENT_FOR: dict[Outcome, DomainEventType] = {
    "approved": "DestinationApproved",
    "rejected": "DestinationRejected",
    "failed": "DestinationFailed",
}


class RequestOutcomes:
    def __init__(self, repository: AccountsRepository, publisher: EventPublisher, clock: Clock) -> None:
        self._repo = repository
        self._publisher = publisher
        self._clock = clock

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
        self._repo.resolve_requests(
            client_id,
            batch,
            outcome=outcome,
            now=now,
            reason=reason,
            ungoverned=ungoverned,
            release_batch_id=release_batch_id,
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
        resolved = [
            replace(r, status=outcome, reason=reason, ungoverned=ungoverned, resolved_at=now) for r in batch
        ]
        self.publish(_EVENT_FOR[outcome], resolved)

    def publish(self, kind: DomainEventType, requests: Sequence[DestinationRequest]) -> None:
        events = [
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
            )
            for r in requests
        ]
        try:
            self._publisher.publish(events)
        except Exception:  # state is committed; a lost notification must not undo or fail it
            logger.exception("could not publish domain events", extra={"type": kind, "count": len(events)})
