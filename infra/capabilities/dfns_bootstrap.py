"""The Dfns bootstrap as a custom resource: every deploy whose Dfns-facing configuration changed re-runs
``functions/bootstrap`` (idempotent), through the CDK Provider framework (responses, timeouts, retries)."""

from __future__ import annotations

from aws_cdk import CustomResource, custom_resources
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge, arn_wildcard

# The settings bootstrap_dfns reads: a change to any of them changes the resource, so CloudFormation
# sends an Update and the bootstrap runs again.
TRIGGERS = (
    "DFNS_API_URL",
    "COMPLIANCE_APPROVER_IDS",
    "COMPLIANCE_QUORUM",
    "DFNS_SERVICE_ACCOUNT_ID",
    "APPROVAL_TIMEOUT_MINUTES",
    "LIMIT_PROFILES",
    "WEBHOOK_URL",
)


class DfnsBootstrapConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        environment: dict[str, str],
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        provider = custom_resources.Provider(
            self,
            "Provider",
            on_event_handler=function,
            log_group=logs.LogGroup(self, "ProviderLogs", retention=log_retention),
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::DfnsBootstrap",
            properties={name: environment.get(name, "") for name in TRIGGERS},
        )
        on_event = provider.node.find_child("framework-onEvent")
        basic_role = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        for rule, reason in (
            (f"AwsSolutions-IAM4[{basic_role}]",
             "The CDK Provider framework's own function uses the basic execution role (logs only)."),
            ("AwsSolutions-L1", "The CDK Provider framework picks its own Node.js runtime."),
            (arn_wildcard(function, ":*"), "The framework may invoke the bootstrap's versions only."),
        ):  # fmt: skip
            acknowledge(on_event, rule, reason)
