"""Client notifications on the local stack: the domain bus's client-facing events, as the notifier sees them.

In AWS a rule on the product's bus sends ``DestinationApproved``, ``DestinationRejected``, … to an SNS
topic the company's notifier subscribes to. Locally the same rule targets an SQS queue (moto delivers
to SQS), and a watcher thread logs each event and appends it to ``notifications.jsonl`` in the state
folder, where the demo and the e2e tests read what a client would have been told.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from managed_accounts.domain.events import CLIENT_FACING, EVENT_SOURCE

from local_stack import aws

log = logging.getLogger(__name__)

QUEUE_NAME = "managed-accounts-client-notifications"
RULE_NAME = "client-facing-events"
NOTIFICATIONS_FILE = "notifications.jsonl"


def create_notification_route(endpoint_url: str, bus_name: str) -> str:
    """The queue and the rule (client-facing events only) on the domain bus; returns the queue URL."""
    sqs, events = aws.client("sqs", endpoint_url), aws.client("events", endpoint_url)
    queue_url = str(sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": [EVENT_SOURCE], "detail-type": sorted(CLIENT_FACING)}
    events.put_rule(Name=RULE_NAME, EventBusName=bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=RULE_NAME, EventBusName=bus_name, Targets=[{"Id": "notifier", "Arn": queue_arn}])
    return queue_url


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
    def __init__(self, endpoint_url: str, queue_url: str, state_dir: Path) -> None:
        self._sqs = aws.client("sqs", endpoint_url)
        self._queue_url = queue_url
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
        """Receive, record and delete what is queued; returns how many notifications were recorded."""
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        messages = response.get("Messages", [])
        for message in messages:
            notification = notification_of(json.loads(message["Body"]))
            log.info("client notification: %s for %s", notification["type"], notification.get("clientId"))
            with self._path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(notification, default=str) + "\n")
            self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

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
