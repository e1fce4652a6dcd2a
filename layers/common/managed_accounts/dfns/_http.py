"""Error mapping, retry decisions and round-trip statistics for the Dfns client (DFNS.md §8).

Kept free of endpoint knowledge so the retry rules can be read (and tested) in one place.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from managed_accounts.dfns.errors import (
    DfnsAuthError,
    DfnsBadRequest,
    DfnsConflict,
    DfnsError,
    DfnsNotFound,
    DfnsRateLimited,
    DfnsUnavailable,
)

# Why a round trip failed, as far as retrying is concerned:
# "not_sent": Dfns never saw the request (connect error, pool timeout): always safe to repeat.
# "rejected": Dfns saw it and refused to act (429): safe to repeat.
# "maybe_done": Dfns may have acted (5xx, read/write timeout, dropped connection): repeat idempotent
#               calls only.
FailureKind = Literal["not_sent", "rejected", "maybe_done"]

_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(slots=True)
class RoundTripStats:
    """Round trips per ``"METHOD /route"`` (route templates, e.g. ``PUT /v2/policies/{policyId}``).

    Every HTTP exchange counts, including ``/auth/action/init``, ``/auth/action`` and retries; the
    benchmarks read it to check the round-trip budget of each operation.
    """

    counts: Counter[str] = field(default_factory=Counter)

    def record(self, method: str, route: str) -> None:
        self.counts[f"{method} {route}"] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.counts.clear()


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed round trip: the error to raise if it is the last, and whether it may be retried."""

    error: DfnsError
    kind: FailureKind
    retry_after: float | None = None


_ERROR_BY_STATUS: dict[int, type[DfnsError]] = {
    400: DfnsBadRequest,
    422: DfnsBadRequest,
    401: DfnsAuthError,
    403: DfnsAuthError,
    404: DfnsNotFound,
    409: DfnsConflict,
}


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not used by Dfns and is ignored)."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return max(value, 0.0)


def error_from_response(response: httpx.Response, *, method: str, route: str) -> DfnsError:
    """The typed error for a non-2xx answer, carrying Dfns's error id, message and details."""
    body = _error_body(response)
    status = response.status_code
    message = str(body.get("message") or response.reason_phrase or "Dfns error")
    error_id = body.get("id")
    details = body.get("details")
    kwargs: dict[str, Any] = {
        "status": status,
        "error_id": str(error_id) if error_id is not None else None,
        "details": details if isinstance(details, dict) else None,
    }
    text = f"{method} {route}: {message}"
    if status == 429:
        return DfnsRateLimited(text, retry_after=retry_after_seconds(response), **kwargs)
    if status >= 500:
        return DfnsUnavailable(text, may_have_reached_dfns=True, **kwargs)
    return _ERROR_BY_STATUS.get(status, DfnsError)(text, **kwargs)


def classify_response(response: httpx.Response, *, method: str, route: str) -> Failure | None:
    """``None`` for a success (2xx); otherwise the failure and whether a retry could help."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    error = error_from_response(response, method=method, route=route)
    if status == 429:
        return Failure(error, "rejected", retry_after_seconds(response))
    if status >= 500:
        return Failure(error, "maybe_done")
    # Other 4xx: the same request gets the same answer; may_retry never repeats these.
    return Failure(error, "maybe_done")


def is_retryable_status(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


def classify_exception(exc: httpx.TransportError, *, method: str, route: str) -> Failure:
    """A transport error: before the request left (safe) or after (Dfns may have acted)."""
    if isinstance(exc, _NOT_SENT_ERRORS):
        error = DfnsUnavailable(f"{method} {route}: cannot reach Dfns ({type(exc).__name__})")
        return Failure(error, "not_sent")
    error = DfnsUnavailable(
        f"{method} {route}: no answer from Dfns ({type(exc).__name__})", may_have_reached_dfns=True
    )
    return Failure(error, "maybe_done")


def may_retry(failure: Failure, *, idempotent: bool) -> bool:
    """Whether repeating the call is both useful and safe."""
    if not is_retryable_status(failure.error.status):
        return False
    return failure.kind in ("not_sent", "rejected") or idempotent
