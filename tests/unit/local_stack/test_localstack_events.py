"""The REST proxy events the local gateway builds have API Gateway's shape, so handlers cannot tell."""

from __future__ import annotations

import base64
from typing import Any

from local_stack.events import (
    IncomingRequest,
    LambdaContext,
    RouteMatch,
    build_rest_event,
    build_scheduler_event,
)


def _event(**overrides: Any) -> dict[str, Any]:
    request = IncomingRequest(
        method=overrides.pop("method", "GET"),
        path=overrides.pop("path", "/accounts/me/destination-requests/req-1"),
        headers=overrides.pop(
            "headers", [("Content-Type", "application/json"), ("X-Trace", "a"), ("X-Trace", "b")]
        ),
        query=overrides.pop("query", [("status", "queued"), ("status", "approved"), ("limit", "5")]),
        body=overrides.pop("body", b""),
    )
    match = RouteMatch("/accounts/me/destination-requests/{requestId}", {"requestId": "req-1"})
    return build_rest_event(request, match, request_id="rid-1", now=1_700_000_000, **overrides)


def test_the_event_carries_every_rest_proxy_key():
    event = _event()
    assert set(event) == {
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    assert event["resource"] == "/accounts/me/destination-requests/{requestId}"
    assert event["path"] == "/accounts/me/destination-requests/req-1"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"requestId": "req-1"}
    context = event["requestContext"]
    assert context["resourcePath"] == event["resource"]
    assert context["httpMethod"] == "GET"
    assert context["requestId"] == "rid-1"
    assert context["stage"] == "local"
    assert context["path"] == "/local/accounts/me/destination-requests/req-1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestTimeEpoch"] == 1_700_000_000_000


def test_repeated_headers_and_query_values_keep_the_last_single_value_and_all_multi_values():
    event = _event()
    assert event["headers"]["X-Trace"] == "b"
    assert event["multiValueHeaders"]["X-Trace"] == ["a", "b"]
    assert event["queryStringParameters"] == {"status": "approved", "limit": "5"}
    assert event["multiValueQueryStringParameters"]["status"] == ["queued", "approved"]


def test_absent_parts_are_null_as_in_api_gateway():
    request = IncomingRequest(method="POST", path="/accounts")
    event = build_rest_event(request, RouteMatch("/accounts"))
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    assert "authorizer" not in event["requestContext"]


def test_a_text_body_is_passed_as_is_including_non_ascii():
    event = _event(method="POST", body='{"label":"Café 東京"}'.encode())
    assert event["body"] == '{"label":"Café 東京"}'
    assert event["isBase64Encoded"] is False


def test_a_binary_body_is_base64_encoded():
    event = _event(method="POST", body=b"\xff\xfe\x00")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe\x00"


def test_authorizer_claims_sit_where_the_cognito_authorizer_puts_them():
    event = _event(claims={"sub": "client-1", "cognito:groups": "operators"})
    assert event["requestContext"]["authorizer"] == {
        "claims": {"sub": "client-1", "cognito:groups": "operators"}
    }


def test_a_scheduler_event_looks_like_a_scheduled_event():
    event = build_scheduler_event("reconcile")
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.scheduler"
    assert event["resources"][0].endswith(":schedule/reconcile")


def test_the_lambda_context_offers_what_powertools_reads():
    context = LambdaContext(function_name="onboard")
    assert context.invoked_function_arn.endswith(":function:onboard")
    assert context.aws_request_id
    assert 0 < context.get_remaining_time_in_millis() <= 30_000
