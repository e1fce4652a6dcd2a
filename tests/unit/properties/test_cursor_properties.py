"""Paging cursors of every client listing (destination requests, orders, activity, audit): a cursor opens
only for the client it was issued to and the listing it came from, and not at all once edited."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from managed_accounts.data import audit_items, orders_items
from managed_accounts.data import items as request_items
from managed_accounts.data.audit_repository import decode_audit_cursor, encode_audit_cursor
from managed_accounts.data.paging import decode_cursor, encode_cursor
from managed_accounts.domain.activity import CURSOR_KIND as ACTIVITY
from managed_accounts.domain.report_queries import open_cursor, seal_cursor
from managed_accounts.errors import DomainError

CLIENTS = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,39}\Z")
KEY_TAIL = st.text(alphabet=string.ascii_letters + string.digits + "#:.-_", max_size=40)
BASE64URL = string.ascii_letters + string.digits + "-_"


def _requests(owner: str, tail: str) -> tuple[str, Callable[[str, str], Any]]:
    key = request_items.REQUEST_PREFIX + tail
    return encode_cursor(owner, key), decode_cursor


def _orders(owner: str, tail: str) -> tuple[str, Callable[[str, str], Any]]:
    key = orders_items.ORDER_PREFIX + tail
    cursor = encode_cursor(owner, key, orders_items.ORDER_PREFIX)
    return cursor, lambda client, c: decode_cursor(client, c, orders_items.ORDER_PREFIX)


def _activity(owner: str, tail: str) -> tuple[str, Callable[[str, str], Any]]:
    state = {"history": [tail or None, 3, False], "transfers": [None, 0, True]}
    return seal_cursor(owner, ACTIVITY, state), lambda client, c: open_cursor(client, ACTIVITY, c)


def _audit(owner: str, tail: str) -> tuple[str, Callable[[str, str], Any]]:
    key = audit_items.AUDIT_PREFIX + tail
    return encode_audit_cursor(owner, key), decode_audit_cursor


LISTINGS = {"requests": _requests, "orders": _orders, "activity": _activity, "audit": _audit}
listing = pytest.mark.parametrize("make", LISTINGS.values(), ids=LISTINGS.keys())


@listing
@given(owner=CLIENTS, tail=KEY_TAIL)
def test_a_cursor_opens_for_its_owner(make: Any, owner: str, tail: str) -> None:
    cursor, open_for = make(owner, tail)
    assert open_for(owner, cursor) is not None
    assert set(cursor) <= set(BASE64URL)  # safe in a query string as it is


@listing
@given(owner=CLIENTS, other=CLIENTS, tail=KEY_TAIL)
def test_a_cursor_minted_for_one_client_is_refused_to_another(
    make: Any, owner: str, other: str, tail: str
) -> None:
    assume(owner != other)
    cursor, open_for = make(owner, tail)
    with pytest.raises(DomainError, match="cursor is not valid"):
        open_for(other, cursor)


@listing
@given(owner=CLIENTS, tail=KEY_TAIL, data=st.data())
def test_any_edited_character_makes_a_cursor_invalid(
    make: Any, owner: str, tail: str, data: st.DataObject
) -> None:
    cursor, open_for = make(owner, tail)
    position = data.draw(st.integers(min_value=0, max_value=len(cursor) - 1))
    replacement = data.draw(st.sampled_from(BASE64URL).filter(lambda c: c != cursor[position]))
    edited = cursor[:position] + replacement + cursor[position + 1 :]
    with pytest.raises(DomainError, match="cursor is not valid"):
        open_for(owner, edited)


@listing
@given(
    owner=CLIENTS,
    tail=KEY_TAIL,
    cut=st.integers(min_value=1, max_value=8),
    extra=st.text(BASE64URL, max_size=4),
)
def test_a_shortened_or_extended_cursor_is_invalid(
    make: Any, owner: str, tail: str, cut: int, extra: str
) -> None:
    cursor, open_for = make(owner, tail)
    for edited in (cursor[:-cut], cursor + extra if extra else cursor + "A"):
        with pytest.raises(DomainError, match="cursor is not valid"):
            open_for(owner, edited)


@given(owner=CLIENTS, tail=KEY_TAIL)
def test_one_listings_cursor_is_refused_by_every_other(owner: str, tail: str) -> None:
    made = {name: make(owner, tail) for name, make in LISTINGS.items()}
    for name, (cursor, _) in made.items():
        for other, (_, open_for) in made.items():
            if other != name:
                with pytest.raises(DomainError, match="cursor is not valid"):
                    open_for(owner, cursor)


@listing
@given(owner=CLIENTS, text=st.text(max_size=60) | st.text(BASE64URL, max_size=120))
def test_any_text_is_a_cursor_or_a_4xx(make: Any, owner: str, text: str) -> None:
    _, open_for = make(owner, "")
    status = 200
    try:
        open_for(owner, text)
    except DomainError as error:
        status = error.status
    assert status == 200 or 400 <= status < 500
