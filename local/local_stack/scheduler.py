"""The local EventBridge Scheduler: fires the scheduled handlers (reconciliation, order runs) every N seconds.

Each job invokes the real handler with the event a schedule would send. A failing run is logged and
the next one happens on time, as with a real schedule (whose retries are the handler's business).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_stack.events import build_scheduler_event
from local_stack.invoker import Invoker

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
    next_at: float = 0.0
    runs: int = 0
    failures: int = 0
    last_result: Any = field(default=None, repr=False)


class LocalScheduler:
    def __init__(
        self,
        invoker: Invoker,
        jobs: list[ScheduledJob],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._invoker = invoker
        self._clock = clock
        self.jobs = jobs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        start = clock()
        for job in jobs:
            job.next_at = start + job.interval_seconds

    def run_due(self, now: float | None = None) -> list[str]:
        """Fire every job whose time has come; returns the names fired (in order)."""
        moment = self._clock() if now is None else now
        fired: list[str] = []
        for job in self.jobs:
            if job.next_at > moment:
                continue
            job.next_at = moment + job.interval_seconds
            fired.append(job.name)
            self.fire(job)
        return fired

    def fire(self, job: ScheduledJob) -> None:
        job.runs += 1
        try:
            event = dict(job.payload) if job.payload is not None else build_scheduler_event(job.name)
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
