"""In-memory stand-ins for the event publisher, metrics and clock ports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from managed_accounts.domain.events import DomainEvent


class RecordingPublisher:
    """Keeps published events in memory."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
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
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
