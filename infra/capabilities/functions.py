"""One Lambda per function folder of the route table, plus the reconciler and the bootstrap: each with its
own least-privilege role, explicit log group, X-Ray tracing, ARM64, the common layer and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from managed_accounts.routes import FUNCTIONS

from infra.bundling import ASSET_EXCLUDES, function_asset_dir
from infra.capabilities.data import DataConstruct
from infra.capabilities.secrets import SecretsConstruct
from infra.constants import (
    API_FUNCTION_TIMEOUT,
    ARCHITECTURE,
    BOOTSTRAP,
    BOOTSTRAP_TIMEOUT,
    FUNCTION_MEMORY_MB,
    METRICS_NAMESPACE,
    PYTHON_VERSION,
    RECONCILER,
    RECONCILER_TIMEOUT,
    RUNTIME,
    SERVICE_NAME,
)
from infra.nag import acknowledge, arn_wildcard


@dataclass(frozen=True, slots=True)
class Access:
    """What one function may touch; everything else is denied by omission."""

    table: bool = True
    idempotency: bool = True
    dfns_secret: bool = True
    webhook_secret_read: bool = False
    webhook_secret_write: bool = False
    events: bool = True


# Route functions not listed (later issues: orders, reports) get the default: data, Dfns, events.
# Only the destinations function keeps Powertools idempotency records (request creation); onboarding is
# idempotent by design and webhooks de-duplicate on the business fact in the main table.
ACCESS: dict[str, Access] = {
    "onboard": Access(idempotency=False),
    "webhooks": Access(idempotency=False, webhook_secret_read=True),
    "reconciler": Access(idempotency=False),
    # The bootstrap talks to Dfns and keeps the webhook secret; it never touches client data.
    "bootstrap": Access(table=False, idempotency=False, events=False, webhook_secret_read=True,
                        webhook_secret_write=True),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    id: str
    folder: str
    handler: str
    timeout: Duration


def function_specs() -> list[FunctionSpec]:
    specs = [FunctionSpec(name, name, "handler.handler", API_FUNCTION_TIMEOUT) for name in FUNCTIONS]
    for (fid, folder, handler), timeout in ((RECONCILER, RECONCILER_TIMEOUT), (BOOTSTRAP, BOOTSTRAP_TIMEOUT)):
        specs.append(FunctionSpec(fid, folder, handler, timeout))
    return specs


class FunctionsConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer_dir: Path,
        environment: dict[str, str],
        data: DataConstruct,
        secrets: SecretsConstruct,
        bus: events.IEventBus,
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
        self.functions: dict[str, lambda_.Function] = {}
        for spec in function_specs():
            self.functions[spec.id] = self._function(spec, env, log_retention)
            self._grant(self.functions[spec.id], ACCESS.get(spec.id, Access()), data, secrets, bus)

    def _function(
        self, spec: FunctionSpec, env: dict[str, str], retention: logs.RetentionDays
    ) -> lambda_.Function:
        scope = Construct(self, spec.id.capitalize())
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

    @staticmethod
    def _grant(
        function: lambda_.Function,
        access: Access,
        data: DataConstruct,
        secrets: SecretsConstruct,
        bus: events.IEventBus,
    ) -> None:
        role = function.role
        assert role is not None
        if access.table:
            data.table.grant_read_write_data(role)
            acknowledge(
                role,
                arn_wildcard(data.table, "/index/*"),
                "Queries on the main table's own GSIs (schema.py); no other table or index.",
            )
        if access.idempotency:
            data.idempotency_table.grant_read_write_data(role)
        if access.dfns_secret:
            secrets.dfns_secret.grant_read(role)
        if access.webhook_secret_read:
            secrets.webhook_secret.grant_read(role)
        if access.webhook_secret_write:
            secrets.webhook_secret.grant_write(role)
        if access.events:
            bus.grant_put_events_to(role)
