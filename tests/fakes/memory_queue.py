"""An in-memory order-leg queue with SQS's delivery semantics, and the event-source loop that drains it.

- ``enqueue`` takes at most ten legs (one ``SendMessageBatch``).
- A received message is invisible until it is deleted or its visibility passes (``retry_later`` sets
  it; otherwise ``visibility_timeout``); every receive counts (``ApproximateReceiveCount``).
- ``duplicates=True`` delivers every message once more after it was deleted (SQS is at least once).
- ``drain`` plays the Lambda event source: batches of ``batch_size`` records to the handler, deletes
  what it did not report in ``batchItemFailures``; an exception escaping the handler is a crashed
  invocation (nothing deleted). Time is the shared ``FixedClock``: when nothing is visible, it moves on
  to the next visibility, so leases and ``Retry-After`` delays really pass.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from managed_accounts.domain.ports import LegMessage, PlanningPage
from managed_accounts.order_queue import leg_body, page_body

from tests.fakes.recording import FixedClock

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:order-legs"


@dataclass
class _Message:
    message_id: str
    body: str
    visible_at: datetime
    receives: int = 0
    deliveries_left: int = 1
    receipt: str | None = None


@dataclass
class DrainReport:
    invocations: int = 0
    crashes: int = 0
    failures: int = 0  # records reported in batchItemFailures
    delays: list[int] = field(default_factory=list)  # visibility changes asked by the worker


class MemoryLegQueue:
    def __init__(self, clock: FixedClock, *, visibility_timeout: int = 120, duplicates: bool = False) -> None:
        self.clock = clock
        self.visibility_timeout = visibility_timeout
        self.duplicates = duplicates
        self.messages: dict[str, _Message] = {}
        self.sent: list[LegMessage] = []
        self.pages: list[PlanningPage] = []
        self.batch_sizes: list[int] = []
        self.delays: list[int] = []
        self._ids = itertools.count(1)

    # --- the OrderLegQueue port -------------------------------------------------------------------

    def enqueue(self, legs: Sequence[LegMessage]) -> None:
        assert 1 <= len(legs) <= 10, "SendMessageBatch takes one to ten messages"
        self.batch_sizes.append(len(legs))
        for leg in legs:
            message_id = f"m-{next(self._ids)}"
            self.messages[message_id] = _Message(
                message_id, leg_body(leg), self.clock.now(), deliveries_left=2 if self.duplicates else 1
            )
            self.sent.append(leg)

    def enqueue_page(self, page: PlanningPage) -> None:
        message_id = f"m-{next(self._ids)}"
        deliveries = 2 if self.duplicates else 1
        self.messages[message_id] = _Message(
            message_id, page_body(page), self.clock.now(), deliveries_left=deliveries
        )
        self.pages.append(page)

    def take_pages(self) -> list[PlanningPage]:
        """Takes the planning pages off the queue (to plan a run without running its legs)."""
        taken = []
        for message_id, message in list(self.messages.items()):
            body = json.loads(message.body)
            if "page" in body:
                del self.messages[message_id]
                taken.append(PlanningPage(body["runId"], body["page"], body["planned"]))
        return taken

    def retry_later(self, leg: LegMessage | PlanningPage, delay_seconds: int) -> None:
        self.delays.append(delay_seconds)
        for message in self.messages.values():
            if message.receipt == leg.receipt:
                message.visible_at = self.clock.now() + timedelta(seconds=delay_seconds)

    # --- SQS ----------------------------------------------------------------------------------------

    def receive(self, max_messages: int = 10) -> list[dict[str, Any]]:
        now = self.clock.now()
        visible = [m for m in self.messages.values() if m.visible_at <= now][:max_messages]
        records = []
        for message in visible:
            message.receives += 1
            message.receipt = f"{message.message_id}#{message.receives}"
            message.visible_at = now + timedelta(seconds=self.visibility_timeout)
            records.append(_record(message))
        return records

    def delete(self, receipt: str) -> None:
        message = next((m for m in self.messages.values() if m.receipt == receipt), None)
        if message is None:
            return
        message.deliveries_left -= 1
        if message.deliveries_left <= 0:
            del self.messages[message.message_id]
        else:  # delivered again, as SQS may after a successful delete
            message.visible_at = self.clock.now()

    def next_visible_at(self) -> datetime | None:
        return min((m.visible_at for m in self.messages.values()), default=None)

    def drain(
        self,
        handler: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        batch_size: int = 10,
        max_invocations: int = 500,
    ) -> DrainReport:
        report = DrainReport()
        for _ in range(max_invocations):
            records = self.receive(batch_size)
            if not records:
                upcoming = self.next_visible_at()
                if upcoming is None:
                    report.delays = list(self.delays)
                    return report
                self.clock.advance(max((upcoming - self.clock.now()).total_seconds(), 0) + 1)
                continue
            report.invocations += 1
            try:
                response = handler({"Records": records})
            except BaseException as crash:  # a crashed invocation deletes nothing
                if isinstance(crash, KeyboardInterrupt):
                    raise
                report.crashes += 1
                continue
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            report.failures += len(failed)
            for record in records:
                if record["messageId"] not in failed:
                    self.delete(record["receiptHandle"])
        raise AssertionError("the queue did not drain")


def _record(message: _Message) -> dict[str, Any]:
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receives),
            "SentTimestamp": "1767225600000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1767225600000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }
