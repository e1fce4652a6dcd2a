"""Dfns-shaped errors: ``{"error": {"id", "status", "message", "details"}}`` (DFNS.md §8)."""

from __future__ import annotations

import secrets
from typing import Any


class ApiError(Exception):
    """Raised anywhere in a route; the app turns it into Dfns's error body and status."""

    def __init__(
        self,
        status: int,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "id": secrets.token_hex(12),
                "status": self.status,
                "message": self.message,
                "details": self.details,
            }
        }


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, message, details)


def reject_unknown(body: dict[str, Any], allowed: set[str], where: str = "body") -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad_request(f"unknown fields in {where}: {', '.join(unknown)}", fields=unknown)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what} not found", {"id": ident})


def conflict(message: str, **details: Any) -> ApiError:
    return ApiError(409, message, details)


def forbidden(message: str, **details: Any) -> ApiError:
    return ApiError(403, message, details)
