"""The webhook endpoint's logic, independent of API Gateway: authenticate, parse, act, pick the status.

Statuses (only a 200 counts as delivered for Dfns, anything else is retried as a new event):
- 413 body over 256 KiB; 401 missing or wrong signature; 401 ``timestampSent`` outside the window
  (a replay, or a clock problem: Dfns's retry carries a fresh timestamp); 400 authenticated but malformed.
- 200 ``{"received": true}`` once acted on, and also for duplicates, foreign objects, pings and kinds
  the product ignores (those need no ``timestampSent``: nothing is done with them).
- 503 when Dfns (the re-read) or the webhook secret cannot be reached, or a concurrent update raced
  this one: Dfns retries for about a day, and the reconciler is the safety net after that.
  500 for anything unexpected (also retried).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from managed_accounts.api.webhook_signature import (
    WebhookRejected,
    check_freshness,
    check_size,
    verify_signature,
)
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.models import WebhookEvent
from managed_accounts.domain.ports import Clock, Metrics
from managed_accounts.domain.webhook_processor import WebhookOutcome, acts_on
from managed_accounts.errors import ConcurrentUpdate, UpstreamError, UpstreamUnavailable
from managed_accounts.observability import logger

RECEIVED: dict[str, Any] = {"received": True}


class EventProcessor(Protocol):
    def process(self, event: WebhookEvent) -> WebhookOutcome: ...


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    status: int
    body: dict[str, Any] = field(default_factory=lambda: dict(RECEIVED))


def _error(status: int, code: str, message: str) -> WebhookResponse:
    return WebhookResponse(status, {"error": {"code": code, "message": message}})


class WebhookReceiver:
    def __init__(
        self,
        *,
        secret: Callable[[], str],
        processor: EventProcessor,
        clock: Clock,
        tolerance_seconds: int,
        metrics: Metrics,
    ) -> None:
        self._secret = secret
        self._processor = processor
        self._clock = clock
        self._tolerance = tolerance_seconds
        self._metrics = metrics

    def receive(self, raw_body: bytes, signature: str | None) -> WebhookResponse:
        try:
            event = self._authenticate(raw_body, signature)
        except WebhookRejected as rejected:
            # Nothing from an unauthenticated body is logged: it could be anything.
            logger.warning("webhook rejected", extra={"code": rejected.code, "status": rejected.status})
            self._metrics.add_metric(name="WebhooksRejected", unit="Count", value=1)
            return _error(rejected.status, rejected.code, rejected.message)
        except _SecretUnavailable:
            return _error(503, "secret_unavailable", "the webhook secret cannot be read; retry later")
        if event is None:
            self._metrics.add_metric(name="WebhooksIgnored", unit="Count", value=1)
            return WebhookResponse(200)
        return self._act(event)

    def _act(self, event: WebhookEvent) -> WebhookResponse:
        context = {
            "webhook_event_id": event.id,
            "webhook_kind": event.kind,
            "delivery_attempt": event.delivery_attempt,
            "retry_of": event.retry_of,
        }
        try:
            outcome = self._processor.process(event)
        except (DfnsError, UpstreamUnavailable, UpstreamError) as error:
            logger.warning(
                "Dfns unavailable while handling a webhook", extra={**context, "error": str(error)}
            )
            return _error(503, "dfns_unavailable", "Dfns could not be reached; retry later")
        except ConcurrentUpdate as error:
            # Another delivery or the reconciler is applying the same change: the retry will see it done.
            logger.info("webhook raced a concurrent update", extra={**context, "error": str(error)})
            return _error(503, "concurrent_update", "the object is being updated; retry later")
        except Exception:
            logger.exception("webhook handling failed", extra=context)
            return _error(500, "internal_error", "the event could not be handled; retry later")
        logger.info("webhook handled", extra={**context, "result": outcome.result, "reason": outcome.reason})
        self._metrics.add_metric(name="WebhooksHandled", unit="Count", value=1)
        if outcome.result == "duplicate":
            self._metrics.add_metric(name="WebhookDuplicates", unit="Count", value=1)
        return WebhookResponse(200)

    def _authenticate(self, raw_body: bytes, signature: str | None) -> WebhookEvent | None:
        """The event to act on; None for an authenticated event of a kind the product ignores."""
        check_size(len(raw_body))
        try:
            secret = self._secret()
        except Exception as error:
            logger.exception("webhook secret unavailable")
            raise _SecretUnavailable from error
        payload = verify_signature(raw_body, signature, secret)
        if not acts_on(payload.get("kind")):
            logger.info("webhook ignored", extra={"webhook_kind": str(payload.get("kind"))[:80]})
            return None
        check_freshness(payload, now=self._clock.now(), tolerance_seconds=self._tolerance)
        try:
            return WebhookEvent.model_validate(payload)
        except ValidationError as error:
            raise WebhookRejected(400, "malformed_event", "the event lacks id or kind") from error


class _SecretUnavailable(Exception):
    pass
