"""The sandbox clock: every time-based behaviour (lifecycle, expiry, velocity windows) reads it.

Frozen mode (the default for tests) only moves when told to (``POST /sandbox/clock``), so tests never
depend on wall time. Real-time mode follows the wall clock plus any advance, so ``make run`` shows progress.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SandboxClock:
    def __init__(self, *, realtime: bool = False, start: datetime | None = None) -> None:
        self._realtime = realtime
        self._base = start or datetime.now(UTC)
        self._wall_at_base = datetime.now(UTC)
        self._offset = timedelta()
        self._lock = threading.Lock()

    @property
    def realtime(self) -> bool:
        return self._realtime

    def now(self) -> datetime:
        with self._lock:
            if self._realtime:
                return datetime.now(UTC) + self._offset
            return self._base + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, as Dfns writes dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
