"""Errors from Dfns, each carrying Dfns's error id (quote it to support) and HTTP status (DFNS.md §8)."""

from __future__ import annotations

from typing import Any


class DfnsError(Exception):
    """Dfns answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_id = error_id
        self.details = details or {}

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.error_id:
            parts.append(f"errorId={self.error_id}")
        return " ".join(parts)


class DfnsBadRequest(DfnsError):
    """400/422: the request is wrong; retrying it unchanged cannot help."""


class DfnsAuthError(DfnsError):
    """401/403: bad token, bad user-action signature, or a missing permission."""


class DfnsNotFound(DfnsError):
    """404."""


class DfnsConflict(DfnsError):
    """409: e.g. an ``externalId`` already bound to a different request."""

    @property
    def duplicate_id(self) -> str | None:
        duplicate = self.details.get("duplicate")
        return duplicate.get("id") if isinstance(duplicate, dict) else None


class DfnsRateLimited(DfnsError):
    """429 after the retry budget was spent."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class DfnsUnavailable(DfnsError):
    """5xx, timeouts, connection errors after the retry budget was spent.

    ``may_have_reached_dfns`` says whether a state-changing call could have taken effect anyway.
    """

    def __init__(self, message: str, *, may_have_reached_dfns: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.may_have_reached_dfns = may_have_reached_dfns
