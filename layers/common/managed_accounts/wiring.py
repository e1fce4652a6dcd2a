"""The one place that builds real adapters and services. Every handler takes its dependency as an
optional parameter (tests pass fakes) and falls back to the builder here, once per cold start.

AWS clients honour ``settings.aws_endpoint_url`` (moto on the local stack). Costly adapters are
``lazy``: the Dfns client (and so its credentials), the EventBridge client and the webhook processor
are built on first use, so a route or an unauthenticated webhook that never needs them never pays.
Modules that only some functions need are imported inside their builders to keep cold starts short.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from managed_accounts.config import Settings, get_settings
from managed_accounts.domain.ports import (
    ApprovalResolver,
    AuditLogSource,
    Clock,
    DfnsGateway,
    EventPublisher,
    PolicyRegistry,
    ReportsDfnsGateway,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from managed_accounts.api.webhook_endpoint import WebhookReceiver
    from managed_accounts.bootstrap import BootstrapGateway, SecretsManagerWebhookSecrets
    from managed_accounts.commands import DestinationCommands
    from managed_accounts.data.audit_repository import DynamoAuditRepository
    from managed_accounts.data.repository import DynamoAccountsRepository
    from managed_accounts.domain.audit_ingest import AuditIngestJob
    from managed_accounts.domain.destinations import DestinationService
    from managed_accounts.domain.drift import DriftReporter
    from managed_accounts.domain.onboarding import OnboardingService
    from managed_accounts.domain.reconciler import Reconciler
    from managed_accounts.domain.reports import ClientReports
    from managed_accounts.domain.webhook_processor import WebhookProcessor

T = TypeVar("T")


class _Lazy(Generic[T]):
    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._target: T | None = None

    def __getattr__(self, name: str) -> Any:
        if self._target is None:
            self._target = self._build()
        return getattr(self._target, name)


def lazy(build: Callable[[], T]) -> T:
    """A stand-in for ``build()`` that calls it on first use (attribute access), then delegates."""
    return cast(T, _Lazy(build))


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Adapters:
    settings: Settings
    repository: DynamoAccountsRepository
    dfns: DfnsGateway
    publisher: EventPublisher
    clock: Clock


def _table(settings: Settings) -> Table:
    import boto3

    return boto3.resource("dynamodb", **settings.aws_client_kwargs()).Table(settings.table_name)


def _dfns_client(settings: Settings) -> DfnsGateway:
    from managed_accounts.dfns.factory import build_dfns_client

    return build_dfns_client(settings)


def _event_publisher(settings: Settings) -> EventPublisher:
    import boto3

    from managed_accounts.eventbridge import EventBridgePublisher

    client = boto3.client("events", **settings.aws_client_kwargs())
    return EventBridgePublisher(client, settings.event_bus_name)


@lru_cache(maxsize=1)
def adapters() -> Adapters:
    """The process's adapters, built once."""
    from managed_accounts.data.repository import DynamoAccountsRepository

    settings = get_settings()
    return Adapters(
        settings=settings,
        repository=DynamoAccountsRepository(_table(settings)),
        dfns=lazy(lambda: _dfns_client(settings)),
        publisher=lazy(lambda: _audited(_event_publisher(settings))),
        clock=SystemClock(),
    )


# --- client-facing functions -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def onboarding_service() -> OnboardingService:
    from managed_accounts.domain.onboarding import OnboardingService

    a = adapters()
    return OnboardingService(a.repository, a.dfns, a.settings, a.publisher, a.clock)


@lru_cache(maxsize=1)
def destination_service() -> DestinationService:
    from managed_accounts.domain.destinations import DestinationService

    a = adapters()
    return DestinationService(a.repository, a.dfns, a.publisher, a.clock)


@lru_cache(maxsize=1)
def destination_commands() -> DestinationCommands:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from managed_accounts.commands import DestinationCommands

    settings = get_settings()
    store = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name,
        boto3_client=boto3.client("dynamodb", **settings.aws_client_kwargs()),
    )
    return DestinationCommands(destination_service(), store)


# --- webhooks and the reconciler ---------------------------------------------------------------------


def _drift(built: Adapters) -> DriftReporter:
    from managed_accounts.domain.drift import DriftReporter
    from managed_accounts.observability import metrics

    return DriftReporter(built.publisher, metrics, built.clock)


def _webhook_processor() -> WebhookProcessor:
    from managed_accounts.data.dedupe import DynamoDedupeStore
    from managed_accounts.domain.webhook_processor import WebhookProcessor

    built = adapters()
    return WebhookProcessor(
        dfns=built.dfns,
        approvals=_recording_decisions(destination_service()),
        accounts=built.repository,
        facts=DynamoDedupeStore(_table(built.settings)),
        drift=_drift(built),
    )


@lru_cache(maxsize=1)
def webhook_receiver() -> WebhookReceiver:
    """Only the secret is read before a webhook is authenticated; the processor comes after."""
    from managed_accounts.api.webhook_endpoint import WebhookReceiver
    from managed_accounts.observability import metrics
    from managed_accounts.secrets import get_webhook_secret

    settings = get_settings()
    return WebhookReceiver(
        secret=lambda: get_webhook_secret(settings),
        processor=lazy(_webhook_processor),
        clock=SystemClock(),
        tolerance_seconds=settings.webhook_tolerance_seconds,
        metrics=metrics,
    )


@lru_cache(maxsize=1)
def reconciler() -> Reconciler:
    from managed_accounts.domain.outbox import Outbox
    from managed_accounts.domain.reconciler import Reconciler

    built = adapters()
    return Reconciler(
        dfns=built.dfns,
        repository=built.repository,
        destinations=_recording_decisions(destination_service()),
        drift=_drift(built),
        clock=built.clock,
        onboarding=onboarding_service(),
        outbox=Outbox(built.repository, built.publisher),
        max_approvals=built.settings.reconcile_max_approvals,
        max_accounts=built.settings.reconcile_max_accounts,
    )


# --- the Dfns bootstrap (custom resource) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BootstrapDependencies:
    settings: Settings
    webhook_url: str
    gateway: Callable[[], BootstrapGateway]  # built when called: reading the credentials may fail
    webhook_secrets: SecretsManagerWebhookSecrets
    # Where the bootstrap records the shared policy ids for the restrictions view (issue 15).
    policy_registry: PolicyRegistry | None = None


@lru_cache(maxsize=1)
def bootstrap_dependencies() -> BootstrapDependencies:
    import boto3
    from pydantic_settings import BaseSettings, SettingsConfigDict

    from managed_accounts.bootstrap import SecretsManagerWebhookSecrets
    from managed_accounts.dfns.factory import build_dfns_client
    from managed_accounts.secrets import get_dfns_credentials

    class BootstrapEnvironment(BaseSettings):
        """What only the bootstrap needs: where Dfns must deliver webhooks (the deployed API)."""

        model_config = SettingsConfigDict(frozen=True, extra="ignore")
        webhook_url: str

    settings = get_settings()
    client = boto3.client("secretsmanager", **settings.aws_client_kwargs())
    return BootstrapDependencies(
        settings=settings,
        webhook_url=BootstrapEnvironment().webhook_url,  # read from the environment
        gateway=lambda: build_dfns_client(settings, get_dfns_credentials(settings, force_fetch=True)),
        webhook_secrets=SecretsManagerWebhookSecrets(client, settings.webhook_secret_name),
        policy_registry=policy_registry(),
    )


def reset() -> None:
    """Forget every built object (tests that change the environment between cases)."""
    for cached in (
        adapters,
        onboarding_service,
        destination_service,
        destination_commands,
        webhook_receiver,
        reconciler,
        bootstrap_dependencies,
        _reports_table,
        audit_repository,
        policy_registry,
        client_reports,
        audit_ingest_job,
    ):
        cached.cache_clear()


# --- reports: the client-transparency views and the audit trail (issue 15) ---------------------------


@lru_cache(maxsize=1)
def _reports_table() -> Table:
    return _table(get_settings())


@lru_cache(maxsize=1)
def audit_repository() -> DynamoAuditRepository:
    from managed_accounts.data.audit_repository import DynamoAuditRepository

    return DynamoAuditRepository(_reports_table())


@lru_cache(maxsize=1)
def policy_registry() -> PolicyRegistry:
    from managed_accounts.data.audit_repository import DynamoPolicyRegistry

    return DynamoPolicyRegistry(_reports_table())


def _audited(publisher: EventPublisher) -> EventPublisher:
    """Every domain event about a client is filed in the client's audit trail as it is published."""
    from managed_accounts.domain.audit_trail import AuditingPublisher

    return AuditingPublisher(publisher, audit_repository())


def _recording_decisions(resolver: ApprovalResolver) -> ApprovalResolver:
    """The webhook handler and the reconciler file the officers' decisions of each approval they re-read."""
    from managed_accounts.domain.audit_trail import DecisionRecorder

    return DecisionRecorder(resolver, adapters().repository, audit_repository())


@lru_cache(maxsize=1)
def client_reports() -> ClientReports:
    from managed_accounts.dfns.assertions import CryptographySignatureVerifier
    from managed_accounts.domain.activity import ActivityService
    from managed_accounts.domain.audit_trail import AuditTrailService
    from managed_accounts.domain.reports import ClientReports
    from managed_accounts.domain.restrictions import RestrictionsService
    from managed_accounts.domain.statement import StatementService

    built = adapters()
    dfns = cast(ReportsDfnsGateway, built.dfns)
    audit = audit_repository()
    return ClientReports(
        restrictions_service=RestrictionsService(built.repository, dfns, policy_registry(), built.clock),
        activity_service=ActivityService(built.repository, dfns),
        audit_service=AuditTrailService(built.repository, audit, CryptographySignatureVerifier()),
        statement_service=StatementService(built.repository, dfns, audit, built.clock),
        clock=built.clock,
    )


@lru_cache(maxsize=1)
def audit_ingest_job() -> AuditIngestJob:
    from managed_accounts.domain.audit_ingest import AuditIngestJob

    built = adapters()
    return AuditIngestJob(
        source=cast(AuditLogSource, built.dfns),
        accounts=built.repository,
        audit=audit_repository(),
        clock=built.clock,
        settle=timedelta(seconds=built.settings.audit_ingest_settle_seconds),
    )
