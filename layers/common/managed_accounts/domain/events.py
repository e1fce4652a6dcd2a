"""The product's own domain events (DESIGN.md §2), at least once: each is written in the same DynamoDB
transaction as the state change it reports (an outbox), then published through the ``EventPublisher``
port to the product's EventBridge bus (``eventbridge.py``); what failed to publish is published again
by the reconciler. Each carries a stable ``eventId`` for consumers to de-duplicate."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

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
    "OrderSubmitted",
    "OrderRejected",
]

# Events a client should hear about: a rule on the bus forwards these to the notifications topic.
CLIENT_FACING: frozenset[str] = frozenset(
    {"DestinationApproved", "DestinationRejected", "OrderConfirmed", "OrderFailed", "OrderRejected"}
)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: DomainEventType
    client_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Stable across re-publishing (the outbox keeps it): consumers de-duplicate on it.
    event_id: str = field(default_factory=lambda: f"ev-{uuid.uuid4().hex}")

    def to_detail_json(self) -> str:
        return json.dumps(
            {
                "eventId": self.event_id,
                "clientId": self.client_id,
                "occurredAt": self.occurred_at.isoformat(),
                **self.detail,
            },
            separators=(",", ":"),
            default=str,
        )
