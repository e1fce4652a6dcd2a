"""The order-leg queue on SQS: the ``OrderLegQueue`` port, and reading a leg from an SQS record.

A message is ``{"runId", "clientId"}`` and nothing more: the worker reads everything else fresh. The
planner sends ten per ``SendMessageBatch``; entries SQS refuses are sent once more, then the planning
fails loudly (the run's orders stay ``planned`` and a replay of the run enqueues them again).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from managed_accounts.domain.ports import LegMessage
from managed_accounts.logs import get_logger

logger = get_logger("order-queue")

MAX_BATCH = 10


class EnqueueFailed(Exception):
    """SQS refused some legs twice."""


def leg_body(leg: LegMessage) -> str:
    return json.dumps({"runId": leg.run_id, "clientId": leg.client_id}, separators=(",", ":"))


def leg_from_sqs_record(record: Mapping[str, Any]) -> LegMessage:
    """The leg an SQS record carries; ``ValueError`` for a message that is not one (it then fails each
    delivery and ends in the dead-letter queue, where an alarm sees it)."""
    try:
        body = json.loads(record["body"])
        run_id, client_id = body["runId"], body["clientId"]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError("not an order-leg message") from error
    if not isinstance(run_id, str) or not isinstance(client_id, str):
        raise ValueError("not an order-leg message")
    attributes = record.get("attributes") or {}
    return LegMessage(
        run_id=run_id,
        client_id=client_id,
        receipt=str(record.get("receiptHandle", "")),
        receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
    )


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

    def retry_later(self, leg: LegMessage, delay_seconds: int) -> None:
        """The delivery becomes visible again after ``delay_seconds`` (``Retry-After``, or a backoff)."""
        if not leg.receipt:
            return
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=leg.receipt, VisibilityTimeout=delay_seconds
            )
        except Exception:  # the queue's own visibility timeout applies instead: later, never lost
            logger.warning(
                "could not change the leg's visibility", extra={"runId": leg.run_id}, exc_info=True
            )
