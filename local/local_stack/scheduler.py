"""The local EventBridge Scheduler: fires the scheduled handlers (reconciliation, order runs) on time.

Each job invokes the real handler with the event a schedule would send. A job runs every
``interval_seconds``, or on a schedule ``expression`` (``rate(…)`` or ``cron(…)``, UTC: the order
run's comes from ``Settings.order_run_schedule``, as the CDK schedule's does). In a configured input
the context attribute ``<aws.scheduler.scheduled-time>`` becomes the slot's time, as EventBridge
Scheduler fills it in. A failing run is logged and the next one happens on time, as with a real
schedule (whose retries are the handler's business).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_stack.events import build_scheduler_event
from local_stack.invoker import Invoker
from local_stack.schedule_expression import next_fire, rate_seconds

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ScheduledJob:
    name: str  # the schedule's name, e.g. "reconcile"
    function: str  # folder under functions/
    module: str  # module in that folder, e.g. "reconciler"
    interval_seconds: float
    entry: str = "handler"
    # The schedule's configured input, sent as-is (as EventBridge Scheduler does); None: a Scheduled Event.
    payload: dict[str, Any] | None = None
    expression: str | None = None  # cron(...) fires on the wall clock (UTC); rate(...) sets the interval
    next_at: float = 0.0
    scheduled_at: datetime | None = None
    runs: int = 0
    failures: int = 0
    last_result: Any = field(default=None, repr=False)


def job_on_schedule(
    name: str, function: str, module: str, expression: str, payload: dict[str, Any] | None = None
) -> ScheduledJob:
    """A job that fires on an EventBridge Scheduler expression."""
    interval = rate_seconds(expression)
    return ScheduledJob(name, function, module, interval or 0.0, payload=payload, expression=expression)


def _with_scheduled_time(value: Any, moment: datetime) -> Any:
    if isinstance(value, dict):
        return {k: _with_scheduled_time(v, moment) for k, v in value.items()}
    if value == SCHEDULED_TIME:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


class LocalScheduler:
    def __init__(
        self,
        invoker: Invoker,
        jobs: list[ScheduledJob],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._invoker = invoker
        self._clock = clock
        self._wall_clock = wall_clock
        self.jobs = jobs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        start = clock()
        for job in jobs:
            self._schedule_next(job, start)

    def _schedule_next(self, job: ScheduledJob, moment: float) -> None:
        if job.expression is None or rate_seconds(job.expression) is not None:
            job.next_at = moment + job.interval_seconds
            job.scheduled_at = None
            return
        wall = self._wall_clock()
        job.scheduled_at = next_fire(job.expression, wall)
        job.next_at = moment + (job.scheduled_at - wall).total_seconds()

    def run_due(self, now: float | None = None) -> list[str]:
        """Fire every job whose time has come; returns the names fired (in order)."""
        moment = self._clock() if now is None else now
        fired: list[str] = []
        for job in self.jobs:
            if job.next_at > moment:
                continue
            slot = job.scheduled_at or self._wall_clock()
            self._schedule_next(job, moment)
            fired.append(job.name)
            self.fire(job, slot)
        return fired

    def fire(self, job: ScheduledJob, slot: datetime | None = None) -> None:
        job.runs += 1
        slot = slot or self._wall_clock()
        try:
            if job.payload is not None:
                event = _with_scheduled_time(job.payload, slot)
            else:
                event = build_scheduler_event(job.name, now=slot)
            job.last_result = self._invoker.invoke(job.function, event, module=job.module, entry=job.entry)
        except Exception:
            job.failures += 1
            log.exception("scheduled run %s failed", job.name)

    def start(self) -> None:
        if not self.jobs:
            return
        self._thread = threading.Thread(target=self._loop, name="local-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            wait = min(job.next_at for job in self.jobs) - self._clock()
            self._stop.wait(max(wait, 0.05))
