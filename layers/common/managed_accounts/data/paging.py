"""Opaque cursors and DynamoDB page iteration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from managed_accounts.data import items as it
from managed_accounts.domain.report_models import InvalidQuery
from managed_accounts.domain.report_queries import open_cursor, seal_cursor
from managed_accounts.errors import InvalidInput


def encode_cursor(client_id: str, sort_key: str, prefix: str = it.REQUEST_PREFIX) -> str:
    """An opaque cursor for ``client_id`` after ``sort_key`` in the listing of ``prefix`` items."""
    return seal_cursor(client_id, prefix, {"sk": sort_key})


def decode_cursor(client_id: str, cursor: str, prefix: str = it.REQUEST_PREFIX) -> str:
    """The sort key a cursor from ``encode_cursor`` carries, if it was issued to ``client_id`` for the
    listing of ``prefix`` items and not edited since (found by property tests: a cursor was not bound to
    its owner, and any sort key edited into it was believed)."""
    try:
        sort_key = open_cursor(client_id, prefix, cursor).get("sk")
    except InvalidQuery as error:
        raise InvalidInput("cursor is not valid") from error
    if not isinstance(sort_key, str) or not sort_key.startswith(prefix):
        raise InvalidInput("cursor is not valid")
    return sort_key


def iter_pages(call: Callable[..., Any], **kwargs: Any) -> Iterator[it.Item]:
    """Every item of a query or scan, following ``LastEvaluatedKey``."""
    while True:
        response = call(**kwargs)
        yield from it.as_items(response.get("Items"))
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
