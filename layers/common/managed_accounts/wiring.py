"""Builds the real adapters from settings, once per cold start (handlers cache what these return).

AWS clients honour ``settings.aws_endpoint_url`` (moto on the local stack). The Dfns client is built
lazily, on the first Dfns call, so routes that never reach Dfns (reads) never load its credentials.
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

_LOCAL_REGION = "us-east-1"  # moto accepts any region; boto3 insists on one


def _aws_kwargs(settings: Settings) -> dict[str, Any]:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if settings.aws_endpoint_url and not region:
        region = _LOCAL_REGION
    kwargs: dict[str, Any] = {"region_name": region}
    if settings.aws_endpoint_url:
        kwargs["endpoint_url"] = settings.aws_endpoint_url
    return kwargs


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
    import boto3

    settings = get_settings()
    table = boto3.resource("dynamodb", **_aws_kwargs(settings)).Table(settings.table_name)
    return Adapters(
        settings=settings,
        repository=DynamoAccountsRepository(table),
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
