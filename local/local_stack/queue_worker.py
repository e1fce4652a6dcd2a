"""The local SQS event-source mapping: feeds a queue's messages to a handler, as Lambda's poller does.

Batches of up to 10 messages arrive as an ``aws:sqs`` event. A message is deleted only when the
invocation succeeded and did not list it in ``batchItemFailures`` (partial batch responses, as the
CDK mapping enables with ``reportBatchItemFailures``); anything else becomes visible again after the
queue's visibility timeout and is retried, then dead-lettered by the queue's redrive policy.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from local_stack.aws import REGION
from local_stack.invoker import Invoker

log = logging.getLogger(__name__)


def build_sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The Lambda event for a batch received from SQS."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody") or _md5(m["Body"]),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def failed_ids(result: Any) -> set[str]:
    """The message ids a partial batch response reports as failed."""
    if not isinstance(result, dict):
        return set()
    failures = result.get("batchItemFailures") or []
    return {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)}


class QueuePoller:
    def __init__(
        self,
        invoker: Invoker,
        sqs: Any,
        queue_url: str,
        *,
        function: str,
        module: str,
        batch_size: int = 10,
        idle_seconds: float = 0.5,
    ) -> None:
        self._invoker = invoker
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.function, self.module = function, module
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sqs-{function}-{module}", daemon=True)

    def poll_once(self) -> int:
        """One receive → invoke → delete round; returns how many messages were deleted."""
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        try:
            result = self._invoker.invoke(
                self.function, build_sqs_event(received, self._queue_arn), module=self.module
            )
        except Exception:
            log.exception("%s.%s failed a batch of %d: it returns after the visibility timeout",
                          self.function, self.module, len(received))  # fmt: skip
            return 0
        failed = failed_ids(result)
        done = [m for m in received if m["MessageId"] not in failed]
        for message in done:
            self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(done)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once() > 0
            except Exception:
                log.exception("polling the queue failed")
                busy = False
            if not busy:
                self._stop.wait(self._idle_seconds)
