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
    from managed_accounts.data.orders_repository import DynamoOrdersRepository
    from managed_accounts.data.repository import DynamoAccountsRepository
    from managed_accounts.domain.audit_ingest import AuditIngestJob
    from managed_accounts.domain.destinations import DestinationService
    from managed_accounts.domain.drift import DriftReporter
    from managed_accounts.domain.mandates import MandateOutcomes, MandateSettler
    from managed_accounts.domain.onboarding import OnboardingService
    from managed_accounts.domain.order_legs import OrderLegWorker
    from managed_accounts.domain.order_outcomes import OrderOutcomes, OrderTransitions
    from managed_accounts.domain.order_runs import OrderRunPlanner
    from managed_accounts.domain.reconciler import Reconciler
    from managed_accounts.domain.reports import ClientReports
    from managed_accounts.domain.trading import CountBudget, ExchangeCatalog
    from managed_accounts.domain.trading_service import TradingService
    from managed_accounts.domain.webhook_processor import WebhookProcessor
    from managed_accounts.order_commands import TradingCommands
    from managed_accounts.order_queue import SqsOrderLegQueue

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
    # Mandates wait for their exchange address: they hear where destination requests resolve.
    return DestinationService(a.repository, a.dfns, a.publisher, a.clock, listeners=(mandate_outcomes(),))


@lru_cache(maxsize=1)
def destination_commands() -> DestinationCommands:
    from managed_accounts.commands import DestinationCommands

    return DestinationCommands(destination_service(), _idempotency_store())


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
        orders=order_outcomes(),
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
        outbox=Outbox(
            built.repository,
            built.publisher,
            relay_after=timedelta(seconds=built.settings.outbox_relay_after_seconds),
        ),
        max_approvals=built.settings.reconcile_max_approvals,
        max_accounts=built.settings.reconcile_max_accounts,
        orders=order_outcomes(),
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
        *_TRADING_BUILDERS,
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


# --- trading: mandates, order runs, orders ------------------------------------------------------------


@lru_cache(maxsize=1)
def orders_repository() -> DynamoOrdersRepository:
    from managed_accounts.data.orders_repository import DynamoOrdersRepository

    return DynamoOrdersRepository(_table(adapters().settings))


def exchange_catalog_of(settings: Settings) -> ExchangeCatalog:
    """``Settings.exchanges`` as the domain's catalog of tradable assets."""
    from managed_accounts.domain.trading import ExchangeCatalog, TradableAsset

    return ExchangeCatalog(
        [
            TradableAsset(
                exchange=name,
                network=network,
                symbol=asset.symbol,
                kind=asset.kind,
                decimals=asset.decimals,
                deposit_address=exchange.deposit_addresses[network],
                contract=asset.contract,
            )
            for name, exchange in settings.exchanges.items()
            for network, assets in exchange.assets.items()
            for asset in assets
        ]
    )


def count_budgets_of(settings: Settings) -> dict[str, CountBudget]:
    """Each limit profile's transfer-count budget (its ``TransactionCountVelocity``), if it sets one."""
    from managed_accounts.domain.trading import CountBudget

    return {
        name: CountBudget(profile.count_limit, timedelta(minutes=profile.count_timeframe_minutes))
        for name, profile in settings.limit_profiles.items()
        if profile.count_limit is not None
    }


@lru_cache(maxsize=1)
def exchange_catalog() -> ExchangeCatalog:
    return exchange_catalog_of(adapters().settings)


@lru_cache(maxsize=1)
def mandate_settler() -> MandateSettler:
    from managed_accounts.domain.mandates import MandateSettler

    a = adapters()
    return MandateSettler(orders_repository(), a.repository, a.clock)


@lru_cache(maxsize=1)
def mandate_outcomes() -> MandateOutcomes:
    from managed_accounts.domain.mandates import MandateOutcomes

    return MandateOutcomes(mandate_settler(), orders_repository())


@lru_cache(maxsize=1)
def order_transitions() -> OrderTransitions:
    from managed_accounts.domain.order_outcomes import OrderTransitions
    from managed_accounts.domain.outbox import Outbox

    a = adapters()
    return OrderTransitions(orders_repository(), Outbox(a.repository, a.publisher), a.clock)


@lru_cache(maxsize=1)
def order_outcomes() -> OrderOutcomes:
    """Transfer outcomes (webhooks, the reconciler) on orders."""
    from managed_accounts.domain.order_outcomes import OrderOutcomes

    return OrderOutcomes(orders_repository(), order_transitions())


@lru_cache(maxsize=1)
def order_leg_queue() -> SqsOrderLegQueue:
    import boto3

    from managed_accounts.order_queue import SqsOrderLegQueue

    settings = adapters().settings
    if not settings.order_queue_url:
        raise RuntimeError("ORDER_QUEUE_URL is not set: order runs need the order-leg queue")
    return SqsOrderLegQueue(boto3.client("sqs", **settings.aws_client_kwargs()), settings.order_queue_url)


@lru_cache(maxsize=1)
def order_run_planner() -> OrderRunPlanner:
    from managed_accounts.domain.order_runs import OrderRunPlanner

    a = adapters()
    return OrderRunPlanner(
        orders_repository(),
        lazy(order_leg_queue),
        a.clock,
        breaker_threshold=a.settings.order_breaker_threshold,
    )


@lru_cache(maxsize=1)
def trading_service() -> TradingService:
    from managed_accounts.domain.mandates import MandateService
    from managed_accounts.domain.trading_service import TradingService

    a = adapters()
    mandates = MandateService(
        orders_repository(), a.repository, destination_service(), exchange_catalog(), a.clock
    )
    return TradingService(mandates, order_run_planner(), orders_repository())


@lru_cache(maxsize=1)
def trading_commands() -> TradingCommands:
    from managed_accounts.order_commands import TradingCommands

    return TradingCommands(trading_service(), _idempotency_store())


def _idempotency_store() -> Any:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    settings = get_settings()
    return DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name,
        boto3_client=boto3.client("dynamodb", **settings.aws_client_kwargs()),
    )


def _order_dfns_client(settings: Settings) -> DfnsGateway:
    """The worker's Dfns client: one in-process retry at most (a short ``Retry-After`` is waited out);
    past that the leg goes back to the queue, which is the retry that honours a long one."""
    from managed_accounts.dfns.client import DfnsClient
    from managed_accounts.dfns.signing import UserActionSigner
    from managed_accounts.secrets import get_dfns_credentials

    creds = get_dfns_credentials(settings)
    return DfnsClient(
        str(settings.dfns_api_url),
        creds.token.get_secret_value(),
        UserActionSigner(creds.cred_id, creds.private_key_pem.get_secret_value()),
        timeout=settings.dfns_timeout_seconds,
        deadline=min(settings.dfns_deadline_seconds, 15.0),
        max_attempts=2,
        user_agent=f"{settings.service_name}/{settings.stage}",
    )


@lru_cache(maxsize=1)
def order_leg_worker() -> OrderLegWorker:
    from managed_accounts.domain.order_legs import OrderLegWorker
    from managed_accounts.observability import metrics

    a = adapters()
    return OrderLegWorker(
        orders=orders_repository(),
        accounts=a.repository,
        dfns=lazy(lambda: _order_dfns_client(a.settings)),
        queue=lazy(order_leg_queue),
        planner=order_run_planner(),
        transitions=order_transitions(),
        settler=mandate_settler(),
        catalog=exchange_catalog(),
        budgets=count_budgets_of(a.settings),
        clock=a.clock,
        metrics=metrics,
        breaker_threshold=a.settings.order_breaker_threshold,
    )


_TRADING_BUILDERS = (
    orders_repository,
    exchange_catalog,
    mandate_settler,
    mandate_outcomes,
    order_transitions,
    order_outcomes,
    order_leg_queue,
    order_run_planner,
    trading_service,
    trading_commands,
    order_leg_worker,
)
