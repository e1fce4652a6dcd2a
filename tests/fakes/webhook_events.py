"""Dfns webhook deliveries as API Gateway hands them over: signed (or not) raw bodies on POST
/webhooks/dfns."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from managed_accounts.api.webhook_signature import sign

from tests.fakes.apigw import rest_event
from tests.fakes.recording import EPOCH

SECRET = "whs-test-secret"
NOW = EPOCH  # where every FixedClock starts: deliveries stamped NOW are fresh


def dfns_event(
    kind: str, data: dict[str, Any], *, event_id: str = "whe-1", sent_at: datetime = NOW, **extra: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "kind": kind,
        "date": sent_at.isoformat(),
        "data": data,
        "timestampSent": int(sent_at.timestamp()),
        "deliveryAttempt": 1,
        **extra,
    }


def compact(payload: dict[str, Any]) -> bytes:
    """The bytes Dfns sends (and signs): compact JSON, raw UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def api_event(
    raw: bytes, signature: str | None, *, header_name: str = "X-DFNS-WEBHOOK-SIGNATURE"
) -> dict[str, Any]:
    """POST /webhooks/dfns carrying ``raw`` as text, with ``signature`` in ``header_name`` if given."""
    headers = {header_name: signature} if signature is not None else {}
    return rest_event("POST", "/webhooks/dfns", body=raw.decode("utf-8"), headers=headers)


def signed(payload: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    raw = compact(payload)
    return api_event(raw, sign(raw, secret))


def event_items(table: Any) -> list[dict[str, Any]]:
    """The de-duplication items on the main ``table`` (``PK`` ``EVENT#…``)."""
    return [i for i in table.scan()["Items"] if str(i["PK"]).startswith("EVENT#")]
