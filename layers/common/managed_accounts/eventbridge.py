"""The ``EventPublisher`` adapter: domain events onto the product's EventBridge bus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from managed_accounts.domain.events import EVENT_SOURCE, DomainEvent


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
