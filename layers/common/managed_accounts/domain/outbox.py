"""Publishing domain events that are already committed (DESIGN.md §4: events are at least once).

A service writes its events in the same DynamoDB transaction as the state change (the repository's
``events=`` argument), then calls ``publish``: once EventBridge took them they leave the outbox. If
publishing fails they stay, and ``relay`` (run by the reconciler) publishes them later. A crash
between publishing and clearing publishes an event twice: consumers de-duplicate on ``eventId``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.ports import AccountsRepository, EventPublisher
from managed_accounts.logs import get_logger

logger = get_logger("outbox")

# Events younger than this are still being published by the call that wrote them: the relay leaves them.
RELAY_AFTER = timedelta(seconds=60)


class Outbox:
    def __init__(
        self,
        repository: AccountsRepository,
        publisher: EventPublisher,
        *,
        relay_after: timedelta = RELAY_AFTER,
    ) -> None:
        self._repo = repository
        self._publisher = publisher
        self._relay_after = relay_after

    def publish(self, events: Sequence[DomainEvent]) -> bool:
        """Publishes committed events and clears them; False (they stay for the relay) on failure."""
        if not events:
            return True
        try:
            self._publisher.publish(events)
        except Exception:  # the state change is committed and the events are safe in the outbox
            logger.exception(
                "domain events not published now; the reconciler will", extra={"count": len(events)}
            )
            return False
        try:
            self._repo.delete_outbox(events)
        except Exception:
            logger.exception("published events stay in the outbox; they may be published again")
        return True

    def relay(self, now: datetime, *, limit: int = 100) -> int:
        """Publishes what an earlier ``publish`` could not; the number of events published."""
        pending = self._repo.list_outbox(older_than=now - self._relay_after, limit=limit)
        return len(pending) if pending and self.publish(pending) else 0
