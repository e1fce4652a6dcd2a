"""Webhooks: CRUD, signed delivery of every event kind the product handles, retries, faults (DFNS.md §7)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.contract.dfns_helpers import DfnsUser, Receiver


def _hook(svc: DfnsUser, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = svc.signed("POST", "/webhooks", {"url": url, "events": events or ["*"]})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _flush(http: httpx.Client) -> None:
    assert http.post("/sandbox/webhooks/flush", json={"timeoutSeconds": 10}).json() == {"drained": True}


def test_crud_and_secret_shown_once(svc: DfnsUser, receiver: Receiver):
    hook = _hook(svc, receiver.url, ["wallet.created"])
    assert hook["id"].startswith("wh-")
    assert hook["secret"].startswith("whs-")
    fetched = svc.get(f"/webhooks/{hook['id']}").json()
    assert "secret" not in fetched
    assert fetched["events"] == ["wallet.created"]
    assert [h["id"] for h in svc.get("/webhooks").json()["items"]] == [hook["id"]]
    assert (
        svc.signed("POST", "/webhooks", {"url": receiver.url, "events": ["no.such.kind"]}).status_code == 400
    )
    assert svc.signed("POST", "/webhooks", {"url": "ftp://x", "events": ["*"]}).status_code == 400
    assert svc.signed("DELETE", f"/webhooks/{hook['id']}").json() == {"deleted": True}
    assert svc.get(f"/webhooks/{hook['id']}").status_code == 404


def test_the_event_kinds_follow_the_dfns_enum(svc: DfnsUser, receiver: Receiver):
    newer = [
        "policy.activity.resolved",
        "vault.created",
        "vault.updated",
        "vault.tags.modified",
        "vault.event.created",
        "wallet.offer.received",
        "wallet.offer.accepted",
        "wallet.offer.rejected",
        "wallet.offer.withdrawn",
        "address_watch.blockchain_event.transfer.confirmed",
        "address_watch.blockchain_event.misc.confirmed",
        "payout.action.required",
    ]
    assert _hook(svc, receiver.url, newer)["events"] == newer


def test_ping_delivers_a_signed_test_event(svc: DfnsUser, receiver: Receiver):
    hook = _hook(svc, receiver.url)
    assert svc.signed("POST", f"/webhooks/{hook['id']}/ping").json() == {"status": "200"}
    [(headers, body)] = receiver.deliveries
    expected = "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Dfns-Webhook-Signature"] == expected
    assert svc.get(f"/webhooks/{hook['id']}/events").json()["items"] == []  # pings are not stored


def test_the_product_story_emits_every_kind_it_handles_signed_and_timestamped(
    svc: DfnsUser, officer: DfnsUser, http: httpx.Client, receiver: Receiver, advance: Callable[[float], None]
):
    hook = _hook(svc, receiver.url)
    wallet = svc.signed("POST", "/wallets", {"network": "EthereumSepolia", "tags": ["client:c1"]}).json()
    http.post("/sandbox/deposits", json={"walletId": wallet["id"], "amount": str(10**18)})
    svc.signed("PUT", f"/wallets/{wallet['id']}/tags", {"tags": ["x"]})
    body = {
        "name": "p",
        "activityKind": "Wallets:Sign",
        "rule": {"kind": "TransactionAmountLimit", "configuration": {"limit": 1, "currency": "USD"}},
        "action": {
            "kind": "RequestApproval",
            "approvalGroups": [{"quorum": 1, "approvers": {"userId": {"in": [officer.user_id]}}}],
        },
    }
    svc.signed("POST", "/v2/policies", body)
    path = f"/wallets/{wallet['id']}/transfers"
    xfr = svc.signed("POST", path, {"kind": "Native", "to": "0x" + "1" * 40, "amount": str(10**15)}).json()
    officer.signed("POST", f"/v2/policy-approvals/{xfr['approvalId']}/decisions", {"value": "Approved"})
    svc.signed(
        "POST", path, {"kind": "Native", "to": "0x" + "1" * 40, "amount": "1"}
    )  # under 1 USD: no approval
    svc.signed(
        "POST", path, {"kind": "Native", "to": "0x" + "1" * 40, "amount": str(10**19)}
    )  # approval denied
    empty = svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()
    svc.signed(
        "POST", f"/wallets/{empty['id']}/transfers", {"kind": "Native", "to": "0x" + "1" * 40, "amount": "1"}
    )
    denied = svc.get(f"{path}").json()["items"][0]
    officer.signed("POST", f"/v2/policy-approvals/{denied['approvalId']}/decisions", {"value": "Denied"})
    advance(60)
    _flush(http)

    events = receiver.events()
    kinds = {e["kind"] for e in events}
    assert kinds >= {
        "wallet.created",
        "wallet.tags.modified",
        "wallet.blockchainevent.detected",
        "wallet.transfer.requested",
        "wallet.transfer.broadcasted",
        "wallet.transfer.confirmed",
        "wallet.transfer.failed",
        "wallet.transfer.rejected",
        "policy.approval.pending",
        "policy.approval.resolved",
    }
    now = time.time()
    for headers, raw in receiver.deliveries:
        digest = hmac.new(hook["secret"].encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Dfns-Webhook-Signature"] == f"sha256={digest}"
        assert b", " not in raw[:20]  # compact JSON
    for event in events:
        assert abs(now - event["timestampSent"]) < 300
        assert event["id"].startswith("whe-")
        assert event["deliveryAttempt"] == 1
    tags = next(e for e in events if e["kind"] == "wallet.tags.modified")["data"]
    assert (tags["tagsAdded"], tags["tagsRemoved"], tags["wallet"]["id"]) == (["x"], [], wallet["id"])
    resolved = [e["data"]["approval"]["status"] for e in events if e["kind"] == "policy.approval.resolved"]
    assert sorted(resolved) == ["Approved", "Denied"]
    confirmed = [
        e["data"]["transferRequest"]["id"] for e in events if e["kind"] == "wallet.transfer.confirmed"
    ]
    assert xfr["id"] in confirmed
    stored = svc.get(f"/webhooks/{hook['id']}/events", limit=500).json()["items"]
    assert len(stored) == len(events)
    assert all(e["status"] == "200" and e["deliveryFailed"] is False for e in stored)


def test_failed_deliveries_are_retried_as_new_events(svc: DfnsUser, http: httpx.Client, receiver: Receiver):
    hook = _hook(svc, receiver.url, ["wallet.created"])
    receiver.statuses.extend([500, 202])  # only 200 counts as delivered
    svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    _flush(http)
    events = receiver.events()
    assert [e["deliveryAttempt"] for e in events] == [1, 2, 3]
    assert len({e["id"] for e in events}) == 3
    assert events[1]["retryOf"] == events[0]["id"]
    assert events[2]["retryOf"] == events[1]["id"]
    assert events[0]["data"] == events[2]["data"]
    failed = svc.get(f"/webhooks/{hook['id']}/events", deliveryFailed="true").json()["items"]
    assert sorted(e["status"] for e in failed) == ["202", "500"]
    first = svc.get(f"/webhooks/{hook['id']}/events/{events[0]['id']}").json()
    assert (first["deliveryFailed"], first["status"], first["kind"]) == (True, "500", "wallet.created")
    assert first["nextAttemptDate"]
    assert svc.get(f"/webhooks/{hook['id']}/events/whe-nope").status_code == 404


def test_delivery_gives_up_after_five_attempts(svc: DfnsUser, http: httpx.Client, receiver: Receiver):
    _hook(svc, receiver.url, ["wallet.created"])
    receiver.statuses.extend([503] * 10)
    svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    _flush(http)
    assert [e["deliveryAttempt"] for e in receiver.events()] == [1, 2, 3, 4, 5]


def test_duplicate_fault_delivers_events_twice(svc: DfnsUser, http: httpx.Client, receiver: Receiver):
    _hook(svc, receiver.url, ["wallet.created"])
    http.post("/sandbox/faults", json={"webhookDuplicateRate": 1, "webhookShuffle": True})
    svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    _flush(http)
    first, second = receiver.events()
    assert first == second


def test_unsubscribed_kinds_and_disabled_hooks_are_not_delivered(
    svc: DfnsUser, http: httpx.Client, receiver: Receiver
):
    hook = _hook(svc, receiver.url, ["wallet.transfer.confirmed"])
    svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    svc.signed("PUT", f"/webhooks/{hook['id']}", {"status": "Disabled", "events": ["*"]})
    svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    _flush(http)
    assert receiver.deliveries == []


def test_a_dropped_kind_is_never_delivered_while_other_kinds_are(
    svc: DfnsUser, http: httpx.Client, receiver: Receiver
):
    _hook(svc, receiver.url, ["wallet.created", "wallet.transfer.requested"])
    dropped = http.post("/sandbox/faults", json={"webhookDropKinds": ["wallet.created"]})
    assert dropped.json()["webhookDropKinds"] == ["wallet.created"]
    wallet = svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()
    http.post("/sandbox/deposits", json={"walletId": wallet["id"], "amount": "1000"})
    svc.signed(
        "POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", "to": "0x" + "1" * 40, "amount": "1"}
    )
    _flush(http)
    assert {e["kind"] for e in receiver.events()} == {"wallet.transfer.requested"}
    http.post("/sandbox/faults", json={"webhookDropKinds": []})
    svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    _flush(http)
    assert [e["kind"] for e in receiver.events()].count("wallet.created") == 1


def test_drop_kinds_must_name_known_event_kinds(http: httpx.Client):
    assert http.post("/sandbox/faults", json={"webhookDropKinds": ["policy.nonsense"]}).status_code == 400
    assert http.post("/sandbox/faults", json={"webhookDropKinds": "wallet.created"}).status_code == 400
    assert http.get("/sandbox/faults").json()["webhookDropKinds"] == []
