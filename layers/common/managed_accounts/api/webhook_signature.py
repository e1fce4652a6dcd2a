"""Authenticating a Dfns webhook delivery before anything in it is believed (DFNS.md §7.4).

Order matters: size first (cheap, no secret needed), then the HMAC over the raw body bytes, and only
then any JSON work; last the replay window on ``timestampSent``. No fallback over a re-serialised form:
it would mean parsing unauthenticated input. Dfns's examples re-serialise the parsed event compactly
(``JSON.stringify``), which is the body it sends, so the raw bytes are what is signed (DFNS.md §7.4).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

SIGNATURE_HEADER = "x-dfns-webhook-signature"
# Dfns events are small JSON documents; anything this large is not one of them.
MAX_BODY_BYTES = 256 * 1024


class WebhookRejected(Exception):
    """The delivery is refused with ``status``; nothing was acted on."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value by case-insensitive name (API Gateway may keep or lower-case header names)."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def sign(body: bytes, secret: str) -> str:
    """The header value Dfns sends for ``body``: ``sha256=<lowercase hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _matches(body: bytes, secret: str, presented: bytes) -> bool:
    return hmac.compare_digest(sign(body, secret).encode("ascii"), presented)


def _parse_object(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def check_size(size: int) -> None:
    """First check of all: refuse oversized bodies before any hashing or parsing."""
    if size > MAX_BODY_BYTES:
        raise WebhookRejected(413, "payload_too_large", f"webhook body over {MAX_BODY_BYTES} bytes")


def verify_signature(raw_body: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The parsed payload if ``signature`` authenticates ``raw_body``; otherwise ``WebhookRejected``.
    Nothing but the size and the HMAC touches the bytes before they are authenticated."""
    check_size(len(raw_body))
    if not signature or not signature.strip():
        raise WebhookRejected(401, "missing_signature", "X-DFNS-WEBHOOK-SIGNATURE is required")
    # Hex is case-insensitive; bytes (not str) so a non-ASCII header cannot make compare_digest raise.
    presented = signature.strip().lower().encode("utf-8", errors="replace")
    if not _matches(raw_body, secret, presented):
        raise WebhookRejected(401, "bad_signature", "the webhook signature does not match")
    payload = _parse_object(raw_body)
    if payload is None:
        raise WebhookRejected(400, "malformed_event", "the webhook body is not a JSON object")
    return payload


def timestamp_of(payload: Mapping[str, Any]) -> float | None:
    """``timestampSent`` (Unix seconds) if present and finite."""
    sent = payload.get("timestampSent")
    # json.loads accepts NaN, which compares false with everything: refuse non-finite values outright.
    if isinstance(sent, bool) or not isinstance(sent, int | float) or not math.isfinite(sent):
        return None
    return float(sent)


def check_freshness(payload: Mapping[str, Any], *, now: datetime, tolerance_seconds: int) -> None:
    """Refuse replays: ``timestampSent`` (Unix seconds) must be within the window, strictly."""
    sent = timestamp_of(payload)
    if sent is None:
        raise WebhookRejected(400, "missing_timestamp", "timestampSent (Unix seconds) is required")
    if abs(now.timestamp() - sent) >= tolerance_seconds:
        raise WebhookRejected(401, "stale_event", f"timestampSent is outside the {tolerance_seconds}s window")
