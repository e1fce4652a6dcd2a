"""In-memory stand-ins for the event publisher, metrics, clock and transfer-outcome ports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from managed_accounts.dfns.models import TransferRequest
from managed_accounts.domain.events import DomainEvent

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # where every FixedClock starts


class RecordingPublisher:
    """Keeps published events in memory; while ``down`` it fails as EventBridge would in an outage."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.down = False

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.down:
            raise RuntimeError("EventBridge: ServiceUnavailable")
        self.events.extend(events)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


class RecordingMetrics:
    """Keeps metrics in memory."""

    def __init__(self) -> None:
        self.metrics: list[tuple[str, str, float]] = []

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.metrics.append((name, unit, value))

    def total(self, name: str) -> float:
        return sum(value for metric, _, value in self.metrics if metric == name)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or EPOCH

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class RecordingOrders:
    """The ``TransferOutcomes`` port: keeps each transfer outcome recorded on an order."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str]] = []

    def record_transfer(self, client_id: str, transfer: TransferRequest) -> bool:
        self.recorded.append((client_id, transfer.id, transfer.status))
        return True
