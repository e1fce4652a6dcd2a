"""The report routes' query text (domain/report_queries.py): whatever a client sends as a date, a period
or a page size is either understood or a 400 ``invalid_query``, never an exception of another kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from managed_accounts.domain.report_models import InvalidQuery
from managed_accounts.domain.report_queries import MAX_LIMIT, MAX_SPAN, parse_limit, parse_period

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# Text shaped like what a client may type: ISO dates and date-times anywhere in the calendar, any
# offset, and anything at all.
MOMENTS = (
    st.dates().map(str)
    | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    | st.datetimes().map(lambda d: d.isoformat() + "Z")
    | st.text(max_size=30)
)


@given(st.text(max_size=8))
@example("²")  # str.isdigit() is true for it and int() refuses it: a 500 (found by fuzzing)
@example("٣")  # an Arabic-Indic three: int() takes it, the API should not
@example("１")
def test_a_page_size_is_one_to_a_hundred_in_ascii_digits_or_a_400(text: str) -> None:
    try:
        limit = parse_limit(text)
    except InvalidQuery:
        assert not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT)
        return
    assert text == "" or (text.isascii() and text.isdigit() and limit == int(text))
    assert 1 <= limit <= MAX_LIMIT


@given(st.none() | MOMENTS, st.none() | MOMENTS)
@example(None, "9999-12-31")  # the day after the last date: an OverflowError, a 500 (found by this test)
@example("0001-01-01T00:00:00+01:00", None)  # before the first UTC instant
@example(None, "0001-01-05")  # a default `from` 366 days before the calendar starts
def test_a_period_is_understood_or_refused_with_a_400(start: str | None, end: str | None) -> None:
    try:
        period = parse_period(start, end, now=NOW, default_days=30)
    except InvalidQuery:
        return
    assert period.start < period.end
    assert period.end - period.start <= MAX_SPAN
    assert period.start.tzinfo is not None


def test_a_date_far_outside_the_calendar_the_product_knows_is_named_in_the_refusal() -> None:
    with pytest.raises(InvalidQuery, match="between"):
        parse_period(None, "9999-12-31", now=NOW, default_days=30)
    with pytest.raises(InvalidQuery, match="between"):
        parse_period("0001-01-01", None, now=NOW, default_days=30)
