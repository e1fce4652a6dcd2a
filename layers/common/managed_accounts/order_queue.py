"""The order-leg queue on SQS: the ``OrderLegQueue`` port, and reading its messages from SQS records.

Two kinds of message: a leg, ``{"runId", "clientId"}`` and nothing more (the worker reads everything
else fresh), and a planning page, ``{"runId", "page": <cursor or null>, "planned": n}``. Legs go ten
per ``SendMessageBatch``; entries SQS refuses are sent once more, then the planning page fails loudly
(its delivery comes back, and the orders it wrote stay ``planned`` for it or a replay to enqueue).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from managed_accounts.domain.ports import LegMessage, PlanningPage
from managed_accounts.logs import get_logger

logger = get_logger("order-queue")

MAX_BATCH = 10


class EnqueueFailed(Exception):
    """SQS refused some legs twice."""


def leg_body(leg: LegMessage) -> str:
    return json.dumps({"runId": leg.run_id, "clientId": leg.client_id}, separators=(",", ":"))


def page_body(page: PlanningPage) -> str:
    return json.dumps(
        {"runId": page.run_id, "page": page.cursor, "planned": page.planned}, separators=(",", ":")
    )


def message_from_sqs_record(record: Mapping[str, Any]) -> LegMessage | PlanningPage:
    """The leg or planning page an SQS record carries; ``ValueError`` for a message that is neither (it
    then fails each delivery and ends in the dead-letter queue, where an alarm sees it)."""
    try:
        body = json.loads(record["body"])
        run_id = body["runId"]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError("not an order-run message") from error
    receipt = str(record.get("receiptHandle", ""))
    if isinstance(run_id, str) and "page" in body:
        cursor, planned = body["page"], body.get("planned", 0)
        if (cursor is None or isinstance(cursor, str)) and isinstance(planned, int):
            return PlanningPage(run_id, cursor, planned, receipt=receipt)
    client_id = body.get("clientId")
    if not isinstance(run_id, str) or not isinstance(client_id, str):
        raise ValueError("not an order-run message")
    attributes = record.get("attributes") or {}
    count = int(attributes.get("ApproximateReceiveCount", 1))
    return LegMessage(run_id=run_id, client_id=client_id, receipt=receipt, receive_count=count)


class SqsOrderLegQueue:
    """``client`` is a boto3 SQS client."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, legs: Sequence[LegMessage]) -> None:
        if len(legs) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} legs per batch")
        entries = [{"Id": str(i), "MessageBody": leg_body(leg)} for i, leg in enumerate(legs)]
        for _ in range(2):
            if not entries:
                return
            response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            failed = {str(f["Id"]) for f in response.get("Failed") or []}
            entries = [e for e in entries if e["Id"] in failed]
        if entries:
            raise EnqueueFailed(f"SQS refused {len(entries)} order legs")

    def enqueue_page(self, page: PlanningPage) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=page_body(page))

    def retry_later(self, message: LegMessage | PlanningPage, delay_seconds: int) -> None:
        """The delivery becomes visible again after ``delay_seconds`` (``Retry-After``, or a backoff)."""
        if not message.receipt:
            return
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=message.receipt, VisibilityTimeout=delay_seconds
            )
        except Exception:  # the queue's own visibility timeout applies instead: later, never lost
            logger.warning(
                "could not change the message's visibility", extra={"runId": message.run_id}, exc_info=True
            )
