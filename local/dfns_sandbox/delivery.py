"""Webhook delivery (DFNS.md §7.3–7.5) from one background thread.

Each event is POSTed as compact JSON with ``X-DFNS-WEBHOOK-SIGNATURE: sha256=<hex HMAC of the raw body>``
and ``timestampSent`` from the real wall clock. Anything but 200 is a failure; a retry is a NEW event
(new id, ``retryOf``, ``deliveryAttempt + 1``) after a short, configurable backoff, up to 5 attempts.
Faults can duplicate deliveries, shuffle the order of events due together and drop whole kinds.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from dfns_sandbox.clock import iso
from dfns_sandbox.prices import random_id
from dfns_sandbox.store import Json, Store, WebhookEventRecord, WebhookRecord

if TYPE_CHECKING:
    from dfns_sandbox.faults import Faults

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_event(url: str, secret: str, payload: Json, timeout: float) -> tuple[str, str | None]:
    """POST one event → (status as Dfns lists it, e.g. "200", or "error"; error message)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if not url.startswith(("http://", "https://")):
        return "error", "webhook url must be http(s)"
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-DFNS-WEBHOOK-SIGNATURE": sign(secret, body),
            "User-Agent": "dfns-sandbox-webhooks",
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return str(response.status), None
    except urllib.error.HTTPError as exc:
        return str(exc.code), exc.reason if isinstance(exc.reason, str) else None
    except (OSError, ValueError) as exc:
        return "error", str(exc)


def wire(event: WebhookEventRecord) -> Json:
    payload: Json = {
        "id": event.id,
        "kind": event.kind,
        "date": event.date,
        "data": event.data,
        "deliveryAttempt": event.delivery_attempt,
        "timestampSent": int(time.time()),
    }
    if event.retry_of is not None:
        payload["retryOf"] = event.retry_of
    return payload


class Dispatcher:
    def __init__(
        self,
        store: Store,
        faults: Faults,
        now: Callable[[], datetime],
        *,
        backoff_s: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4),
        timeout_s: float = 5.0,
    ) -> None:
        self._store, self._faults, self._now = store, faults, now
        self._backoff, self._timeout = backoff_s, timeout_s
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, str, str]] = []  # (due monotonic, seq, webhookId, eventId)
        self._seq = itertools.count()
        self._in_flight = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="dfns-sandbox-webhooks", daemon=True)
        self._rng = random.Random()  # noqa: S311 - fault injection, not security

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=self._timeout + 1)

    def publish(self, kind: str, data: Json) -> None:
        """Record the event for each enabled webhook subscribed to ``kind`` and queue it (store lock held).
        A kind the faults drop is never recorded nor sent: as if Dfns had lost every event of it."""
        if kind in self._faults.webhook_drop_kinds:
            return
        date = iso(self._now())
        for hook in self._store.webhooks.values():
            if hook.status == "Enabled" and ("*" in hook.events or kind in hook.events):
                event = WebhookEventRecord(random_id("whe"), kind, date, data)
                hook.record(event)
                self._schedule(hook.id, event.id, 0.0)

    def _schedule(self, hook_id: str, event_id: str, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq), hook_id, event_id))
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery (retries included) is done; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _take_due(self) -> list[tuple[str, str]] | None:
        with self._cond:
            while not self._stopping:
                if self._queue and self._queue[0][0] <= time.monotonic():
                    due = []
                    while self._queue and self._queue[0][0] <= time.monotonic():
                        _, _, hook_id, event_id = heapq.heappop(self._queue)
                        due.append((hook_id, event_id))
                    self._in_flight += len(due)
                    return due
                self._cond.wait(self._queue[0][0] - time.monotonic() if self._queue else None)
            return None

    def _run(self) -> None:
        while (due := self._take_due()) is not None:
            if self._faults.webhook_shuffle:
                self._rng.shuffle(due)
            for hook_id, event_id in due:
                try:
                    self._deliver(hook_id, event_id)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()

    def _deliver(self, hook_id: str, event_id: str) -> None:
        with self._store.lock:
            hook = self._store.webhooks.get(hook_id)
            event = hook.by_id.get(event_id) if hook else None
            if hook is None or event is None or hook.status != "Enabled":
                return  # deleted or disabled webhooks stop (re)trying
            url, secret, payload = hook.url, hook.secret, wire(event)
        status, error = post_event(url, secret, payload, self._timeout)
        if self._rng.random() < self._faults.webhook_duplicate_rate:
            post_event(url, secret, payload, self._timeout)  # Dfns does not promise exactly-once
        with self._store.lock:
            event.timestamp_sent, event.status, event.error = payload["timestampSent"], status, error
            event.delivery_failed = status != "200"
            if event.delivery_failed and event.delivery_attempt < len(self._backoff) + 1:
                self._retry(hook, event)

    def _retry(self, hook: WebhookRecord, event: WebhookEventRecord) -> None:
        delay = self._backoff[event.delivery_attempt - 1]
        event.next_attempt_date = iso(datetime.now(UTC) + timedelta(seconds=delay))
        retry = WebhookEventRecord(
            random_id("whe"),
            event.kind,
            event.date,
            event.data,
            delivery_attempt=event.delivery_attempt + 1,
            retry_of=event.id,
        )
        hook.record(retry)
        self._schedule(hook.id, retry.id, delay)
