"""The REST API matches the shared route table: method, path, integration and authorizer per route."""

from __future__ import annotations

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


def test_gateway_errors_carry_the_cors_origin(template: Any) -> None:
    responses = resources(template, "AWS::ApiGateway::GatewayResponse").values()
    assert {r["Properties"]["ResponseType"] for r in responses} == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses:
        headers = response["Properties"]["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{ORIGIN}'"


def test_stage_logs_throttles_traces_and_sits_behind_waf(template: Any) -> None:
    [stage] = resources(template, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "prod"
    assert props["TracingEnabled"] is True
    log_group_id = next(iter(references(props["AccessLogSetting"]["DestinationArn"])))
    assert log_group_id in resources(template, "AWS::Logs::LogGroup")
    [settings] = props["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    assert settings["DataTraceEnabled"] is False  # request bodies never reach the logs
    [association] = resources(template, "AWS::WAFv2::WebACLAssociation").values()
    assert next(iter(resources(template, "AWS::WAFv2::WebACL"))) in references(association["Properties"])


def test_cognito_requires_mfa_and_has_the_operators_group(template: Any) -> None:
    [pool] = resources(template, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    [group] = resources(template, "AWS::Cognito::UserPoolGroup").values()
    assert group["Properties"]["GroupName"] == OPERATORS_GROUP
