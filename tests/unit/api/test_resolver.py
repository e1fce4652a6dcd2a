"""The shared resolver: CORS for configured origins only, the error shape, identity from claims, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from managed_accounts.api.identity import Unauthenticated, caller_from_event, require_operator
from managed_accounts.api.resolver import build_resolver
from managed_accounts.errors import Conflict, Forbidden

from tests.fakes.apigw import FakeLambdaContext, call, rest_event
from tests.fakes.world import make_settings

ORIGIN = "https://app.example.com"


def _app() -> Any:
    app = build_resolver(make_settings(frontend_origins=[ORIGIN, "https://admin.example.com"]))

    @app.get("/conflict")
    def conflict() -> dict[str, str]:
        raise Conflict("already there")

    @app.get("/boom")
    def boom() -> dict[str, str]:
        raise RuntimeError("secret internals")

    @app.get("/ops")
    def ops() -> dict[str, str]:
        return {"operator": require_operator(app).client_id}

    return app.resolve


def test_cors_allows_only_the_configured_origins() -> None:
    handler = _app()
    allowed = call(handler, rest_event("GET", "/conflict", client_id="a", origin=ORIGIN))
    assert allowed.headers.get("Access-Control-Allow-Origin") == ORIGIN
    other = call(handler, rest_event("GET", "/conflict", client_id="a", origin="https://evil.example.com"))
    assert "Access-Control-Allow-Origin" not in other.headers


def test_domain_errors_and_unexpected_errors_use_the_error_shape() -> None:
    handler = _app()
    conflict = call(handler, rest_event("GET", "/conflict", client_id="a"))
    assert (conflict.status, conflict.body) == (
        409,
        {"error": {"code": "conflict", "message": "already there"}},
    )
    boom = call(handler, rest_event("GET", "/boom", client_id="a"))
    assert boom.status == 500
    assert boom.body["error"]["code"] == "internal_error"
    assert "secret internals" not in str(boom.body)


def test_operator_routes_need_the_operators_group() -> None:
    handler = _app()
    assert call(handler, rest_event("GET", "/ops", client_id="a")).status == 403
    ok = call(handler, rest_event("GET", "/ops", client_id="op-1", groups=["admins", "operators"]))
    assert (ok.status, ok.body) == (200, {"operator": "op-1"})


@pytest.mark.parametrize("groups", [["operators"], "operators", "[admins operators]", "admins,operators"])
def test_cognito_groups_in_every_shape_api_gateway_sends(groups: Any) -> None:
    event = rest_event("GET", "/x", client_id="u1")
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = groups
    assert caller_from_event(event).is_operator


def test_identity_comes_only_from_the_claims() -> None:
    with pytest.raises(Unauthenticated):
        caller_from_event(rest_event("GET", "/x"))
    with pytest.raises(Unauthenticated):
        caller_from_event({"requestContext": {"authorizer": {"claims": {"sub": ""}}}})
    with pytest.raises(Forbidden):
        caller_from_event(rest_event("GET", "/x", client_id="a b"))
    assert caller_from_event(rest_event("GET", "/x", client_id="abc-123")).client_id == "abc-123"


def test_the_openapi_document_lists_the_destination_routes() -> None:
    import functions.destinations.handler as destinations

    schema = destinations.app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
    assert schema["openapi"].startswith("3.1")
    assert {"/accounts/me/destinations", "/accounts/me/destination-requests"} <= set(schema["paths"])
    assert FakeLambdaContext().get_remaining_time_in_millis() > 0
