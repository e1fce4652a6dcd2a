"""The de-duplication store on moto: one claim per fact, expiry honoured, release undoes a claim."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from managed_accounts.data.dedupe import DEFAULT_TTL_SECONDS, DynamoDedupeStore

from tests.unit.webhooks.support import NOW, empty, event_items, moto_table


@pytest.fixture(scope="module")
def shared_table() -> Iterator[Any]:
    with moto_table() as table:
        yield table


@pytest.fixture
def table(shared_table: Any) -> Iterator[Any]:
    yield shared_table
    empty(shared_table)


def test_a_fact_is_claimed_once_and_stored_under_its_object(table: Any) -> None:
    store = DynamoDedupeStore(table, now=lambda: NOW)
    assert store.claim("ap-1", "Approved") is True
    assert store.claim("ap-1", "Approved") is False
    assert store.claim("ap-1", "Denied") is True
    assert store.seen("ap-1", "Approved")
    assert not store.seen("ap-2", "Approved")
    [item, _] = sorted(event_items(table), key=lambda i: str(i["SK"]))
    assert (item["PK"], item["SK"]) == ("EVENT#ap-1", "Approved")
    assert int(item["expiresAt"]) == int(NOW.timestamp()) + DEFAULT_TTL_SECONDS


def test_release_lets_the_fact_be_claimed_again(table: Any) -> None:
    store = DynamoDedupeStore(table, now=lambda: NOW)
    assert store.claim("xfr-1", "Confirmed")
    store.release("xfr-1", "Confirmed")
    assert not store.seen("xfr-1", "Confirmed")
    assert store.claim("xfr-1", "Confirmed")


def test_an_expired_fact_not_yet_swept_by_ttl_counts_as_absent(table: Any) -> None:
    clock = {"now": NOW}
    store = DynamoDedupeStore(table, ttl_seconds=60, now=lambda: clock["now"])
    assert store.claim("ap-1", "Approved")
    clock["now"] = NOW + timedelta(seconds=61)
    assert not store.seen("ap-1", "Approved")
    assert store.claim("ap-1", "Approved")
