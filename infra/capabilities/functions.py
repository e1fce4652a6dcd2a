"""One Lambda per ``FunctionSpec`` (``infra/specs.py``: the route table's functions, the reconciler, the
audit-log ingestion, the order-run planner and worker, the bootstrap): each with its own role holding
exactly what its spec declares, an explicit log group, X-Ray tracing, ARM64, the common layer and the
settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.bundling import ASSET_EXCLUDES, function_asset_dir
from infra.capabilities.data import DataConstruct
from infra.capabilities.secrets import SecretsConstruct
from infra.constants import (
    ARCHITECTURE,
    FUNCTION_MEMORY_MB,
    METRICS_NAMESPACE,
    PYTHON_VERSION,
    RUNTIME,
    SERVICE_NAME,
)
from infra.nag import acknowledge
from infra.specs import FunctionSpec, construct_name


@dataclass(frozen=True, slots=True)
class OrderWorkerScaling:
    """The order-leg worker's SQS event source: at most ``concurrency`` invocations of ``batch_size`` legs."""

    concurrency: int
    batch_size: int


class FunctionsConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        specs: Iterable[FunctionSpec],
        layer_dir: Path,
        environment: dict[str, str],
        data: DataConstruct,
        secrets: SecretsConstruct,
        bus: events.IEventBus,
        order_queue: sqs.IQueue,
        order_worker: OrderWorkerScaling,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "CommonLayer",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="managed_accounts package and its runtime dependencies",
        )
        self._data, self._secrets, self._bus, self._order_queue = data, secrets, bus, order_queue
        self._order_worker = order_worker
        env = {
            **environment,
            "TABLE_NAME": data.table.table_name,
            "IDEMPOTENCY_TABLE_NAME": data.idempotency_table.table_name,
            "EVENT_BUS_NAME": bus.event_bus_name,
            "DFNS_SECRET_NAME": secrets.dfns_secret.secret_name,
            "WEBHOOK_SECRET_NAME": secrets.webhook_secret.secret_name,
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        self.specs: dict[str, FunctionSpec] = {}
        self.functions: dict[str, lambda_.Function] = {}
        for spec in specs:
            function_env = (
                {**env, "ORDER_QUEUE_URL": order_queue.queue_url} if spec.order_legs != "none" else env
            )
            self.specs[spec.id] = spec
            self.functions[spec.id] = self._function(spec, function_env, log_retention)
            self._grant(self.functions[spec.id], spec)

    def _function(
        self, spec: FunctionSpec, env: dict[str, str], retention: logs.RetentionDays
    ) -> lambda_.Function:
        scope = Construct(self, construct_name(spec.id))
        log_group = logs.LogGroup(scope, "Logs", retention=retention)
        role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{SERVICE_NAME} {spec.id}: least privilege",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            scope,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(str(function_asset_dir(spec.folder)), exclude=ASSET_EXCLUDES),
            handler=spec.handler,
            layers=[self.layer],
            role=role,
            log_group=log_group,
            memory_size=FUNCTION_MEMORY_MB,
            timeout=spec.timeout,
            tracing=lambda_.Tracing.ACTIVE,
            environment=env,
            description=f"{SERVICE_NAME}: {spec.folder}/{spec.handler}",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            f"Pinned to Python {PYTHON_VERSION}: the layer's compiled wheels (pydantic-core) are built for "
            "that CPython; bump constants.PYTHON_VERSION and RUNTIME together.",
        )
        return function

    def _grant(self, function: lambda_.Function, spec: FunctionSpec) -> None:
        role = function.role
        assert role is not None
        self._grant_data(role, spec)
        self._grant_secrets(role, spec)
        if spec.events:
            self._bus.grant_put_events_to(role)
        if spec.order_legs != "none":
            self._order_queue.grant_send_messages(role)
        if spec.order_legs == "consume":
            # Each leg is reported on its own: a failed leg is retried (then dead-lettered) alone. The
            # bounded concurrency keeps a run under the Dfns rate limit (ORDER_WORKER_CONCURRENCY).
            function.add_event_source(
                sources.SqsEventSource(
                    self._order_queue,
                    batch_size=self._order_worker.batch_size,
                    max_concurrency=self._order_worker.concurrency,
                    report_batch_item_failures=True,
                )
            )

    def _grant_data(self, role: iam.IRole, spec: FunctionSpec) -> None:
        """Item actions on the tables themselves; Query on the named indexes only (never ``/index/*``);
        partition grants conditioned on ``dynamodb:LeadingKeys``."""
        data = self._data

        def allow(
            actions: Iterable[str], resources: list[str], conditions: dict[str, Any] | None = None
        ) -> None:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[f"dynamodb:{a}" for a in sorted(set(actions))],
                    resources=resources,
                    conditions=conditions,
                )
            )

        if spec.table:
            allow(spec.table, [data.table.table_arn])
        if spec.indexes:
            allow(["Query"], [data.index_arn(i) for i in sorted(set(spec.indexes))])
        for grant in spec.partitions:
            # A prefix (``DFNSREF#*``) needs StringLike; exact keys keep StringEquals (no wildcard at all).
            operator = "ForAllValues:StringLike" if grant.by_prefix else "ForAllValues:StringEquals"
            leading = {operator: {"dynamodb:LeadingKeys": list(grant.partitions)}}
            allow(grant.actions, [data.table.table_arn], leading)
        if spec.idempotency:
            allow(spec.idempotency, [data.idempotency_table.table_arn])

    def _grant_secrets(self, role: iam.IRole, spec: FunctionSpec) -> None:
        """GetSecretValue/DescribeSecret (and kms:Decrypt through Secrets Manager) to read; the one writer
        adds PutSecretValue and the data key a new value needs, never UpdateSecret or version stages."""
        secrets = self._secrets
        for secret, access in (
            (secrets.dfns_secret, spec.dfns_credentials),
            (secrets.webhook_secret, spec.webhook_hmac),
        ):
            if access == "none":
                continue
            secret.grant_read(role)
            if access == "read_write":
                role.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=["secretsmanager:PutSecretValue"], resources=[secret.secret_arn]
                    )
                )
                secrets.key.grant(
                    kms.ViaServicePrincipal(f"secretsmanager.{Stack.of(self).region}.amazonaws.com", role),
                    "kms:GenerateDataKey",
                )
