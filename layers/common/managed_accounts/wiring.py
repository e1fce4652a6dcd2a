"""Builds the real adapters from settings, once per cold start (handlers cache what these return).

AWS clients honour ``settings.aws_endpoint_url`` (moto on the local stack). The Dfns client is built
lazily, on the first Dfns call, so routes that never reach Dfns (reads) never load its credentials.

The webhook receiver and the reconciler are built here too. The webhook's adapters (boto3, the Dfns
client and its credentials) are built only when the first *authenticated* event needs them: an
unauthenticated request costs the secret read and nothing else. Their modules are imported inside the
builders, so the API functions' cold starts do not pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from managed_accounts.config import Settings, get_settings
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.dfns.gateway import DfnsGateway
from managed_accounts.domain.clock import Clock, SystemClock
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.events import DomainEvent, EventBridgePublisher, EventPublisher
from managed_accounts.domain.onboarding import OnboardingService

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from mypy_boto3_dynamodb.service_resource import Table

    from managed_accounts.dfns.models import WebhookEvent
    from managed_accounts.domain.reconciler import Reconciler
    from managed_accounts.domain.security import DriftReporter
    from managed_accounts.domain.webhook_receiver import WebhookReceiver
    from managed_accounts.domain.webhooks import WebhookOutcome, WebhookProcessor

_LOCAL_REGION = "us-east-1"  # moto accepts any region; boto3 insists on one


def _aws_kwargs(settings: Settings) -> dict[str, Any]:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if settings.aws_endpoint_url and not region:
        region = _LOCAL_REGION
    kwargs: dict[str, Any] = {"region_name": region}
    if settings.aws_endpoint_url:
        kwargs["endpoint_url"] = settings.aws_endpoint_url
    return kwargs


def _table(settings: Settings) -> Table:
    """The main table as a boto3 ``Table`` resource (the repository and the de-dup store write to it)."""
    import boto3

    return boto3.resource("dynamodb", **_aws_kwargs(settings)).Table(settings.table_name)


class LazyDfnsGateway:
    """Builds the Dfns client on first use (credentials come from Secrets Manager)."""

    def __init__(self, factory: Callable[[], DfnsGateway]) -> None:
        self._factory = factory
        self._gateway: DfnsGateway | None = None

    def __getattr__(self, name: str) -> Any:
        if self._gateway is None:
            self._gateway = self._factory()
        return getattr(self._gateway, name)


class LazyEventPublisher:
    """Creates the EventBridge client when the first event is published."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._publisher: EventPublisher | None = None

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        if self._publisher is None:
            import boto3

            client = boto3.client("events", **_aws_kwargs(self._settings))
            self._publisher = EventBridgePublisher(client, self._settings.event_bus_name)
        self._publisher.publish(events)


@dataclass(frozen=True)
class Adapters:
    settings: Settings
    repository: DynamoAccountsRepository
    dfns: DfnsGateway
    publisher: EventPublisher
    clock: Clock


def _dfns_client(settings: Settings) -> DfnsGateway:
    from managed_accounts.dfns.factory import build_dfns_client

    return build_dfns_client(settings)


@lru_cache(maxsize=1)
def adapters() -> Adapters:
    """The process's adapters, built once."""
    settings = get_settings()
    return Adapters(
        settings=settings,
        repository=DynamoAccountsRepository(_table(settings)),
        dfns=cast(DfnsGateway, LazyDfnsGateway(lambda: _dfns_client(settings))),
        publisher=LazyEventPublisher(settings),
        clock=SystemClock(),
    )


def onboarding_service(built: Adapters | None = None) -> OnboardingService:
    a = built or adapters()
    return OnboardingService(a.repository, a.dfns, a.settings, a.publisher, a.clock)


def destination_service(built: Adapters | None = None) -> DestinationService:
    a = built or adapters()
    return DestinationService(a.repository, a.dfns, a.publisher, a.clock)


def idempotency_store(settings: Settings | None = None) -> BasePersistenceLayer:
    """Powertools' DynamoDB persistence on ``settings.idempotency_table_name``."""
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    settings = settings or get_settings()
    client = boto3.client("dynamodb", **_aws_kwargs(settings))
    return DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=client)


# --- webhooks and the reconciler ---------------------------------------------------------------------


def _drift(built: Adapters) -> DriftReporter:
    from managed_accounts.domain.security import DriftReporter
    from managed_accounts.observability import metrics

    return DriftReporter(built.publisher, metrics, built.clock)


class _LazyProcessor:
    """Builds the real processor on the first authenticated event."""

    def __init__(self, build: Callable[[], WebhookProcessor]) -> None:
        self._build = build
        self._processor: WebhookProcessor | None = None

    def process(self, event: WebhookEvent) -> WebhookOutcome:
        if self._processor is None:
            self._processor = self._build()
        return self._processor.process(event)


@lru_cache(maxsize=1)
def webhook_processor() -> WebhookProcessor:
    from managed_accounts.data.dedupe import DynamoDedupeStore
    from managed_accounts.domain.webhooks import WebhookProcessor

    built = adapters()
    return WebhookProcessor(
        dfns=built.dfns,
        approvals=destination_service(built),
        accounts=built.repository,
        facts=DynamoDedupeStore(_table(built.settings)),
        drift=_drift(built),
    )


def build_webhook_receiver() -> WebhookReceiver:
    from managed_accounts.domain.webhook_receiver import WebhookReceiver
    from managed_accounts.observability import metrics
    from managed_accounts.secrets import get_webhook_secret

    settings = get_settings()
    return WebhookReceiver(
        secret=lambda: get_webhook_secret(settings),
        processor=_LazyProcessor(webhook_processor),
        clock=SystemClock(),
        tolerance_seconds=settings.webhook_tolerance_seconds,
        metrics=metrics,
    )


def build_reconciler() -> Reconciler:
    from managed_accounts.domain.reconciler import Reconciler

    built = adapters()
    return Reconciler(
        dfns=built.dfns,
        repository=built.repository,
        destinations=destination_service(built),
        drift=_drift(built),
        clock=built.clock,
        max_approvals=built.settings.reconcile_max_approvals,
        max_accounts=built.settings.reconcile_max_accounts,
    )
