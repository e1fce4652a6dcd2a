"""Domain errors. The REST layer maps each to an HTTP status and ``{"error": {"code", "message"}}``."""

from __future__ import annotations


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"

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


class AccountNotReady(DomainError):
    status, code = 409, "account_not_ready"


class ConcurrentUpdate(DomainError):
    """A conditional write lost a race; the caller may retry."""

    status, code = 409, "concurrent_update"


class UpstreamUnavailable(DomainError):
    status, code = 503, "dfns_unavailable"


class UpstreamError(DomainError):
    status, code = 502, "dfns_error"
