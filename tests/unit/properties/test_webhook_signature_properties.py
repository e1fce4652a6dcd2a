"""The webhook's authentication (api/webhook_signature.py): only the exact raw bytes, signed with the
secret and sent inside the time window, are believed; anything else is refused before it is parsed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from managed_accounts.api.webhook_signature import (
    WebhookRejected,
    check_freshness,
    sign,
    verify_signature,
)

from tests.fakes.webhook_events import SECRET, compact, dfns_event

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TOLERANCE = 300
SECRETS = st.text(min_size=1, max_size=40)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
OBJECTS = st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=5)


@given(OBJECTS, SECRETS)
def test_the_exact_bytes_signed_with_the_secret_verify(payload: dict[str, Any], secret: str) -> None:
    raw = compact(payload)
    assert verify_signature(raw, sign(raw, secret), secret) == payload


@given(OBJECTS, SECRETS, st.data())
def test_any_flipped_byte_of_the_body_fails(
    payload: dict[str, Any], secret: str, data: st.DataObject
) -> None:
    raw = compact(payload)
    signature = sign(raw, secret)
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    mask = data.draw(st.integers(min_value=1, max_value=255))
    tampered = raw[:position] + bytes([raw[position] ^ mask]) + raw[position + 1 :]
    with pytest.raises(WebhookRejected) as refused:
        verify_signature(tampered, signature, secret)
    assert (refused.value.status, refused.value.code) == (401, "bad_signature")


@given(OBJECTS, SECRETS, st.data())
def test_any_changed_character_of_the_signature_fails(
    payload: dict[str, Any], secret: str, data: st.DataObject
) -> None:
    raw = compact(payload)
    signature = sign(raw, secret)
    position = data.draw(st.integers(min_value=0, max_value=len(signature) - 1))
    replacement = data.draw(st.characters().filter(lambda c: c.lower() != signature[position].lower()))
    changed = signature[:position] + replacement + signature[position + 1 :]
    assume(changed.strip().lower() != signature)  # whitespace around it and hex case do not matter
    with pytest.raises(WebhookRejected) as refused:
        verify_signature(raw, changed, secret)
    assert refused.value.status == 401


@given(OBJECTS, SECRETS, SECRETS)
def test_another_secret_fails(payload: dict[str, Any], secret: str, other: str) -> None:
    assume(secret != other)
    raw = compact(payload)
    with pytest.raises(WebhookRejected, match="does not match"):
        verify_signature(raw, sign(raw, other), secret)


@given(st.binary(max_size=300), st.none() | st.text(max_size=80))
def test_unsigned_or_wrongly_signed_junk_is_a_401_and_never_parsed(raw: bytes, signature: str | None) -> None:
    assume(signature is None or signature.strip().lower() != sign(raw, SECRET))
    with pytest.raises(WebhookRejected) as refused:
        verify_signature(raw, signature, SECRET)
    assert refused.value.status == 401


@given(OBJECTS, st.sampled_from([" ", "\n", ""]), st.booleans())
def test_the_signature_may_differ_only_in_hex_case_and_surrounding_whitespace(
    payload: dict[str, Any], padding: str, upper: bool
) -> None:
    raw = compact(payload)
    signature = sign(raw, SECRET)
    presented = padding + (signature.upper() if upper else signature) + padding
    assert verify_signature(raw, presented, SECRET) == payload


@given(st.integers(min_value=-(TOLERANCE * 3), max_value=TOLERANCE * 3))
def test_only_events_sent_strictly_inside_the_window_are_fresh(offset: int) -> None:
    payload = dfns_event("wallet.transfer.confirmed", {}, sent_at=NOW + timedelta(seconds=offset))
    if abs(offset) < TOLERANCE:
        check_freshness(payload, now=NOW, tolerance_seconds=TOLERANCE)
    else:
        with pytest.raises(WebhookRejected, match="window"):
            check_freshness(payload, now=NOW, tolerance_seconds=TOLERANCE)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | OBJECTS.map(compact), st.none() | st.text(max_size=80))
def test_the_receiver_answers_junk_401_before_anything_else(
    world: Any, raw: bytes, signature: str | None
) -> None:
    assume(signature is None or signature.strip().lower() != sign(raw, SECRET))
    answer = world.webhook_receiver().receive(raw, signature)
    assert answer.status == 401
    assert json.loads(json.dumps(answer.body))["error"]["code"] in {"missing_signature", "bad_signature"}
