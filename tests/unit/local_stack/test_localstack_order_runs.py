"""The local stack's order-run parts: schedule expressions, the scheduled order run's input, and the
local SQS event source (bounded pollers, partial batch failures)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from local_stack.queue_worker import LocalQueueWorker
from local_stack.schedule_expression import ScheduleExpressionError, next_fire, rate_seconds
from local_stack.scheduler import LocalScheduler, job_on_schedule
from local_stack.stack import ORDER_RUN_INPUT, StackConfig, scheduled_jobs
from moto import mock_aws

MONDAY = datetime(2026, 1, 5, 13, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(5 minutes)", MONDAY, datetime(2026, 1, 5, 14, 4, 30, tzinfo=UTC)),
        ("rate(1 day)", MONDAY, datetime(2026, 1, 6, 13, 59, 30, tzinfo=UTC)),
        ("cron(0 14 ? * MON-FRI *)", MONDAY, datetime(2026, 1, 5, 14, 0, tzinfo=UTC)),
        (
            "cron(0 14 ? * MON-FRI *)",
            datetime(2026, 1, 9, 14, 0, tzinfo=UTC),
            datetime(2026, 1, 12, 14, 0, tzinfo=UTC),
        ),
        ("cron(0/15 * * * ? *)", MONDAY, datetime(2026, 1, 5, 14, 0, tzinfo=UTC)),
        ("cron(30 9 1 JAN,JUL ? *)", MONDAY, datetime(2026, 7, 1, 9, 30, tzinfo=UTC)),
        ("cron(0 8 ? * SUN 2026)", MONDAY, datetime(2026, 1, 11, 8, 0, tzinfo=UTC)),
    ],
)
def test_schedule_expressions_fire_when_eventbridge_scheduler_would(
    expression: str, after: datetime, expected: datetime
) -> None:
    assert next_fire(expression, after) == expected


@pytest.mark.parametrize(
    "expression",
    ["every day", "cron(0 14 * *)", "cron(0 25 * * ? *)", "cron(0 14 L * ? *)", "cron(0 0 1 1 ? 2020)"],
)
def test_expressions_the_local_scheduler_cannot_honour_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        next_fire(expression, MONDAY)


def test_rates_are_intervals() -> None:
    assert rate_seconds("rate(1 hour)") == 3600
    assert rate_seconds("cron(0 14 ? * MON-FRI *)") is None


class RecordingInvoker:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def load(self, function: str, module: str = "handler") -> ModuleType:
        return ModuleType(module)

    def invoke(
        self, function: str, event: dict[str, Any], *, module: str = "handler", entry: str = "handler"
    ) -> Any:
        self.calls.append((function, module, event))
        return {}


def test_the_order_run_fires_on_its_cron_with_the_slot_as_scheduled_time() -> None:
    invoker = RecordingInvoker()
    wall = {"now": MONDAY}
    monotonic = {"now": 0.0}
    job = job_on_schedule("order-run", "orders", "planner", "cron(0 14 ? * MON-FRI *)", dict(ORDER_RUN_INPUT))
    scheduler = LocalScheduler(invoker, [job], clock=lambda: monotonic["now"], wall_clock=lambda: wall["now"])

    assert scheduler.run_due(29) == []
    wall["now"] = datetime(2026, 1, 5, 14, 0, 1, tzinfo=UTC)
    assert scheduler.run_due(31) == ["order-run"]

    function, module, event = invoker.calls[0]
    assert (function, module) == ("orders", "planner")
    assert event == {"source": "schedule", "task": "order-run", "scheduledTime": "2026-01-05T14:00:00Z"}
    assert job.scheduled_at == datetime(2026, 1, 6, 14, 0, tzinfo=UTC)  # the next weekday


def test_the_stack_schedules_the_order_run_from_its_configured_expression(tmp_path: Any) -> None:
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "planner.py").write_text("")
    jobs = scheduled_jobs(StackConfig(), tmp_path, order_run_schedule="rate(2 minutes)")
    assert [(j.name, j.function, j.module, j.interval_seconds, j.expression) for j in jobs] == [
        ("order-run", "orders", "planner", 120, "rate(2 minutes)")
    ]
    assert jobs[0].payload == ORDER_RUN_INPUT


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def test_the_local_event_source_deletes_what_succeeded_and_keeps_what_failed(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="legs", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    for i in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=f'{{"n": {i}}}')
    seen: list[int] = []
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        import json

        failures = []
        for record in event["Records"]:
            n = json.loads(record["body"])["n"]
            with lock:
                seen.append(n)
            if n == 3:
                failures.append({"itemIdentifier": record["messageId"]})
        assert context.get_remaining_time_in_millis() > 0
        return {"batchItemFailures": failures}

    worker = LocalQueueWorker(sqs, url, handler, concurrency=2, batch_size=10, wait_seconds=0)
    while worker.poll_once():
        pass

    assert sorted(seen) == list(range(12))
    assert worker.invocations >= 2  # at most ten a batch
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # the failed one waits its turn
    assert attributes["ApproximateNumberOfMessages"] == "0"
