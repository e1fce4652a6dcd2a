"""Reading the query of a report route: dates, periods, page sizes, formats and opaque cursors.

Every problem is a 400 ``invalid_query`` that names it (DESIGN.md §3: bad input gets a clear 4xx). A
cursor is base64url JSON whose tag binds its state to its owner's client id and its listing: it opens
only for the client and the listing it was issued for, and not at all once edited, so a cursor is never
a way into another client's data (it could not be anyway: every read is scoped to the caller's own
partition and wallet).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from managed_accounts.domain.report_models import InvalidQuery, ReportPeriod

MAX_SPAN = timedelta(days=366)
MAX_LIMIT = 100
StatementFormat = Literal["json", "csv"]
FORMATS: tuple[StatementFormat, ...] = ("json", "csv")


# The moments a report may name. Far enough from the calendar's ends that a period's arithmetic (a day
# added, a year taken) cannot overflow: 9999-12-31 as ``to`` was a 500 (found by property tests).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def parse_moment(text: str, name: str, *, end_of_day: bool = False) -> datetime:
    """ISO-8601: a date (``2026-01-31``: the day's start, or the next day's start for ``end_of_day``)
    or a date-time (an offset or ``Z``; none means UTC), from 1970 to 8999."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            if end_of_day and day.year < LATEST.year:
                moment += timedelta(days=1)
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
            moment = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        raise InvalidQuery(f"{name} is not an ISO-8601 date or date-time (e.g. 2026-01-31)") from None
    except OverflowError:  # an offset that moves the moment off the calendar's ends
        moment = LATEST
    if not EARLIEST <= moment < LATEST:
        raise InvalidQuery(f"{name} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return moment


def parse_period(start: str | None, end: str | None, *, now: datetime, default_days: int) -> ReportPeriod:
    """``[from, to)``: ``to`` defaults to now, ``from`` to ``default_days`` before ``to``; ``from`` must
    come before ``to`` and the span stay within 366 days."""
    period_end = parse_moment(end, "to", end_of_day=True) if end else now
    # EARLIEST is far enough from the calendar's start for the default span to fit.
    period_start = parse_moment(start, "from") if start else period_end - timedelta(days=default_days)
    if period_start >= period_end:
        raise InvalidQuery("from must be before to")
    if period_end - period_start > MAX_SPAN:
        raise InvalidQuery("the period spans more than 366 days; ask for a shorter one")
    return ReportPeriod(period_start, period_end)


def parse_limit(text: str | None, *, default: int = 20) -> int:
    if text is None or text == "":
        return default
    # ASCII digits only: str.isdigit() is true for "²", which int() refuses (a 500, found by fuzzing).
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def parse_format(text: str | None) -> StatementFormat:
    value = (text or "json").strip().lower()
    for known in FORMATS:
        if value == known:
            return known
    raise InvalidQuery("format must be csv or json")


def _tag(client_id: str, kind: str, state_json: str) -> str:
    """Binds a cursor's state to its owner and kind: any edit to either changes it."""
    return hashlib.sha256(f"cursor\n{client_id}\n{kind}\n{state_json}".encode()).hexdigest()[:32]


def _state_json(state: Any) -> str:
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


def seal_cursor(client_id: str, kind: str, state: dict[str, Any]) -> str:
    """An opaque cursor of ``kind`` for ``client_id``."""
    payload = {"k": kind, "s": state, "t": _tag(client_id, kind, _state_json(state))}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def open_cursor(client_id: str, kind: str, cursor: str) -> dict[str, Any]:
    """The state inside a cursor issued to ``client_id`` for ``kind``; 400 for anything else: another
    client's cursor, another listing's, or one edited in any way (found by property tests: the state of
    a cursor could be edited and was believed). The tag is a check, not a secret: what a forged cursor
    could reach is still only the caller's own partition."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidQuery("cursor is not valid") from None
    if (
        not isinstance(payload, dict)
        or payload.get("k") != kind
        or not isinstance(payload.get("s"), dict)
        or not isinstance(payload.get("t"), str)
        or not hmac.compare_digest(payload["t"], _tag(client_id, kind, _state_json(payload["s"])))
        or cursor != seal_cursor(client_id, kind, payload["s"])  # one spelling per cursor
    ):
        raise InvalidQuery("cursor is not valid")
    state: dict[str, Any] = payload["s"]
    return state
