"""EventBridge Scheduler expressions, for the local scheduler: ``rate(…)`` and ``cron(…)`` (UTC).

``rate(5 minutes)``, ``rate(1 hour)``, ``rate(2 days)``; ``cron(minutes hours day-of-month month
day-of-week year)`` with ``*``, ``?``, numbers, lists (``1,15``), ranges (``MON-FRI``), steps (``0/15``)
and day/month names, as the AWS documentation describes them. Not supported locally: ``L``, ``W``,
``#`` (rejected with a message rather than misread).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_HORIZON_DAYS = 366 * 5
_SPECIAL = re.compile(r"L|LW|L-\d+|\d+[LW]")  # last day, weekday nearest: not supported locally


class ScheduleExpressionError(ValueError):
    pass


def rate_seconds(expression: str) -> float | None:
    """The interval of a ``rate(…)`` expression; None for a ``cron(…)``."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        return None
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    if count < 1:
        raise ScheduleExpressionError("a rate needs a positive value")
    return float(count * _UNIT_SECONDS[unit])


def next_fire(expression: str, after: datetime) -> datetime:
    """The first moment strictly after ``after`` (UTC) that ``expression`` fires."""
    interval = rate_seconds(expression)
    if interval is not None:
        return after + timedelta(seconds=interval)
    return _Cron.parse(expression).next_after(after.astimezone(UTC))


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    if text in ("*", "?"):
        return frozenset(range(low, high + 1))
    values: set[int] = set()
    for part in text.split(","):
        values |= _part(part, low, high, names or {})
    return frozenset(values)


def _part(part: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    if "#" in part or _SPECIAL.fullmatch(part.upper()):
        raise ScheduleExpressionError(f"{part!r}: L, W and # are not supported by the local scheduler")
    base, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if base in ("*", "?"):
        start, end = low, high
    elif "-" in base:
        first, last = base.split("-", 1)
        start, end = _value(first, names), _value(last, names)
    else:
        start = _value(base, names)
        end = high if step_text else start
    if not (low <= start <= high and low <= end <= high) or step < 1:
        raise ScheduleExpressionError(f"{part!r} is out of range {low}-{high}")
    return set(range(start, end + 1, step))


def _value(text: str, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise ScheduleExpressionError(f"{text!r} is not a number or a name")
    return int(text)


class _Cron:
    def __init__(self, fields: list[frozenset[int]], any_dom: bool, any_dow: bool) -> None:
        self.minutes, self.hours, self.days, self.months, self.weekdays, self.years = fields
        self.any_dom, self.any_dow = any_dom, any_dow

    @classmethod
    def parse(cls, expression: str) -> _Cron:
        inner = re.fullmatch(r"cron\((.+)\)", expression.strip())
        parts = inner.group(1).split() if inner else []
        if len(parts) != 6:
            raise ScheduleExpressionError(f"{expression!r}: expected rate(...) or cron(6 fields)")
        minute, hour, dom, month, dow, year = parts
        fields = [
            _field(minute, 0, 59),
            _field(hour, 0, 23),
            _field(dom, 1, 31),
            _field(month, 1, 12, _MONTHS),
            _field(dow, 1, 7, _DAYS),
            _field(year, 1970, 2199),
        ]
        return cls(fields, dom in ("*", "?"), dow in ("*", "?"))

    def _day_matches(self, day: date) -> bool:
        weekday = day.isoweekday() % 7 + 1  # SUN=1 … SAT=7
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.any_dom or self.any_dow:
            return day.day in self.days and weekday in self.weekdays
        return day.day in self.days or weekday in self.weekdays

    def next_after(self, after: datetime) -> datetime:
        start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for offset in range(_HORIZON_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if moment >= start:
                        return moment
        raise ScheduleExpressionError("the expression never fires in the next five years")
