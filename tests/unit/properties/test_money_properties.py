"""Money as text and as minimum units (domain/trading.py): an exact round trip, and every amount the
asset cannot hold exactly, or that is not a positive decimal number, refused."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from managed_accounts.domain.trading import format_units, to_minimum_units
from managed_accounts.errors import InvalidInput

DECIMALS = st.integers(min_value=0, max_value=36)
MAX_WHOLE = 10**30 - 1  # amounts have at most 30 whole digits


@st.composite
def amounts(draw: st.DrawFn, decimals: int) -> str:
    """A positive decimal amount as a client writes it: at most ``decimals`` significant decimals,
    possibly with leading or trailing zeros."""
    whole = draw(st.integers(min_value=0, max_value=10**12))
    places = draw(st.integers(min_value=0, max_value=decimals))
    fraction = draw(st.integers(min_value=0, max_value=10**places - 1)) if places else 0
    assume(whole or fraction)
    text = ("0" * draw(st.integers(0, 2))) + str(whole)
    if places:
        trailing = draw(st.integers(0, min(3, 36 - places)))  # a fraction has at most 36 digits
        text += "." + str(fraction).rjust(places, "0") + "0" * trailing
    return text


@given(st.data(), DECIMALS)
def test_units_survive_the_round_trip_through_text(data: st.DataObject, decimals: int) -> None:
    units = data.draw(st.integers(min_value=1, max_value=(MAX_WHOLE + 1) * 10**decimals - 1))
    text = format_units(units, decimals)
    assert to_minimum_units(text, decimals) == units
    assert format_units(to_minimum_units(text, decimals), decimals) == text  # canonical: a fixed point


@given(st.data(), DECIMALS)
def test_text_becomes_exactly_its_value_in_units(data: st.DataObject, decimals: int) -> None:
    text = data.draw(amounts(decimals))
    units = to_minimum_units(text, decimals)
    with localcontext() as exact:
        exact.prec = 100
        assert Decimal(units) == Decimal(text).scaleb(decimals)
        assert Decimal(format_units(units, decimals)) == Decimal(text)


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=18), st.data())
def test_more_decimals_than_the_asset_has_is_refused_not_rounded(
    whole: int, decimals: int, data: st.DataObject
) -> None:
    extra = data.draw(st.integers(min_value=1, max_value=9))  # a non-zero digit past the asset's places
    text = f"{whole}." + "0" * decimals + str(extra)
    with pytest.raises(InvalidInput, match="decimal places"):
        to_minimum_units(text, decimals)


@given(st.integers(min_value=0, max_value=6), st.integers(min_value=0, max_value=6), DECIMALS)
def test_zero_in_any_spelling_is_refused(leading: int, places: int, decimals: int) -> None:
    text = "0" * (leading + 1) + ("." + "0" * places if places else "")
    with pytest.raises(InvalidInput, match="more than zero"):
        to_minimum_units(text, decimals)


NOT_NUMBERS = ["", "-1", "-0.5", "+1", "1.", ".5", "1e5", "1E-3", "NaN", "nan", "inf", "Infinity",
               " 1", "1 ", "1,5", "0x10", "1_000", "１", "٣", "1.٥", "²"]  # fmt: skip


@given(st.text(max_size=12) | st.sampled_from(NOT_NUMBERS), DECIMALS)
@example("١", 18)  # an Arabic-Indic one: Python's \d and int() take it (found by this test)
@example("１.５", 6)  # fullwidth digits
def test_anything_but_ascii_digits_with_one_optional_point_is_refused(text: str, decimals: int) -> None:
    plain = text.replace(".", "", 1)
    assume(not (plain.isascii() and plain.isdigit() and not text.startswith(".") and not text.endswith(".")))
    with pytest.raises(InvalidInput):
        to_minimum_units(text, decimals)
