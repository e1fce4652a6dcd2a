"""Helpers shared by the webhook tests: signed API Gateway events, a Lambda context, a moto table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from managed_accounts.api.webhook_signature import sign
from managed_accounts.data.schema import TTL_ATTRIBUTE, main_table_definition

SECRET = "whs-integration-secret"
NOW = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
TABLE = "managed-accounts-webhooks-test"


@dataclass
class LambdaContext:
    function_name: str = "webhooks"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:webhooks"
    aws_request_id: str = "req-1"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def dfns_event(kind: str, data: dict[str, Any], *, event_id: str = "whe-1", **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "kind": kind,
        "date": NOW.isoformat(),
        "data": data,
        "timestampSent": int(NOW.timestamp()),
        "deliveryAttempt": 1,
        **extra,
    }


def compact(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def api_event(
    raw: bytes, signature: str | None, *, header_name: str = "X-DFNS-WEBHOOK-SIGNATURE"
) -> dict[str, Any]:
    """An API Gateway REST proxy event for POST /webhooks/dfns carrying ``raw`` as text."""
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[header_name] = signature
    return {
        "resource": "/webhooks/dfns",
        "path": "/webhooks/dfns",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "pathParameters": None,
        "body": raw.decode("utf-8"),
        "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/webhooks/dfns", "httpMethod": "POST", "requestId": "r-1"},
    }


def signed(payload: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    raw = compact(payload)
    return api_event(raw, sign(raw, secret))


@contextmanager
def moto_table() -> Iterator[Any]:
    """A boto3 ``Table`` resource on a fresh main table (TTL on) inside ``mock_aws`` (which also sets
    fake credentials)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="eu-west-1")
        dynamodb.meta.client.create_table(**main_table_definition(TABLE))
        dynamodb.meta.client.update_time_to_live(
            TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
        yield dynamodb.Table(TABLE)


def empty(table: Any) -> None:
    """Delete every item, so one moto table can serve a whole module (creating one costs ~0.5 s)."""
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression="PK, SK")["Items"]:
            batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})


def event_items(table: Any) -> list[dict[str, Any]]:
    """The de-duplication items on ``table`` (``PK`` ``EVENT#…``)."""
    return [i for i in table.scan()["Items"] if str(i["PK"]).startswith("EVENT#")]
