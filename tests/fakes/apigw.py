"""API Gateway REST proxy events (as the Cognito-authorized API sends them), the one Lambda context of
the suite, and ``call``: a handler invoked with its dependencies, its answer parsed."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def claims_for(client_id: str | None, groups: list[str] | None = None) -> dict[str, Any] | None:
    if client_id is None:
        return None
    claims: dict[str, Any] = {"sub": client_id, "token_use": "id"}
    if groups:
        claims["cognito:groups"] = ",".join(groups)
    return claims


def rest_event(
    method: str,
    path: str,
    *,
    client_id: str | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    groups: list[str] | None = None,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
    if origin:
        headers["Origin"] = origin
    claims = claims_for(client_id, groups)
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": resource or path,
        "path": quote(path, safe="/:"),
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "body": raw_body,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/test{path}",
            "requestId": str(uuid.uuid4()),
            "stage": "test",
            "accountId": "123456789012",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"claims": claims} if claims else None,
        },
    }


@dataclass
class HttpResult:
    status: int
    body: Any
    headers: dict[str, str]


def call(handler: Any, event: dict[str, Any], **dependencies: Any) -> HttpResult:
    """``handler(event, context, **dependencies)``: the fakes a test passes instead of the wiring."""
    response = handler(event, FakeLambdaContext(), **dependencies)
    text = response.get("body") or ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    headers = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, values[0])
    return HttpResult(response["statusCode"], body, headers)
