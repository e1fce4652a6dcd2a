"""The REST API built from ``managed_accounts.routes.ROUTES`` (the same table the local gateway uses):
Cognito on client and operator routes, none on the Dfns webhook (its HMAC is the authentication); a
throttle per route (``config.ApiThrottles``: by route class, overridable per route); API Gateway's own
errors in the product's ``{"error": {"code", "message"}}`` shape."""

from __future__ import annotations

import json
import re

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from managed_accounts.routes import GATEWAY_ERRORS, OPERATORS_GROUP, ROUTES, GatewayError

from infra.capabilities.waf import WebAclConstruct
from infra.config import ApiThrottles
from infra.constants import SERVICE_NAME
from infra.nag import acknowledge

CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]


def error_template(error: GatewayError) -> str:
    """A gateway response body: simple substitution, no VTL (``messageString`` is already JSON-quoted)."""
    message = json.dumps(error.message) if error.message else "$context.error.messageString"
    return f'{{"error":{{"code":{json.dumps(error.code)},"message":{message}}}}}'


def _response_type(error: GatewayError) -> apigateway.ResponseType:
    return apigateway.ResponseType.of(error.response_type)


def _cors(frontend_origins: list[str]) -> apigateway.CorsOptions | None:
    """Preflight for the configured frontend origins only; none at all without one."""
    if not frontend_origins:
        return None
    return apigateway.CorsOptions(
        allow_origins=frontend_origins,
        allow_methods=sorted({r.method for r in ROUTES}),
        allow_headers=CORS_HEADERS,
        max_age=Duration.hours(1),
    )


def _stage_options(
    stage: str, access_logs: logs.ILogGroup, throttles: ApiThrottles
) -> apigateway.StageOptions:
    """Logs, metrics and traces; the stage-wide throttle ("/*/*", e.g. CORS preflights) and one per route."""
    return apigateway.StageOptions(
        stage_name=stage,
        access_log_destination=apigateway.LogGroupLogDestination(access_logs),
        access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
            caller=False, http_method=True, ip=True, protocol=True, request_time=True,
            resource_path=True, response_length=True, status=True, user=True,
        ),
        logging_level=apigateway.MethodLoggingLevel.ERROR,
        data_trace_enabled=False,  # request bodies stay out of the logs
        metrics_enabled=True,
        tracing_enabled=True,
        throttling_rate_limit=throttles.stage.rate,
        throttling_burst_limit=throttles.stage.burst,
        # A method setting replaces the stage's for that method: each repeats logging and tracing choices.
        method_options={
            f"{route.path}/{route.method}": apigateway.MethodDeploymentOptions(
                throttling_rate_limit=throttles.for_route(route).rate,
                throttling_burst_limit=throttles.for_route(route).burst,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
            )
            for route in ROUTES
        },
    )  # fmt: skip


class ApiConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        functions: dict[str, lambda_.IFunction],
        frontend_origins: list[str],
        throttles: ApiThrottles,
        log_retention: logs.RetentionDays,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self._users(retain)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        self.api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{SERVICE_NAME}-{stage}",
            description="Managed investment accounts on Dfns",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            default_cors_preflight_options=_cors(frontend_origins),
            deploy_options=_stage_options(stage, access_logs, throttles),
        )
        self._gateway_errors(frontend_origins)
        self._routes(functions)
        push_logs = (
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
        )
        acknowledge(
            self.api.node.find_child("CloudWatchRole"),
            f"AwsSolutions-IAM4[{push_logs}]",
            "API Gateway's account-level logging role: AWS's managed policy is the documented one.",
        )
        webhook_paths = [r.path for r in ROUTES if r.auth == "webhook"]
        self.web_acl = WebAclConstruct(
            self, "Waf", stage=self.api.deployment_stage, webhook_paths=webhook_paths
        )
        self.webhook_url = self.api.url_for_path(webhook_paths[0])

    def _users(self, retain: bool) -> None:
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=retain,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )  # fmt: skip
        # Operators carry this group in the token; the handlers check it on operator routes.
        cognito.CfnUserPoolGroup(
            self, "Operators", user_pool_id=self.user_pool.user_pool_id, group_name=OPERATORS_GROUP,
            description="Operations staff: may start order runs",
        )  # fmt: skip
        self.user_pool_client = self.user_pool.add_client(
            "Frontend",
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            generate_secret=False,
        )
        self.authorizer = apigateway.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[self.user_pool]
        )

    def _gateway_errors(self, frontend_origins: list[str]) -> None:
        """API Gateway's own errors (401 from the authorizer, 429 throttling, 5xx) in the error contract, with
        CORS headers so the browser sees the real status and body. A gateway response has one static
        origin: with several configured origins those errors stay opaque to the browser."""
        headers = None
        if len(frontend_origins) == 1:
            headers = {"Access-Control-Allow-Origin": f"'{frontend_origins[0]}'", "Vary": "'Origin'"}
        elif frontend_origins:
            Annotations.of(self).add_warning_v2(
                "managed-accounts:gateway-errors-cors",
                "several frontendOrigins: API Gateway's own errors (401, 429, 5xx) carry no CORS header, so "
                "browsers see them as network errors; one origin per stage avoids that.",
            )
        for error in GATEWAY_ERRORS.values():
            self.api.add_gateway_response(
                "".join(part.capitalize() for part in error.response_type.split("_")),
                type=_response_type(error),
                status_code=str(error.status) if error.status else None,
                response_headers=headers,
                templates={"application/json": error_template(error)},
            )

    def _routes(self, functions: dict[str, lambda_.IFunction]) -> None:
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        integrations: dict[str, apigateway.LambdaIntegration] = {}
        for route in ROUTES:
            integration = integrations.setdefault(
                route.function,
                apigateway.LambdaIntegration(functions[route.function], allow_test_invoke=False),
            )
            params = {f"method.request.path.{name}": True for name in re.findall(r"{(\w+)}", route.path)}
            webhook = route.auth == "webhook"
            method = self.api.root.resource_for_path(route.path).add_method(
                route.method, integration, request_validator=validator, request_parameters=params or None,
                authorizer=None if webhook else self.authorizer,
                authorization_type=(
                    apigateway.AuthorizationType.NONE if webhook else apigateway.AuthorizationType.COGNITO
                ),
            )  # fmt: skip
            if webhook:
                for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                    acknowledge(
                        method,
                        rule,
                        "Dfns cannot present a Cognito token: the webhook is authenticated by its "
                        "HMAC-SHA256 signature and timestamp, checked before anything is parsed.",
                    )
