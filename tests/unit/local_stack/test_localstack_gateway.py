"""The local gateway answers like API Gateway in front of the real handlers (here a recording fake)."""

from __future__ import annotations

import base64
import json
import re
import time
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from local_stack.gateway import LocalApiGateway
from local_stack.invoker import FunctionNotFound
from local_stack.routing import Router
from local_stack.tokens import TokenVerifier, issue_token
from managed_accounts.routes import Route
from werkzeug.test import Client

ROUTES = (
    Route("POST", "/accounts", "onboard", "client"),
    Route("GET", "/accounts/me/destination-requests/{requestId}", "destinations", "client"),
    Route("POST", "/admin/order-runs", "orders", "operator"),
    Route("POST", "/webhooks/dfns", "webhooks", "webhook"),
)


class FakeInvoker:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.result: Any = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
        self.raises: Exception | None = None

    def load(self, function: str, module: str = "handler") -> ModuleType:
        if function != "onboard":
            raise FunctionNotFound(function)
        schema = {
            "openapi": "3.1.0",
            "info": {"title": "onboard", "version": "1"},
            "paths": {
                "/accounts": {
                    "post": {
                        "operationId": "onboard",
                        "summary": "Onboard the caller",
                        "responses": {"201": {"description": "created"}},
                    }
                }
            },
        }
        module_ = ModuleType("fake")
        module_.app = SimpleNamespace(get_openapi_json_schema=lambda: json.dumps(schema))  # type: ignore[attr-defined]
        return module_

    def invoke(
        self, function: str, event: dict[str, Any], *, module: str = "handler", entry: str = "handler"
    ):
        self.events.append((function, event))
        if self.raises:
            raise self.raises
        return self.result


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def invoker() -> FakeInvoker:
    return FakeInvoker()


@pytest.fixture
def client(key, invoker) -> Client:
    gateway = LocalApiGateway(
        TokenVerifier(key.public_key()),
        invoker=invoker,
        router=Router(ROUTES),
        cors_origins=["http://localhost:5173"],
        server_url=lambda: "http://127.0.0.1:3999",
    )
    return Client(gateway)


def _auth(key, client_id="client-1", **kwargs) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(key, client_id, **kwargs)}"}


def test_a_signed_in_client_reaches_the_handler_with_its_claims(client, invoker, key):
    response = client.post("/accounts", headers=_auth(key), json={"x": 1})
    assert response.status_code == 200
    function, event = invoker.events[0]
    assert function == "onboard"
    assert event["requestContext"]["authorizer"]["claims"]["sub"] == "client-1"
    assert json.loads(event["body"]) == {"x": 1}
    assert event["resource"] == "/accounts"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nonsense"}])
def test_without_a_valid_token_it_is_the_api_gateway_401_and_no_handler_runs(client, invoker, headers):
    response = client.post("/accounts", headers=headers)
    assert response.status_code == 401
    # The deployed API's gateway response (found by fuzzing: locally it was {"message": "Unauthorized"},
    # outside the documented error shape).
    assert response.get_json() == {
        "error": {"code": "unauthorized", "message": "a valid bearer token is required"}
    }
    assert invoker.events == []


def test_an_expired_token_gets_401(client, invoker, key):
    headers = _auth(key, ttl_seconds=1, now=time.time() - 120)
    assert client.post("/accounts", headers=headers).status_code == 401
    assert invoker.events == []


def test_an_operator_route_is_the_handlers_to_refuse_as_deployed(client, invoker, key):
    """The Cognito authorizer authenticates only; the handler checks the operators group. The gateway
    used to refuse clients itself, so a handler that forgot the check passed locally (found by the
    authorization matrix, which now goes through the handlers' own check)."""
    client.post("/admin/order-runs", headers=_auth(key))
    claims = invoker.events[0][1]["requestContext"]["authorizer"]["claims"]
    assert "cognito:groups" not in claims
    client.post("/admin/order-runs", headers=_auth(key, "ops-1", operator=True))
    assert invoker.events[1][1]["requestContext"]["authorizer"]["claims"]["cognito:groups"] == "operators"


def test_the_webhook_route_has_no_authorizer(client, invoker):
    response = client.post(
        "/webhooks/dfns", data=b'{"id":"whe-1"}', headers={"X-DFNS-WEBHOOK-SIGNATURE": "sha256=0"}
    )
    assert response.status_code == 200
    event = invoker.events[0][1]
    assert "authorizer" not in event["requestContext"]
    assert event["body"] == '{"id":"whe-1"}'
    assert event["headers"]["X-Dfns-Webhook-Signature"] == "sha256=0"


def test_unknown_routes_are_404_not_found_as_the_deployed_gateway_response_says(client, invoker):
    for method, path in (("GET", "/nowhere"), ("DELETE", "/accounts")):
        response = client.open(path, method=method)
        assert response.status_code == 404
        assert response.get_json() == {"error": {"code": "not_found", "message": "no such route"}}
    assert invoker.events == []


def test_a_failing_handler_is_a_502_internal_server_error(client, invoker, key):
    invoker.raises = RuntimeError("boom")
    response = client.post("/accounts", headers=_auth(key))
    assert response.status_code == 502
    assert response.get_json() == {"error": {"code": "gateway_error", "message": "Internal server error"}}


@pytest.mark.parametrize("result", [{"body": "no status"}, {"statusCode": 200, "body": {"a": 1}}, "text"])
def test_a_malformed_handler_result_is_a_502(client, invoker, key, result):
    invoker.result = result
    assert client.post("/accounts", headers=_auth(key)).status_code == 502


def test_the_handler_result_becomes_the_http_response(client, invoker, key):
    invoker.result = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/csv"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": base64.b64encode(b"a,b\n1,2\n").decode(),
        "isBase64Encoded": True,
    }
    response = client.post("/accounts", headers=_auth(key))
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "text/csv"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.data == b"a,b\n1,2\n"


def test_preflight_allows_configured_origins_only(client):
    allowed = client.options("/accounts", headers={"Origin": "http://localhost:5173"})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    other = client.options("/accounts", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_preflight_allows_the_headers_the_cdk_api_allows(client):
    allowed = client.options("/accounts", headers={"Origin": "http://localhost:5173"})
    assert set(allowed.headers["Access-Control-Allow-Headers"].split(",")) == {
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
    }


def test_the_gateways_own_errors_carry_cors_headers_for_configured_origins(client, invoker):
    # As the CDK API's gateway responses do: a browser then sees the 401, not a network error.
    refused = client.get("/accounts/me/destination-requests/r1", headers={"Origin": "http://localhost:5173"})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    other = client.get("/accounts/me/destination-requests/r1", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert invoker.events == []


def test_a_handlers_answer_keeps_its_own_headers_with_no_cors_added(client, invoker, key):
    # A handler that forgot CORS must fail in the browser here as it would behind API Gateway.
    response = client.post("/accounts", headers={**_auth(key), "Origin": "http://localhost:5173"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_openapi_merges_function_schemas_and_covers_every_route(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "http://127.0.0.1:3999"}]
    assert document["paths"]["/accounts"]["post"]["summary"] == "Onboard the caller"
    assert set(document["paths"]) == {r.path for r in ROUTES}
    assert document["paths"]["/accounts"]["post"]["security"] == [{"cognito": []}]
    assert "security" not in document["paths"]["/webhooks/dfns"]["post"]
    assert "403" in document["paths"]["/admin/order-runs"]["post"]["responses"]
    assert document["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"


def test_docs_serve_swagger_ui_with_bundled_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert b"/openapi.json" in page.data
    script = client.get("/docs/swagger-ui-bundle.min.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert len(script.data) > 100_000
    assert client.get("/docs/../../etc/passwd").status_code == 404


def _console_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "local_stack.console"]


def test_each_request_is_one_console_line_with_method_path_status_and_time(client, key, caplog):
    caplog.set_level("INFO", logger="local_stack.console")
    client.post("/accounts", headers=_auth(key))
    client.get("/accounts/me/destination-requests/dr-1?status=approved", headers=_auth(key))
    client.get("/nowhere")
    lines = _console_lines(caplog)
    assert len(lines) == 3
    assert re.fullmatch(r"POST /accounts 200 \d+ms", lines[0])
    assert re.fullmatch(r"GET /accounts/me/destination-requests/dr-1\?status=approved 200 \d+ms", lines[1])
    assert re.fullmatch(r"GET /nowhere 404 \d+ms", lines[2])


def test_a_webhook_delivery_is_one_console_line_with_its_kind(client, invoker, caplog):
    caplog.set_level("INFO", logger="local_stack.console")
    body = json.dumps({"id": "whe-1", "kind": "policy.approval.resolved", "data": {}}).encode()
    client.post("/webhooks/dfns", data=body)
    invoker.result = {"statusCode": 401, "body": "{}"}
    client.post("/webhooks/dfns", data=b"not json")
    first, second = _console_lines(caplog)
    assert re.fullmatch(r"webhook policy\.approval\.resolved 200 \d+ms", first)
    assert re.fullmatch(r"webhook \? 401 \d+ms", second)
