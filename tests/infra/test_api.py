"""The REST API matches the shared route table: method, path, integration and authorizer per route."""

from __future__ import annotations

import json
from typing import Any

import pytest
from managed_accounts.routes import OPERATORS_GROUP, ROUTES

from tests.infra.conftest import ORIGIN
from tests.infra.helpers import function_by_handler, references, resources

pytestmark = pytest.mark.infra


def _paths(template: Any) -> dict[str, str]:
    """Logical id of each API resource -> its full path (the root resource is "/")."""
    api_resources = resources(template, "AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = api_resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in api_resources:
        path_of(logical_id)
    return paths


def _methods(template: Any) -> dict[tuple[str, str], dict[str, Any]]:
    paths = _paths(template)
    methods = {}
    for body in resources(template, "AWS::ApiGateway::Method").values():
        props = body["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        methods[(props["HttpMethod"], path)] = props
    return methods


def test_every_route_of_the_table_and_nothing_else(template: Any) -> None:
    served = {key for key in _methods(template) if key[0] != "OPTIONS"}
    assert served == {(r.method, r.path) for r in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_each_route_integrates_its_function_with_the_right_auth(template: Any, route: Any) -> None:
    method = _methods(template)[(route.method, route.path)]
    function_id, _ = function_by_handler(template, f"{route.function}/handler.handler")

    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert function_id in references(method["Integration"]["Uri"])
    assert "RequestValidatorId" in method
    if route.auth == "webhook":
        assert method["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in method
    else:
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
        [authorizer_id] = references(method["AuthorizerId"])
        authorizer = resources(template, "AWS::ApiGateway::Authorizer")[authorizer_id]["Properties"]
        assert authorizer["Type"] == "COGNITO_USER_POOLS"
    for name in (p.strip("{}") for p in route.path.split("/") if p.startswith("{")):
        assert method["RequestParameters"][f"method.request.path.{name}"] is True


def test_request_validation_checks_body_and_parameters(template: Any) -> None:
    [validator] = resources(template, "AWS::ApiGateway::RequestValidator").values()
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True


def test_cors_allows_only_the_configured_frontend(template: Any) -> None:
    preflight = [m for (verb, _), m in _methods(template).items() if verb == "OPTIONS"]
    assert preflight
    for method in preflight:
        [response] = method["Integration"]["IntegrationResponses"]
        origin = response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"]
        assert origin == f"'{ORIGIN}'"


def test_cors_allows_the_idempotency_key_header(template: Any) -> None:
    preflight = [m for (verb, _), m in _methods(template).items() if verb == "OPTIONS"]
    for method in preflight:
        [response] = method["Integration"]["IntegrationResponses"]
        headers = response["ResponseParameters"]["method.response.header.Access-Control-Allow-Headers"]
        assert {h.strip() for h in headers.strip("'").split(",")} >= {
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
        }


def _gateway_responses(template: Any) -> dict[str, dict[str, Any]]:
    found = resources(template, "AWS::ApiGateway::GatewayResponse").values()
    return {r["Properties"]["ResponseType"]: r["Properties"] for r in found}


def test_gateway_errors_follow_the_error_contract_with_cors(template: Any) -> None:
    responses = _gateway_responses(template)
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED"} <= set(responses)
    codes = {}
    for kind, props in responses.items():
        headers = props["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{ORIGIN}'", kind
        [(content_type, body)] = props["ResponseTemplates"].items()
        assert content_type == "application/json"
        # Gateway templates are simple substitution; $context.error.messageString arrives JSON-quoted.
        rendered = json.loads(body.replace("$context.error.messageString", json.dumps("Unauthorized")))
        assert set(rendered) == {"error"}, kind
        assert set(rendered["error"]) == {"code", "message"}, kind
        assert all(isinstance(v, str) and v for v in rendered["error"].values()), kind
        codes[kind] = rendered["error"]["code"]
    assert codes["UNAUTHORIZED"] == "unauthorized"
    assert codes["ACCESS_DENIED"] == "forbidden"
    assert codes["THROTTLED"] == "rate_limited"
    # An unknown route answers like the functions' resolver (404 not_found), not 403.
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert codes["MISSING_AUTHENTICATION_TOKEN"] == "not_found"


def _encoded(path: str) -> str:
    return "/" + path.replace("/", "~1")


def test_every_route_has_its_own_throttle_and_the_webhook_its_own_budget(template: Any) -> None:
    [stage] = resources(template, "AWS::ApiGateway::Stage").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}
    assert ("/*", "*") in settings  # the stage-wide default (CORS preflights)
    assert set(settings) == {("/*", "*")} | {(_encoded(r.path), r.method) for r in ROUTES}
    for setting in settings.values():
        assert setting["ThrottlingRateLimit"] > 0
        assert setting["ThrottlingBurstLimit"] > 0
        assert setting["DataTraceEnabled"] is False  # request bodies never reach the logs
        assert setting["LoggingLevel"] == "ERROR"
    budget = {
        f"{r.method} {r.path}": (
            settings[(_encoded(r.path), r.method)]["ThrottlingRateLimit"],
            settings[(_encoded(r.path), r.method)]["ThrottlingBurstLimit"],
        )
        for r in ROUTES
    }
    webhook = budget.pop("POST /webhooks/dfns")
    assert webhook not in budget.values()  # client traffic can never use up Dfns's deliveries
    assert budget["POST /accounts/me/destination-requests"][0] < budget["GET /accounts/me/destinations"][0]


def test_cognito_requires_mfa_and_has_the_operators_group(template: Any) -> None:
    [pool] = resources(template, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    [group] = resources(template, "AWS::Cognito::UserPoolGroup").values()
    assert group["Properties"]["GroupName"] == OPERATORS_GROUP
