"""The local scheduler fires each job on its interval with a scheduler event; a failing run never stops it."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from local_stack.scheduler import LocalScheduler, ScheduledJob


class RecordingInvoker:
    def __init__(self, failing: set[str] | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.failing = failing or set()

    def load(self, function: str, module: str = "handler") -> ModuleType:
        return ModuleType(module)

    def invoke(
        self, function: str, event: dict[str, Any], *, module: str = "handler", entry: str = "handler"
    ):
        self.calls.append((function, module, event))
        if module in self.failing:
            raise RuntimeError("Dfns down")
        return {"checked": 1}


def _scheduler(invoker: RecordingInvoker, now: float = 0.0) -> tuple[LocalScheduler, list[ScheduledJob]]:
    clock = {"now": now}
    jobs = [
        ScheduledJob("reconcile", "webhooks", "reconciler", interval_seconds=10),
        ScheduledJob("order-run", "orders", "planner", interval_seconds=30),
    ]
    return LocalScheduler(invoker, jobs, clock=lambda: clock["now"]), jobs


def test_nothing_fires_before_the_first_interval():
    invoker = RecordingInvoker()
    scheduler, _ = _scheduler(invoker)
    assert scheduler.run_due(9.9) == []
    assert invoker.calls == []


def test_each_job_fires_on_its_own_interval_with_a_scheduler_event():
    invoker = RecordingInvoker()
    scheduler, jobs = _scheduler(invoker)
    assert scheduler.run_due(10) == ["reconcile"]
    assert scheduler.run_due(15) == []
    assert scheduler.run_due(20) == ["reconcile"]
    assert scheduler.run_due(30) == ["reconcile", "order-run"]
    function, module, event = invoker.calls[0]
    assert (function, module) == ("webhooks", "reconciler")
    assert event["detail-type"] == "Scheduled Event"
    assert jobs[0].runs == 3
    assert jobs[0].last_result == {"checked": 1}


def test_a_configured_input_is_sent_as_is():
    invoker = RecordingInvoker()
    job = ScheduledJob("reconcile", "webhooks", "reconciler", 10, payload={"task": "reconcile"})
    scheduler = LocalScheduler(invoker, [job], clock=lambda: 0.0)
    scheduler.run_due(10)
    assert invoker.calls[0][2] == {"task": "reconcile"}


def test_a_failing_run_is_counted_and_the_next_runs_still_happen():
    invoker = RecordingInvoker(failing={"reconciler"})
    scheduler, jobs = _scheduler(invoker)
    scheduler.run_due(10)
    scheduler.run_due(20)
    assert jobs[0].runs == 2
    assert jobs[0].failures == 2
    assert scheduler.run_due(30) == ["reconcile", "order-run"]
    assert jobs[1].failures == 0


def test_start_and_stop_return_promptly_with_no_jobs():
    scheduler = LocalScheduler(RecordingInvoker(), [])
    scheduler.start()
    scheduler.stop()
