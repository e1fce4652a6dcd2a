"""``ManagedAccountsStack``: a thin composition of one construct per capability, and ``build_app``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, App, CfnOutput, Environment, Stack, Tags, Validations
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra.bundling import bundling_skipped, common_layer_dir
from infra.capabilities.api import ApiConstruct
from infra.capabilities.data import DataConstruct
from infra.capabilities.dfns_bootstrap import DfnsBootstrapConstruct
from infra.capabilities.events import EventsConstruct
from infra.capabilities.functions import FunctionsConstruct, OrderWorkerScaling
from infra.capabilities.observability import ObservabilityConstruct
from infra.capabilities.schedules import SchedulesConstruct
from infra.capabilities.secrets import SecretsConstruct
from infra.config import StageConfig, load_stage_config
from infra.constants import CDK_JSON, DEFAULT_STAGE, SERVICE_NAME, STACK_ID
from infra.specs import BOOTSTRAP_ID, SPECS, FunctionSpec, function_specs


class ManagedAccountsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        config: StageConfig,
        layer_dir: Path,
        specs: Iterable[FunctionSpec] = SPECS,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stage = stage
        Tags.of(self).add("service", SERVICE_NAME)
        Tags.of(self).add("stage", stage)
        environment = config.function_environment(stage)
        settings = config.app_settings(stage)
        if not settings.compliance_approver_ids:
            Annotations.of(self).add_warning_v2(
                "managed-accounts:no-compliance-approvers",
                f"stages.{stage}.settings.complianceApproverIds is empty: the Dfns bootstrap will refuse to "
                "run (a governance policy nobody can approve would lock every policy). See docs/DEPLOY.md.",
            )
        retention = logs.RetentionDays[config.log_retention]
        retain = config.retains_data
        if not retain:
            Annotations.of(self).add_warning_v2(
                "managed-accounts:throwaway",
                f"stage {stage} is throwaway: its tables and secrets are deleted with the stack.",
            )

        self.secrets = SecretsConstruct(self, "Secrets", stage=stage, retain=retain)
        self.data = DataConstruct(self, "Data", retain=retain)
        self.events = EventsConstruct(self, "Events", stage=stage, key=self.secrets.key)
        self.schedules = SchedulesConstruct(self, "Schedules")
        checked = function_specs(specs)
        self.functions = FunctionsConstruct(
            self,
            "Functions",
            specs=checked,
            layer_dir=layer_dir,
            environment=environment,
            data=self.data,
            secrets=self.secrets,
            bus=self.events.bus,
            order_queue=self.schedules.order_queue,
            order_worker=OrderWorkerScaling(
                settings.order_worker_concurrency, settings.order_worker_batch_size
            ),
            log_retention=retention,
        )
        functions = self.functions.functions
        for spec in checked:
            for schedule in spec.schedules:
                self.schedules.add(schedule, functions[spec.id], settings)
        self.api = ApiConstruct(
            self,
            "Api",
            stage=stage,
            functions=dict(functions),
            frontend_origins=list(settings.frontend_origins),
            throttles=config.api_throttles,
            log_retention=retention,
            retain=retain,
        )
        bootstrap_function = functions[BOOTSTRAP_ID]
        bootstrap_function.add_environment("WEBHOOK_URL", self.api.webhook_url)
        self.bootstrap = DfnsBootstrapConstruct(
            self,
            "DfnsBootstrap",
            function=bootstrap_function,
            environment={**environment, "WEBHOOK_URL": self.api.webhook_url},
            log_retention=retention,
        )
        self.observability = ObservabilityConstruct(
            self,
            "Observability",
            stage=stage,
            key=self.secrets.key,
            functions=dict(functions),
            dead_letter_queues={"OrderLegsDLQ": self.schedules.order_dlq},
            api=self.api.api,
            alarm_email=config.alarm_email,
        )
        for name, value in {
            "ApiUrl": self.api.api.url,
            "WebhookUrl": self.api.webhook_url,
            "UserPoolId": self.api.user_pool.user_pool_id,
            "UserPoolClientId": self.api.user_pool_client.user_pool_client_id,
            "DfnsSecretName": self.secrets.dfns_secret.secret_name,
            "WebhookSecretName": self.secrets.webhook_secret.secret_name,
            "BootstrapFunctionName": bootstrap_function.function_name,
            "ClientNotificationsTopicArn": self.events.client_topic.topic_arn,
            "AlarmTopicArn": self.observability.topic.topic_arn,
            "OrderQueueUrl": self.schedules.order_queue.queue_url,
        }.items():
            CfnOutput(self, name, value=value)


def build_app(
    *,
    nag: bool = True,
    outdir: str | None = None,
    context: dict[str, Any] | None = None,
    specs: Iterable[FunctionSpec] = SPECS,
) -> tuple[App, ManagedAccountsStack]:
    """The app with its one stack; ``nag`` attaches cdk-nag's AwsSolutions checks (findings fail synth).

    Without the CDK CLI (``make synth``, tests) nobody reads ``cdk.json``: its context is loaded here, and
    ``context`` overrides it. ``specs`` replaces the function specs (tests of the spec machinery).
    """
    if "CDK_CONTEXT_JSON" not in os.environ:
        context = {**json.loads(CDK_JSON.read_text()).get("context", {}), **(context or {})}
    app = App(outdir=outdir, context=context)
    stage = str(app.node.try_get_context("stage") or DEFAULT_STAGE)
    skip = bundling_skipped(app.node.try_get_context("bundling"))
    stack = ManagedAccountsStack(
        app,
        STACK_ID,
        stage=stage,
        config=load_stage_config(
            app.node.try_get_context("stages"), stage, throwaway=app.node.try_get_context("throwaway")
        ),
        layer_dir=common_layer_dir(skip=skip),
        specs=specs,
        stack_name=f"{SERVICE_NAME}-{stage}",
        description=f"Managed investment accounts on Dfns ({stage})",
        env=Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
        ),
    )
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
