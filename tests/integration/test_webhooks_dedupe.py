"""The ``FactStore`` contract (webhook de-duplication): one claim per fact, release undoes a claim.

Each test runs on ``DynamoDedupeStore`` (moto) and on the in-memory store the unit tests use; expiry
is the DynamoDB store's own (the memory store keeps facts for the test's lifetime).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from managed_accounts.data.dedupe import DEFAULT_TTL_SECONDS, DynamoDedupeStore

from tests.fakes.answer_lost import AnswerLost
from tests.fakes.webhook_events import NOW, event_items
from tests.fakes.world import World


def test_a_fact_is_claimed_once(either_world: World) -> None:
    store = either_world.facts
    assert store.claim("ap-1", "Approved") is True
    assert store.claim("ap-1", "Approved") is False
    assert store.claim("ap-1", "Denied") is True
    assert store.seen("ap-1", "Approved")
    assert not store.seen("ap-2", "Approved")


def test_release_lets_the_fact_be_claimed_again(either_world: World) -> None:
    store = either_world.facts
    assert store.claim("xfr-1", "Confirmed")
    store.release("xfr-1", "Confirmed")
    assert not store.seen("xfr-1", "Confirmed")
    assert store.claim("xfr-1", "Confirmed")


def test_a_fact_is_stored_under_its_object_with_an_expiry(table: Any) -> None:
    store = DynamoDedupeStore(table, now=lambda: NOW)
    assert store.claim("ap-1", "Approved")
    [item] = event_items(table)
    assert (item["PK"], item["SK"]) == ("EVENT#ap-1", "Approved")
    assert int(item["expiresAt"]) == int(NOW.timestamp()) + DEFAULT_TTL_SECONDS


def test_an_expired_fact_not_yet_swept_by_ttl_counts_as_absent(table: Any) -> None:
    clock = {"now": NOW}
    store = DynamoDedupeStore(table, ttl_seconds=60, now=lambda: clock["now"])
    assert store.claim("ap-1", "Approved")
    clock["now"] = NOW + timedelta(seconds=61)
    assert not store.seen("ap-1", "Approved")
    assert store.claim("ap-1", "Approved")


def test_a_claim_applied_with_its_answer_lost_is_this_claim_not_a_duplicate(table: Any) -> None:
    lossy = DynamoDedupeStore(AnswerLost(table), now=lambda: NOW)  # type: ignore[arg-type]
    assert lossy.claim("ap-1", "Approved") is True
    rival = DynamoDedupeStore(table, now=lambda: NOW)
    assert rival.claim("ap-1", "Approved") is False  # another claim of the same fact still loses


def test_a_claim_whose_retries_all_fail_is_undone_so_the_webhooks_retry_can_act(table: Any) -> None:
    failing = DynamoDedupeStore(AnswerLost(table, retries_fail=True), now=lambda: NOW)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        failing.claim("ap-1", "Approved")
    store = DynamoDedupeStore(table, now=lambda: NOW)
    assert not store.seen("ap-1", "Approved")
    assert store.claim("ap-1", "Approved")
