"""Webhook routes (DFNS.md §7.1): create (secret returned once), list, get, update, delete, ping, events.

Decision on the UNCONFIRMED ping event: kind ``"webhook.ping"``, data ``{"webhookId"}``, signed like any
event, not stored; the answer is ``{"status": "<HTTP code>"}`` or ``{"status": "error", "error"}``.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlparse

from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.delivery import post_event
from dfns_sandbox.errors import bad_request, not_found, reject_unknown
from dfns_sandbox.prices import random_id
from dfns_sandbox.store import Json, WebhookEventRecord, WebhookRecord, page_body, paginate

EVENT_KINDS = {
    "policy.triggered",
    "policy.approval.pending",
    "policy.approval.resolved",
    "policy.activity.resolved",
    "wallet.created",
    "wallet.activated",
    "wallet.delegated",
    "wallet.exported",
    "wallet.tags.modified",
    "wallet.blockchainevent.detected",
    "wallet.blockchain_event.transfer.included",
    "wallet.blockchain_event.misc.confirmed",
    "wallet.transfer.requested",
    "wallet.transfer.broadcasted",
    "wallet.transfer.confirmed",
    "wallet.transfer.failed",
    "wallet.transfer.rejected",
    "wallet.transaction.requested",
    "wallet.transaction.broadcasted",
    "wallet.transaction.confirmed",
    "wallet.transaction.failed",
    "wallet.transaction.rejected",
    "wallet.signature.requested",
    "wallet.signature.signed",
    "wallet.signature.failed",
    "wallet.signature.rejected",
    "wallet.offer.received",
    "wallet.offer.accepted",
    "wallet.offer.rejected",
    "wallet.offer.withdrawn",
    "key.created",
    "key.deleted",
    "key.delegated",
    "key.exported",
    "vault.created",
    "vault.updated",
    "vault.tags.modified",
    "vault.event.created",
    "address_watch.blockchain_event.transfer.confirmed",
    "address_watch.blockchain_event.misc.confirmed",
    "payout.action.required",
}


def render_webhook(hook: WebhookRecord, *, with_secret: bool = False) -> Json:
    body: Json = {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "status": hook.status,
        "dateCreated": iso(hook.date_created),
        "dateUpdated": iso(hook.date_updated),
    }
    if hook.description is not None:
        body["description"] = hook.description
    if with_secret:
        body["secret"] = hook.secret
    return body


def render_event(event: WebhookEventRecord) -> Json:
    body: Json = {
        "id": event.id,
        "kind": event.kind,
        "date": event.date,
        "data": event.data,
        "status": event.status,
        "deliveryAttempt": event.delivery_attempt,
        "deliveryFailed": event.delivery_failed,
    }
    optional = {
        "retryOf": event.retry_of,
        "timestampSent": event.timestamp_sent,
        "error": event.error,
        "nextAttemptDate": event.next_attempt_date,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _fields(body: Json, hook: WebhookRecord | None) -> Json:
    reject_unknown(body, {"url", "events", "status", "description"})
    if hook is None or "url" in body:
        url = body.get("url")
        if (
            not isinstance(url, str)
            or urlparse(url).scheme not in {"http", "https"}
            or not urlparse(url).netloc
        ):
            raise bad_request("url must be an http(s) URL", field="url")
    if hook is None or "events" in body:
        events = body.get("events")
        if (
            not isinstance(events, list)
            or not events
            or not all(e == "*" or e in EVENT_KINDS for e in events)
        ):
            raise bad_request("events must list known event kinds or '*'", field="events")
    if body.get("status", "Enabled") not in {"Enabled", "Disabled"}:
        raise bad_request("status must be Enabled or Disabled", field="status")
    description = body.get("description")
    if description is not None and not (isinstance(description, str) and len(description) <= 256):
        raise bad_request("description must be a string of at most 256 characters", field="description")
    return body


def _get(ctx: Ctx) -> WebhookRecord:
    hook = ctx.sb.store.webhooks.get(ctx.params["webhookId"])
    if hook is None:
        raise not_found("Webhook", ctx.params["webhookId"])
    return hook


def create_webhook(ctx: Ctx) -> Reply:
    body = _fields(ctx.body(), None)
    now = ctx.sb.clock.now()
    hook = WebhookRecord(
        random_id("wh"),
        body["url"],
        list(body["events"]),
        "whs-" + secrets.token_hex(16),
        now,
        now,
        body.get("status", "Enabled"),
        body.get("description"),
    )
    ctx.sb.store.webhooks[hook.id] = hook
    return ok(render_webhook(hook, with_secret=True))


def update_webhook(ctx: Ctx) -> Reply:
    hook = _get(ctx)
    body = _fields(ctx.body(), hook)
    hook.url = body.get("url", hook.url)
    hook.events = list(body.get("events", hook.events))
    hook.status = body.get("status", hook.status)
    hook.description = body.get("description", hook.description)
    hook.date_updated = ctx.sb.clock.now()
    return ok(render_webhook(hook))


def list_webhooks(ctx: Ctx) -> Reply:
    items, token = paginate(list(ctx.sb.store.webhooks.values()), ctx.args, render_webhook)
    return ok(page_body(items, token))


def get_webhook(ctx: Ctx) -> Reply:
    return ok(render_webhook(_get(ctx)))


def delete_webhook(ctx: Ctx) -> Reply:
    hook = _get(ctx)
    ctx.body(allow_empty=True)
    del ctx.sb.store.webhooks[hook.id]
    return ok({"deleted": True})


def ping_webhook(ctx: Ctx) -> Reply:
    """Runs outside the store lock: the receiver may call the sandbox back while we wait for it."""
    with ctx.sb.store.lock:
        hook = _get(ctx)
        url, secret = hook.url, hook.secret
        payload = {
            "id": random_id("whe"),
            "kind": "webhook.ping",
            "date": iso(ctx.sb.clock.now()),
            "data": {"webhookId": hook.id},
            "deliveryAttempt": 1,
            "timestampSent": int(time.time()),
        }
    status, error = post_event(url, secret, payload, ctx.sb.config.webhook_timeout_s)
    return ok({"status": status, **({"error": error} if error else {})})


def list_events(ctx: Ctx) -> Reply:
    hook = _get(ctx)
    kind, failed = ctx.args.get("kind"), ctx.args.get("deliveryFailed")

    def keep(e: WebhookEventRecord) -> bool:
        return (kind is None or e.kind == kind) and (
            failed is None or e.delivery_failed == (failed == "true")
        )

    items, token = paginate(hook.log, ctx.args, render_event, keep=keep, newest_first=True)
    return ok(page_body(items, token))


def get_event(ctx: Ctx) -> Reply:
    hook = _get(ctx)
    event = hook.by_id.get(ctx.params["eventId"])
    if event is None:
        raise not_found("Webhook event", ctx.params["eventId"])
    return ok(render_event(event))


def flush(ctx: Ctx) -> Reply:
    """Sandbox-only: wait until the delivery queue is drained (retries included)."""
    timeout = ctx.body(allow_empty=True).get("timeoutSeconds", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool):
        raise bad_request("timeoutSeconds must be a number", field="timeoutSeconds")
    return ok({"drained": ctx.sb.dispatcher.flush(float(timeout))})


ROUTES = [
    Route("POST", "/webhooks", create_webhook, permissions=("Webhooks:Create",)),
    Route("GET", "/webhooks", list_webhooks, permissions=("Webhooks:Read",)),
    Route("GET", "/webhooks/{webhookId}", get_webhook, permissions=("Webhooks:Read",)),
    Route("PUT", "/webhooks/{webhookId}", update_webhook, permissions=("Webhooks:Update",)),
    Route("DELETE", "/webhooks/{webhookId}", delete_webhook, permissions=("Webhooks:Delete",)),
    Route("POST", "/webhooks/{webhookId}/ping", ping_webhook, locked=False, permissions=("Webhooks:Ping",)),
    Route("GET", "/webhooks/{webhookId}/events", list_events, permissions=("Webhooks:Events:Read",)),
    Route("GET", "/webhooks/{webhookId}/events/{eventId}", get_event, permissions=("Webhooks:Events:Read",)),
    Route("POST", "/sandbox/webhooks/flush", flush, admin=True, locked=False),
]
