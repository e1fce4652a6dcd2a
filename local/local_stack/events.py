"""API Gateway REST (v1) Lambda proxy events and the Lambda context, as the real services build them.

The handlers cannot tell the local gateway from API Gateway: same keys, same single/multi-value
split, ``null`` where API Gateway sends ``null`` (no query, no path parameters, no body), claims as
strings under ``requestContext.authorizer.claims``.
"""

from __future__ import annotations

import base64
import time
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LOCAL_ACCOUNT_ID = "000000000000"
LOCAL_API_ID = "localapi01"
LOCAL_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """What the local gateway read off the socket, before routing."""

    method: str
    path: str
    headers: Sequence[tuple[str, str]] = ()
    query: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    host: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively (as API Gateway's ``headers`` holds it)."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass(slots=True)
class RouteMatch:
    """A request routed to a resource of the route table."""

    resource: str  # /accounts/me/destinations/{address}
    path_parameters: dict[str, str] = field(default_factory=dict)


def _single_and_multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(key, []).append(value)
    return single, multi


def _encode_body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def build_rest_event(
    request: IncomingRequest,
    match: RouteMatch,
    *,
    stage: str = "local",
    claims: Mapping[str, str] | None = None,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The Lambda proxy integration event for ``request`` routed to ``match``."""
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(request.query)
    body, is_base64 = _encode_body(request.body)
    request_id = request_id or str(uuid.uuid4())
    epoch = time.time() if now is None else now
    request_context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "resourceId": f"{zlib.crc32(match.resource.encode()):08x}"[:6],
        "resourcePath": match.resource,
        "httpMethod": request.method,
        "path": f"/{stage}{request.path}",
        "stage": stage,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "protocol": "HTTP/1.1",
        "requestTime": datetime.fromtimestamp(epoch, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(epoch * 1000),
        "domainName": request.host,
        "domainPrefix": request.host.split(".")[0],
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent"),
            "accountId": None,
            "caller": None,
            "user": None,
            "userArn": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "accessKey": None,
            "apiKey": None,
            "apiKeyId": None,
            "principalOrgId": None,
        },
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": dict(claims)}
    return {
        "resource": match.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(match.path_parameters) or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def build_scheduler_event(schedule_name: str, *, now: datetime | None = None) -> dict[str, Any]:
    """What an EventBridge Scheduler schedule (or a scheduled rule) hands a Lambda target."""
    moment = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": LOCAL_ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": LOCAL_REGION,
        "resources": [f"arn:aws:scheduler:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:schedule/{schedule_name}"],
        "detail": {},
    }


@dataclass(slots=True)
class LambdaContext:
    """Enough of the Lambda context object for Powertools (logger, tracer, metrics, idempotency)."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_ms: int = 30_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = int((time.monotonic() - self._started) * 1000)
        return max(self.timeout_ms - elapsed_ms, 0)
