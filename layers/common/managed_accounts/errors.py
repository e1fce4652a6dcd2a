"""Domain errors. The REST layer maps each to an HTTP status and ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from managed_accounts.dfns.errors import DfnsError, DfnsRateLimited, DfnsUnavailable


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After: the same call may succeed then

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    status, code = 422, "invalid_input"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    status, code = 409, "conflict"


class AlreadyPending(Conflict):
    """The address already has a request in flight (queued or submitted)."""


class RequestInProgress(Conflict):
    """The same Idempotency-Key's call is still running, or its in-progress record is left over from an
    invocation that failed (e.g. a write that took effect but was answered with an error): retrying the
    same call shortly answers it. Its own code and a Retry-After tell a client so, unlike a business
    conflict, which no retry resolves."""

    code = "request_in_progress"
    retry_after = 1


class AccountNotReady(DomainError):
    status, code = 409, "account_not_ready"


class ConcurrentUpdate(DomainError):
    """A conditional write lost a race; the caller may retry."""

    status, code = 409, "concurrent_update"


class UpstreamUnavailable(DomainError):
    status, code = 503, "dfns_unavailable"


class UpstreamError(DomainError):
    status, code = 502, "dfns_error"


def from_dfns(error: DfnsError) -> DomainError:
    """A Dfns failure as the product's error: 503 when trying again later can help (outage, rate
    limit), 502 otherwise."""
    if isinstance(error, DfnsUnavailable | DfnsRateLimited):
        return UpstreamUnavailable("Dfns is unavailable; try again shortly")
    reference = f" (Dfns error id {error.error_id})" if error.error_id else ""
    return UpstreamError(f"Dfns refused the operation{reference}")


def may_have_taken_effect(error: DfnsError) -> bool:
    """Whether a state-changing Dfns call that failed could still have been applied by Dfns."""
    if isinstance(error, DfnsUnavailable):
        return error.may_have_reached_dfns
    return False
