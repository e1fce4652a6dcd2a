"""Builds the webhook receiver and the reconciler over the real adapters of ``managed_accounts.wiring``.

The webhook's adapters (boto3, the Dfns client and its credentials) are built only when the first
*authenticated* event needs them: an unauthenticated request costs the secret read and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from managed_accounts.config import Settings, get_settings
from managed_accounts.dfns.models import WebhookEvent
from managed_accounts.domain.clock import SystemClock
from managed_accounts.domain.reconciler import Reconciler
from managed_accounts.domain.security import DriftReporter
from managed_accounts.domain.webhook_receiver import WebhookReceiver
from managed_accounts.domain.webhooks import WebhookOutcome, WebhookProcessor
from managed_accounts.observability import metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from managed_accounts.wiring import Adapters

_LOCAL_REGION = "us-east-1"  # moto accepts any region; boto3 insists on one


def _table(settings: Settings) -> Table:
    """The main table as a boto3 ``Table`` resource (what the de-dup store writes to)."""
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if settings.aws_endpoint_url and not region:
        region = _LOCAL_REGION
    resource = boto3.resource("dynamodb", region_name=region, endpoint_url=settings.aws_endpoint_url)
    return resource.Table(settings.table_name)


def _drift(adapters: Adapters) -> DriftReporter:
    return DriftReporter(adapters.publisher, metrics, adapters.clock)


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
    from managed_accounts import wiring
    from managed_accounts.data.dedupe import DynamoDedupeStore

    adapters = wiring.adapters()
    return WebhookProcessor(
        dfns=adapters.dfns,
        approvals=wiring.destination_service(adapters),
        accounts=adapters.repository,
        facts=DynamoDedupeStore(_table(adapters.settings)),
        drift=_drift(adapters),
    )


def build_webhook_receiver() -> WebhookReceiver:
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
    from managed_accounts import wiring

    adapters = wiring.adapters()
    return Reconciler(
        dfns=adapters.dfns,
        repository=adapters.repository,
        destinations=wiring.destination_service(adapters),
        drift=_drift(adapters),
        clock=adapters.clock,
        max_approvals=adapters.settings.reconcile_max_approvals,
        max_accounts=adapters.settings.reconcile_max_accounts,
    )
