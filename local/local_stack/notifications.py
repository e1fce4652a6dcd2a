"""Client notifications on the local stack: the domain bus's client-facing events, as the notifier sees them.

In AWS a rule on the product's bus sends ``DestinationApproved``, ``DestinationRejected``, … to an SNS
topic the company's notifier subscribes to. Locally the same rule targets an SQS queue (moto delivers
to SQS), and a watcher thread appends each event to ``notifications.jsonl`` in the state folder, where
the demo and the e2e tests read what a client would have been told.

A second rule (local only) sends every domain event of the product to a narration queue: the watcher
tells the console the story as it happens (``DestinationApproved alice 0x…``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from managed_accounts.domain.events import CLIENT_FACING, EVENT_SOURCE

from local_stack import aws
from local_stack.console import console, event_line

log = logging.getLogger(__name__)

QUEUE_NAME = "managed-accounts-client-notifications"
RULE_NAME = "client-facing-events"
NARRATION_QUEUE_NAME = "managed-accounts-local-narration"
NARRATION_RULE_NAME = "local-console-narration"
NOTIFICATIONS_FILE = "notifications.jsonl"


@dataclass(frozen=True, slots=True)
class NotificationQueues:
    notifications: str  # client-facing events: what the company's notifier receives
    narration: str  # every domain event: the console's story


def _route_to_queue(
    endpoint_url: str, bus_name: str, *, rule: str, queue: str, pattern: dict[str, list[str]]
) -> str:
    sqs, events = aws.client("sqs", endpoint_url), aws.client("events", endpoint_url)
    queue_url = str(sqs.create_queue(QueueName=queue)["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[{"Id": "target", "Arn": queue_arn}])
    return queue_url


def create_notification_route(endpoint_url: str, bus_name: str) -> NotificationQueues:
    """The notifier's queue and rule (client-facing events only) and the console's (every event)."""
    client_facing = {"source": [EVENT_SOURCE], "detail-type": sorted(CLIENT_FACING)}
    notifications = _route_to_queue(
        endpoint_url, bus_name, rule=RULE_NAME, queue=QUEUE_NAME, pattern=client_facing
    )
    narration = _route_to_queue(
        endpoint_url,
        bus_name,
        rule=NARRATION_RULE_NAME,
        queue=NARRATION_QUEUE_NAME,
        pattern={"source": [EVENT_SOURCE]},
    )
    return NotificationQueues(notifications=notifications, narration=narration)


def notification_of(event: dict[str, Any]) -> dict[str, Any]:
    """The part of an EventBridge event a notifier needs."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    return {"type": event.get("detail-type"), "time": event.get("time"), **(detail or {})}


def read_notifications(state_dir: Path, client_id: str | None = None) -> list[dict[str, Any]]:
    path = state_dir / NOTIFICATIONS_FILE
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if client_id is None or row.get("clientId") == client_id]


class NotificationWatcher:
    def __init__(self, endpoint_url: str, queues: NotificationQueues, state_dir: Path) -> None:
        self._sqs = aws.client("sqs", endpoint_url)
        self._queues = queues
        self._path = state_dir / NOTIFICATIONS_FILE
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-notifications", daemon=True)

    def start(self) -> None:
        self._path.write_text("", encoding="utf-8")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def drain_once(self, wait_seconds: int = 1) -> int:
        """Record the client notifications and narrate the domain events that are queued, deleting
        them; returns how many messages were handled."""
        return self._drain(self._queues.notifications, self._record, wait_seconds) + self._drain(
            self._queues.narration, self._narrate, wait_seconds
        )

    def _drain(self, queue_url: str, handle: Callable[[dict[str, Any]], None], wait_seconds: int) -> int:
        response = self._sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        messages = response.get("Messages", [])
        for message in messages:
            handle(notification_of(json.loads(message["Body"])))
            self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _record(self, notification: dict[str, Any]) -> None:
        log.info("client notification: %s for %s", notification["type"], notification.get("clientId"))
        with self._path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(notification, default=str) + "\n")

    @staticmethod
    def _narrate(event: dict[str, Any]) -> None:
        console.info("%s", event_line(event))

    def _loop(self) -> None:
        # Short polls and an interruptible pause, rather than SQS long polls, so stop() is immediate.
        while not self._stop.is_set():
            try:
                received = self.drain_once(wait_seconds=0)
            except Exception:
                log.exception("reading client notifications failed")
                received = 0
            if not received:
                self._stop.wait(0.25)
