"""The local SQS event-source mapping deletes what the worker handled and leaves failures to be retried."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from local_stack.queue_worker import QueuePoller, build_sqs_event, failed_ids


class FakeSqs:
    def __init__(self, bodies: list[str]) -> None:
        self.queued = [
            {"MessageId": f"m-{i}", "ReceiptHandle": f"r-{i}", "Body": body} for i, body in enumerate(bodies)
        ]
        self.deleted: list[str] = []

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:000000000000:legs"}}

    def receive_message(self, *, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        batch = [m for m in self.queued if m["ReceiptHandle"] not in self.deleted][:MaxNumberOfMessages]
        return {"Messages": batch} if batch else {}

    def delete_message(self, *, ReceiptHandle: str, **_: Any) -> None:
        self.deleted.append(ReceiptHandle)


class Worker:
    def __init__(self, result: Any = None, raises: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.result, self.raises = result, raises

    def load(self, function: str, module: str = "handler") -> ModuleType:
        return ModuleType(module)

    def invoke(
        self, function: str, event: dict[str, Any], *, module: str = "handler", entry: str = "handler"
    ):
        self.events.append(event)
        if self.raises:
            raise RuntimeError("worker crashed")
        return self.result


def _poller(worker: Worker, sqs: FakeSqs) -> QueuePoller:
    return QueuePoller(worker, sqs, "http://sqs/legs", function="orders", module="worker", batch_size=2)


def test_a_batch_arrives_as_an_sqs_event_and_is_deleted_after_success():
    sqs, worker = FakeSqs(["leg-1", "leg-2", "leg-3"]), Worker({"batchItemFailures": []})
    poller = _poller(worker, sqs)
    assert poller.poll_once() == 2
    records = worker.events[0]["Records"]
    assert [r["body"] for r in records] == ["leg-1", "leg-2"]
    assert records[0]["eventSource"] == "aws:sqs"
    assert records[0]["eventSourceARN"].endswith(":legs")
    assert poller.poll_once() == 1
    assert sqs.deleted == ["r-0", "r-1", "r-2"]
    assert poller.poll_once() == 0


def test_items_reported_as_failed_stay_on_the_queue():
    sqs = FakeSqs(["leg-1", "leg-2"])
    worker = Worker({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
    assert _poller(worker, sqs).poll_once() == 1
    assert sqs.deleted == ["r-0"]


def test_a_crashed_invocation_deletes_nothing():
    sqs = FakeSqs(["leg-1"])
    assert _poller(Worker(raises=True), sqs).poll_once() == 0
    assert sqs.deleted == []


def test_partial_batch_responses_are_read_defensively():
    assert failed_ids(None) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "a"}, "junk"]}) == {"a"}
    event = build_sqs_event([{"MessageId": "m", "ReceiptHandle": "r", "Body": "x"}], "arn")
    assert event["Records"][0]["md5OfBody"] == "9dd4e461268c8034f5c8564e155c67a6"
