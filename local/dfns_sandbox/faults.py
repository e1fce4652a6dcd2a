"""Injected faults, the optional per-minute rate limit and the request log (sandbox-only admin routes).

The rate limit counts every Dfns request (init and action included, §8) over a 60 s window on the real
wall clock: a client honouring ``Retry-After`` really sleeps, so the window must really pass.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import ApiError, bad_request
from dfns_sandbox.store import Json

_FIELDS = {
    "rate429": "rate429",
    "rate5xx": "rate5xx",
    "latencyMs": "latency_ms",
    "webhookDuplicateRate": "webhook_duplicate_rate",
    "webhookShuffle": "webhook_shuffle",
    "rateLimitPerMinute": "rate_limit_per_minute",
    "reserialize": "reserialize",
    "webhookDropKinds": "webhook_drop_kinds",
}


@dataclass(slots=True)
class Faults:
    rate429: float = 0.0
    rate5xx: float = 0.0
    latency_ms: int = 0
    webhook_duplicate_rate: float = 0.0
    webhook_shuffle: bool = False
    rate_limit_per_minute: int | None = None  # None (or 0 on the wire): no limit
    reserialize: bool = False  # policies stored and returned re-serialised (reserialize.py)
    # Event kinds never sent to any webhook (a whole kind lost): the product's reconciler must repair it.
    webhook_drop_kinds: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    _window_start: float = 0.0
    _window_count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> Json:
        return {wire: getattr(self, attr) for wire, attr in _FIELDS.items()}

    def update(self, body: Json) -> None:
        unknown = sorted(set(body) - set(_FIELDS) - {"seed"})
        if unknown:
            raise bad_request(f"unknown fields: {', '.join(unknown)}", fields=unknown)
        for wire, attr in _FIELDS.items():
            if wire in body:
                setattr(self, attr, _checked(wire, body[wire]))
        if "seed" in body:
            self.rng.seed(body["seed"])
        if "rateLimitPerMinute" in body:
            with self._lock:  # a new limit starts a new window
                self._window_start, self._window_count = 0.0, 0

    def rate_limit_headers(self) -> dict[str, str]:
        """Count this request in the window; 429 when over it. Returns the X-RateLimit-* headers."""
        limit = self.rate_limit_per_minute
        if limit is None:
            return {}
        with self._lock:
            now = time.time()
            if now >= self._window_start + 60:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            reset = self._window_start + 60
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(limit - self._window_count, 0)),
                "X-RateLimit-Reset": str(math.ceil(reset)),
            }
            if self._window_count > limit:
                headers["Retry-After"] = str(max(math.ceil(reset - now), 1))
                raise ApiError(429, "Too many requests", {"limit": limit}, headers)
        return headers

    def inject(self) -> None:
        """Random 429/5xx before the request touches any state."""
        if self.rate429 and self.rng.random() < self.rate429:
            headers = {
                "Retry-After": "1",
                "X-RateLimit-Limit": str(
                    self.rate_limit_per_minute or 1000
                ),  # 1000/min: Dfns's non-trial quota
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(time.time()) + 1),
            }
            raise ApiError(429, "Too many requests (injected)", {}, headers)
        if self.rate5xx and self.rng.random() < self.rate5xx:
            raise ApiError(self.rng.choice([500, 502, 503]), "Internal server error (injected)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flag(wire: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad_request(f"{wire} must be a boolean", field=wire)
    return value


def _rate_limit(wire: str, value: Any) -> int | None:
    if value is not None and not (_is_int(value) and value >= 0):
        raise bad_request("rateLimitPerMinute must be a non-negative integer or null", field=wire)
    return value or None  # 0 and null both remove the limit


def _event_kinds(wire: str, value: Any) -> list[str]:
    from dfns_sandbox.webhooks import EVENT_KINDS  # webhooks imports delivery, which refers to Faults

    if not (isinstance(value, list) and all(isinstance(k, str) and k in EVENT_KINDS for k in value)):
        raise bad_request(f"{wire} must list known webhook event kinds", field=wire)
    return sorted(set(value))


def _latency(wire: str, value: Any) -> int:
    if not (_is_int(value) and 0 <= value <= 60_000):
        raise bad_request("latencyMs must be an integer 0..60000", field=wire)
    return int(value)


def _rate(wire: str, value: Any) -> float:
    if not (isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1):
        raise bad_request(f"{wire} must be a number between 0 and 1", field=wire)
    return float(value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "webhookShuffle": _flag,
    "reserialize": _flag,
    "rateLimitPerMinute": _rate_limit,
    "latencyMs": _latency,
    "webhookDropKinds": _event_kinds,
}


def _checked(wire: str, value: Any) -> Any:
    check = _CHECKS.get(wire)
    return _rate(wire, value) if check is None else check(wire, value)


class RequestLog:
    """Every request (recent ones in full, counts per route template for all)."""

    def __init__(self, size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._recent: deque[Json] = deque(maxlen=size)
        self._counts: Counter[str] = Counter()
        self._total = 0

    def record(self, method: str, path: str, route: str, status: int, when: str) -> None:
        with self._lock:
            self._recent.append(
                {"method": method, "path": path, "route": route, "status": status, "date": when}
            )
            self._counts[route] += 1
            self._total += 1

    def snapshot(self) -> Json:
        with self._lock:
            return {"total": self._total, "counts": dict(self._counts), "requests": list(self._recent)}

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
            self._counts.clear()
            self._total = 0


def set_faults(ctx: Ctx) -> Reply:
    ctx.sb.faults.update(ctx.body(allow_empty=True))
    return ok(ctx.sb.faults.as_json())


def get_faults(ctx: Ctx) -> Reply:
    return ok(ctx.sb.faults.as_json())


def get_requests(ctx: Ctx) -> Reply:
    return ok(ctx.sb.requests.snapshot())


def clear_requests(ctx: Ctx) -> Reply:
    ctx.sb.requests.clear()
    return ok({})


def advance_clock(ctx: Ctx) -> Reply:
    body = ctx.body()
    seconds = body.get("advanceSeconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise bad_request("advanceSeconds must be a non-negative number", field="advanceSeconds")
    now = ctx.sb.advance(float(seconds))
    return ok({"now": iso(now)})


def read_clock(ctx: Ctx) -> Reply:
    return ok({"now": iso(ctx.sb.clock.now()), "realtime": ctx.sb.clock.realtime})


ROUTES = [
    Route("POST", "/sandbox/faults", set_faults, admin=True),
    Route("GET", "/sandbox/faults", get_faults, admin=True),
    Route("GET", "/sandbox/requests", get_requests, admin=True),
    Route("DELETE", "/sandbox/requests", clear_requests, admin=True),
    Route("POST", "/sandbox/clock", advance_clock, admin=True),
    Route("GET", "/sandbox/clock", read_clock, admin=True),
]
