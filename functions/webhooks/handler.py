"""POST /webhooks/dfns: Dfns events, HMAC-verified (DESIGN.md §4 "Webhooks").

A plain handler, not the Powertools REST resolver: the raw body must be authenticated before anything
parses it, the route is a single server-to-server POST with no CORS, validation or OpenAPI to serve,
and skipping the resolver keeps the cold start Dfns waits on short. The logic is ``WebhookReceiver``;
this module only turns the API Gateway event into bytes and a header, and the answer into a response.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.api.webhook_endpoint import WebhookReceiver
from managed_accounts.api.webhook_signature import SIGNATURE_HEADER, header
from managed_accounts.observability import logger, metrics, tracer


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def _raw_body(event: dict[str, Any]) -> bytes | None:
    """The body as the bytes Dfns sent (None if its base64 is broken)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    # API Gateway hands UTF-8 text over as str: encoding it back gives the bytes that were signed.
    return str(body).encode("utf-8", errors="replace")


def _signature(event: dict[str, Any]) -> str | None:
    value = header(event.get("headers"), SIGNATURE_HEADER)
    if value is not None:
        return value
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if name.lower() == SIGNATURE_HEADER and isinstance(values, list) and values:
            return str(values[0])
    return None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, receiver: WebhookReceiver | None = None
) -> dict[str, Any]:
    raw = _raw_body(event)
    if raw is None:
        return _response(
            400, {"error": {"code": "malformed_body", "message": "the body is not valid base64"}}
        )
    if receiver is None:
        from managed_accounts import wiring

        receiver = wiring.webhook_receiver()
    answer = receiver.receive(raw, _signature(event))
    return _response(answer.status, answer.body)
