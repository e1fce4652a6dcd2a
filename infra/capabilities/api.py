"""The REST API built from ``managed_accounts.routes.ROUTES`` (the same table the local gateway uses):
Cognito on client and operator routes, none on the Dfns webhook (its HMAC is the authentication)."""

from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from managed_accounts.routes import OPERATORS_GROUP, ROUTES

from infra.capabilities.waf import WebAclConstruct
from infra.constants import SERVICE_NAME
from infra.nag import acknowledge


class ApiConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        functions: dict[str, lambda_.IFunction],
        frontend_origins: list[str],
        throttle_rate: float,
        throttle_burst: int,
        log_retention: logs.RetentionDays,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
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

        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        cors = (
            apigateway.CorsOptions(
                allow_origins=frontend_origins,
                allow_methods=sorted({r.method for r in ROUTES}),
                allow_headers=["Authorization", "Content-Type"],
                max_age=Duration.hours(1),
            )
            if frontend_origins
            else None
        )
        self.api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{SERVICE_NAME}-{stage}",
            description="Managed investment accounts on Dfns",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            default_cors_preflight_options=cors,
            deploy_options=apigateway.StageOptions(
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
                throttling_rate_limit=throttle_rate,
                throttling_burst_limit=throttle_burst,
            ),
        )  # fmt: skip
        if len(frontend_origins) == 1:
            # API Gateway's own errors (401 from the authorizer, 429 throttling) carry CORS headers too, so
            # the browser shows the real status. A gateway response has one static origin: with several
            # configured origins those errors stay opaque to the browser.
            origin = {"Access-Control-Allow-Origin": f"'{frontend_origins[0]}'", "Vary": "'Origin'"}
            for kind, response_type in (("4xx", apigateway.ResponseType.DEFAULT_4_XX),
                                        ("5xx", apigateway.ResponseType.DEFAULT_5_XX)):  # fmt: skip
                self.api.add_gateway_response(f"Default{kind}", type=response_type, response_headers=origin)
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        integrations: dict[str, apigateway.LambdaIntegration] = {}
        for route in ROUTES:
            resource = self.api.root.resource_for_path(route.path)
            integration = integrations.setdefault(
                route.function,
                apigateway.LambdaIntegration(functions[route.function], allow_test_invoke=False),
            )
            params = {f"method.request.path.{name}": True for name in re.findall(r"{(\w+)}", route.path)}
            if route.auth == "webhook":
                method = resource.add_method(
                    route.method, integration, request_validator=validator, request_parameters=params or None,
                    authorization_type=apigateway.AuthorizationType.NONE,
                )  # fmt: skip
                for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                    acknowledge(
                        method,
                        rule,
                        "Dfns cannot present a Cognito token: the webhook is authenticated by its "
                        "HMAC-SHA256 signature and timestamp, checked before anything is parsed.",
                    )
            else:
                resource.add_method(
                    route.method, integration, request_validator=validator, request_parameters=params or None,
                    authorizer=self.authorizer, authorization_type=apigateway.AuthorizationType.COGNITO,
                )  # fmt: skip
        push_logs = (
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
        )
        acknowledge(
            self.api.node.find_child("CloudWatchRole"),
            f"AwsSolutions-IAM4[{push_logs}]",
            "API Gateway's account-level logging role: AWS's managed policy is the documented one.",
        )
        self.web_acl = WebAclConstruct(self, "Waf", stage=self.api.deployment_stage)
        webhook_route = next(r for r in ROUTES if r.auth == "webhook")
        self.webhook_url = self.api.url_for_path(webhook_route.path)
