"""Authentication of webhook deliveries: HMAC over the raw body only, then the replay window."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from managed_accounts.api.webhook_signature import (
    MAX_BODY_BYTES,
    WebhookRejected,
    check_freshness,
    header,
    sign,
    verify_signature,
)

SECRET = "whs-test-secret"
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _body(**extra: object) -> bytes:
    event = {"id": "whe-1", "kind": "policy.approval.resolved", "timestampSent": int(NOW.timestamp())}
    return json.dumps({**event, **extra}, separators=(",", ":"), ensure_ascii=False).encode()


def _rejected(raw: bytes, signature: str | None) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verify_signature(raw, signature, SECRET)
    return caught.value


def test_a_signature_over_the_raw_bytes_is_accepted() -> None:
    raw = _body()
    payload = verify_signature(raw, sign(raw, SECRET), SECRET)
    assert payload["id"] == "whe-1"


def test_a_non_ascii_body_signed_over_its_raw_utf8_bytes_is_accepted() -> None:
    raw = _body(data={"label": "Café 東京"})
    payload = verify_signature(raw, sign(raw, SECRET), SECRET)
    assert payload["data"]["label"] == "Café 東京"


def test_a_body_signed_over_another_serialisation_is_refused_without_parsing_it() -> None:
    payload = json.loads(_body(data={"label": "Café"}))
    compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    pretty = json.dumps(payload, indent=2).encode()
    assert _rejected(pretty, sign(compact, SECRET)).code == "bad_signature"


def test_the_hex_digest_is_compared_case_insensitively_and_trimmed() -> None:
    raw = _body()
    assert verify_signature(raw, "  " + sign(raw, SECRET).upper().replace("SHA256=", "sha256=") + " ", SECRET)


@pytest.mark.parametrize(
    ("signature", "code"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("sha256=" + "0" * 64, "bad_signature"),
        ("sha1=abc", "bad_signature"),
        ("sha256=é", "bad_signature"),
    ],
)
def test_a_missing_or_wrong_signature_is_401(signature: str | None, code: str) -> None:
    rejected = _rejected(_body(), signature)
    assert (rejected.status, rejected.code) == (401, code)


def test_a_signature_made_with_another_secret_is_401() -> None:
    raw = _body()
    assert _rejected(raw, sign(raw, "another-secret")).status == 401


def test_a_tampered_body_is_401() -> None:
    raw = _body(data={"approvalId": "ap-1"})
    signature = sign(raw, SECRET)
    assert _rejected(raw.replace(b"ap-1", b"ap-2"), signature).code == "bad_signature"


def test_a_body_over_256_kib_is_413_before_any_hmac() -> None:
    raw = b"{" + b" " * MAX_BODY_BYTES + b"}"
    rejected = _rejected(raw, sign(raw, SECRET))
    assert (rejected.status, rejected.code) == (413, "payload_too_large")


def test_garbage_with_a_wrong_signature_is_401_not_a_parse_error() -> None:
    assert _rejected(b"\xff\xfenot json", "sha256=00").code == "bad_signature"


def test_an_authenticated_body_that_is_not_an_object_is_400() -> None:
    raw = b"[1,2,3]"
    rejected = _rejected(raw, sign(raw, SECRET))
    assert (rejected.status, rejected.code) == (400, "malformed_event")


@pytest.mark.parametrize("offset", [0, 299, -299])
def test_timestamps_inside_the_window_pass(offset: int) -> None:
    check_freshness({"timestampSent": int(NOW.timestamp()) + offset}, now=NOW, tolerance_seconds=300)


@pytest.mark.parametrize("offset", [300, -300, 86_400])
def test_timestamps_at_or_beyond_the_window_are_stale(offset: int) -> None:
    with pytest.raises(WebhookRejected) as caught:
        check_freshness({"timestampSent": int(NOW.timestamp()) + offset}, now=NOW, tolerance_seconds=300)
    assert (caught.value.status, caught.value.code) == (401, "stale_event")


@pytest.mark.parametrize("value", [None, "1700000000", True, float("nan"), float("inf")])
def test_a_missing_or_non_numeric_timestamp_is_refused(value: object) -> None:
    with pytest.raises(WebhookRejected) as caught:
        check_freshness({"timestampSent": value}, now=NOW, tolerance_seconds=300)
    assert caught.value.status in (400, 401)


def test_header_lookup_ignores_case() -> None:
    headers = {"x-dfns-webhook-signature": "sha256=ab", "Content-Type": "application/json"}
    assert header(headers, "X-DFNS-WEBHOOK-SIGNATURE") == "sha256=ab"
    assert header({"X-Dfns-Webhook-Signature": "v"}, "x-dfns-webhook-signature") == "v"
    assert header(None, "x") is None
