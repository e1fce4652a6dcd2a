"""The portal as the running stack serves it, over HTTP: its own origin, allowed by the API's CORS, and the
local-only endpoints it signs in and decides approvals with (the browser test clicks through the rest)."""

from __future__ import annotations

import secrets

import httpx
import pytest
from local_stack.remote import RunningStack, wait_for

pytestmark = pytest.mark.e2e


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}"


def test_the_portal_is_served_on_its_own_origin_with_the_stacks_config(stack: RunningStack):
    portal = stack.info["portalUrl"]
    assert _origin(portal) != _origin(stack.info["apiUrl"])
    page = httpx.get(portal, timeout=10)
    assert page.status_code == 200
    assert "js/app.js" in page.text
    config = httpx.get(f"{portal}config.json", timeout=10).json()
    assert config["apiUrl"] == stack.info["apiUrl"]
    assert config["auth"]["kind"] == "local"


def test_the_api_lets_the_portals_origin_in_and_no_other(stack: RunningStack):
    origin = _origin(stack.info["portalUrl"])
    preflight = stack.http.options(
        "/accounts/me/destination-requests",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    answered = stack.api(
        "GET", "/accounts/me", client_id=f"pat-{secrets.token_hex(3)}", headers={"Origin": origin}
    )
    assert answered.headers["Access-Control-Allow-Origin"] == origin
    refused = stack.http.get("/accounts/me", headers={"Origin": origin})  # no token: the gateway's 401
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == origin
    other = stack.http.get("/accounts/me", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_local_sign_in_gives_a_token_the_api_accepts(stack: RunningStack):
    client_id = f"pat-{secrets.token_hex(3)}"
    issued = stack.http.post("/local/tokens", json={"clientId": client_id})
    assert issued.status_code == 200
    token = issued.json()["token"]
    onboarded = stack.http.post("/accounts", headers={"Authorization": f"Bearer {token}"})
    assert onboarded.status_code == 201
    assert onboarded.json()["clientId"] == client_id
    operator = stack.http.post("/local/tokens", json={"clientId": "ops", "operator": True}).json()["token"]
    run = stack.http.get("/admin/order-runs/none-such", headers={"Authorization": f"Bearer {operator}"})
    assert run.status_code == 404  # past the operators-only check


def test_the_sandbox_panel_lists_and_decides_as_the_officer(stack: RunningStack):
    client_id = f"pat-{secrets.token_hex(3)}"
    assert stack.api("POST", "/accounts", client_id=client_id).status_code == 201
    address = "0x" + secrets.token_hex(20)
    body = {"address": address}
    created = stack.api("POST", "/accounts/me/destination-requests", client_id=client_id, json=body)
    request_id = created.json()["requestId"]

    def waiting() -> dict[str, object] | None:
        items = stack.http.get("/local/officer/approvals").json()["items"]
        return next((a for a in items if address in a["addresses"]), None)

    approval = wait_for(waiting, timeout=30, what="the change in the officer's panel")
    decided = stack.http.post(
        f"/local/officer/approvals/{approval['approvalId']}/decisions",
        json={"value": "Denied", "reason": "test"},
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "Denied"

    def rejected() -> dict[str, object] | None:
        path = f"/accounts/me/destination-requests/{request_id}"
        current: dict[str, object] = stack.api("GET", path, client_id=client_id).json()
        return current if current["status"] == "rejected" else None

    wait_for(rejected, timeout=30, what="the request rejected by the officer's decision")
