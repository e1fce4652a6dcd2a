"""The product's own domain events, published to its EventBridge bus (DESIGN.md §2).

Logic depends on the ``EventPublisher`` port; ``EventBridgePublisher`` is the AWS adapter and
``RecordingPublisher`` the in-memory one for tests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

EVENT_SOURCE = "managed-accounts"

DomainEventType = Literal[
    "AccountOnboarded",
    "DestinationRequested",
    "DestinationSubmitted",
    "DestinationApproved",
    "DestinationRejected",
    "DestinationFailed",
    "SecurityDrift",
    "OrderConfirmed",
    "OrderFailed",
]

# Events a client should hear about: a rule on the bus forwards these to the notifications topic.
CLIENT_FACING: frozenset[str] = frozenset(
    {"DestinationApproved", "DestinationRejected", "OrderConfirmed", "OrderFailed"}
)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: DomainEventType
    client_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_detail_json(self) -> str:
        return json.dumps(
            {"clientId": self.client_id, "occurredAt": self.occurred_at.isoformat(), **self.detail},
            separators=(",", ":"),
            default=str,
        )


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


class RecordingPublisher:
    """Keeps events in memory: the publisher of unit tests."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


class EventBridgePublisher:
    """Puts events on the product's bus, 10 per call (the PutEvents limit); failed entries raise."""

    def __init__(self, events_client: Any, bus_name: str) -> None:
        self._client = events_client
        self._bus = bus_name

    def publish(self, events: Sequence[DomainEvent]) -> None:
        for start in range(0, len(events), 10):
            chunk = events[start : start + 10]
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": e.type,
                        "Detail": e.to_detail_json(),
                        "EventBusName": self._bus,
                    }
                    for e in chunk
                ]
            )
            if response.get("FailedEntryCount"):
                raise RuntimeError(f"EventBridge refused {response['FailedEntryCount']} event(s)")
