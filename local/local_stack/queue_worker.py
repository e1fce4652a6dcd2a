"""The local SQS event source: drains the order-leg queue into the worker handler, as Lambda would.

Like an SQS event source mapping with ``ScalingConfig.MaximumConcurrency`` = ``concurrency`` and
``BatchSize`` = ``batch_size`` (both from ``Settings``, which the CDK event source reads too): that
many pollers, each receiving up to a batch (long polling), invoking the handler with an SQS event, then
deleting the records the handler did not report in ``batchItemFailures``. A failed record stays on the
queue and comes back once its visibility timeout passes (the worker shortens or lengthens it for
``Retry-After``); an invocation that raises deletes nothing.

The worker handler is re-entrant (its batch processor is per invocation), so the pollers call it side by
side, the way Lambda runs several containers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from local_stack.events import LambdaContext

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda SQS event for messages from ``ReceiveMessage`` (``AttributeNames=["All"]``)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class LocalQueueWorker:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        *,
        concurrency: int,
        batch_size: int,
        function_name: str = "managed-accounts-local-orders-worker",
        region: str = "us-east-1",
        wait_seconds: int = 1,
    ) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._handler = handler
        self._concurrency = concurrency
        self._batch_size = batch_size
        self._function_name = function_name
        self._region = region
        self._wait = wait_seconds
        self._arn = str(
            sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.invocations = 0
        self._count = threading.Lock()

    def start(self) -> None:
        for index in range(self._concurrency):
            thread = threading.Thread(target=self._poll, name=f"local-sqs-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._wait + 30)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a poller never dies: Lambda's pollers do not either
                log.exception("order-leg poller failed; retrying")
                self._stop.wait(1)

    def poll_once(self) -> int:
        """One receive and (if anything came) one invocation; the number of messages received."""
        response = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
        )
        messages = response.get("Messages") or []
        if not messages:
            return 0
        with self._count:
            self.invocations += 1
        context = LambdaContext(function_name=self._function_name, timeout_ms=60_000)
        try:
            answer = self._handler(sqs_event(messages, self._arn, self._region), context) or {}
        except Exception:
            log.exception("order-leg worker invocation failed; its messages come back after their visibility")
            return len(messages)
        failed = {f.get("itemIdentifier") for f in answer.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)
