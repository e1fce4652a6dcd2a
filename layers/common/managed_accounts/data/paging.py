"""Opaque cursors and DynamoDB page iteration."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from typing import Any

from managed_accounts.data import items as it
from managed_accounts.errors import InvalidInput


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": sort_key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, prefix: str = it.REQUEST_PREFIX) -> str:
    """The sort key a cursor from ``encode_cursor`` carries, if it is one of ``prefix`` (a cursor of
    one listing is refused by another)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort_key = json.loads(raw)["sk"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
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
