"""Warm latency of every route of the route table, through the local gateway.

Starts the local stack in this process on free ports (run it in a process of its own:
``python -m benchmarks.latency``), plays a short story so every route has something to answer about
(an account with an approved destination, a deposit and a payment, an active trading mandate, an order
run), then calls each route ``BENCH_ROUTE_CALLS`` times in a row after one warm-up call and reports
p50/p95/p99. Commands are called as a client repeats them: onboarding again (idempotent), the same
mandate again (nothing to approve), and the other commands with one ``Idempotency-Key`` (the stored
answer); the webhook gets a signed ping. Every route of ``managed_accounts.routes.ROUTES`` must have a
call here, or the benchmark fails. Absolute times depend on the machine (gateway, handler, moto and
sandbox share it); this is a single caller, not a load figure (see ``benchmarks.load``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import httpx
from local_stack import aws
from local_stack.remote import RunningStack
from managed_accounts.api.webhook_signature import sign
from managed_accounts.dfns.models import NativeTransferBody
from managed_accounts.domain.report_models import DECISION_KIND
from managed_accounts.routes import ROUTES

from benchmarks.harness import approve_request, local_stack, percentiles, timed_calls

CLIENT = "bench-latency-1"
OPERATOR = "bench-ops"
DESTINATION = "0x" + "ab" * 20
RUN_ID = "bench-latency-run"
MANDATE = {"exchange": "sandbox-exchange", "asset": "ETH", "amountPerRun": "0.01"}

Call = Callable[[], httpx.Response]


def _story(stack: RunningStack) -> dict[str, str]:
    """What the routes answer about; the ids the parameterised paths need."""
    stack.api("POST", "/accounts", client_id=CLIENT).raise_for_status()
    account = stack.api("GET", "/accounts/me", client_id=CLIENT).json()
    asked = stack.api(
        "POST",
        "/accounts/me/destination-requests",
        client_id=CLIENT,
        json={"address": DESTINATION, "label": "bank"},
    ).json()
    approve_request(stack, CLIENT, asked["requestId"])
    stack.deposit(account["walletId"], str(10**18))
    with stack.service_account_client() as dfns:
        dfns.transfer(account["walletId"], NativeTransferBody(to=DESTINATION, amount=str(10**16)))
    mandate = stack.api("PUT", "/accounts/me/trading-authorization", client_id=CLIENT, json=MANDATE).json()
    approve_request(stack, CLIENT, mandate["destinationRequestId"])
    stack.api(
        "POST", "/admin/order-runs", client_id=OPERATOR, operator=True, json={"runId": RUN_ID}
    ).raise_for_status()
    stack.advance_sandbox_clock(15)
    audit = stack.api("GET", "/accounts/me/audit", client_id=CLIENT).json()["items"]
    decision = next(e for e in audit if e["kind"] == DECISION_KIND)
    return {"requestId": asked["requestId"], "entryId": decision["entryId"]}


def _calls(stack: RunningStack, ids: dict[str, str]) -> dict[str, Call]:
    secret = aws.get_secret_json(stack.info["awsEndpointUrl"], stack.info["secrets"]["webhook"])["secret"]
    webhook_url = f"{stack.info['apiUrl']}/webhooks/dfns"

    def client(method: str, path: str, **kwargs: Any) -> Call:
        return lambda: stack.api(method, path, client_id=CLIENT, **kwargs)

    def repeated(method: str, path: str, key: str, **kwargs: Any) -> Call:
        return client(method, path, headers={"Idempotency-Key": key}, **kwargs)

    def operator(method: str, path: str, **kwargs: Any) -> Call:
        return lambda: stack.api(method, path, client_id=OPERATOR, operator=True, **kwargs)

    def ping() -> httpx.Response:
        raw = json.dumps({"id": f"wh-ping-{time.time_ns()}", "kind": "webhook.ping", "data": {}}).encode()
        headers = {"Content-Type": "application/json", "X-DFNS-WEBHOOK-SIGNATURE": sign(raw, secret)}
        return stack.http.post(webhook_url, content=raw, headers=headers)

    return {
        "POST /accounts": client("POST", "/accounts"),
        "GET /accounts/me": client("GET", "/accounts/me"),
        "GET /accounts/me/destinations": client("GET", "/accounts/me/destinations"),
        "DELETE /accounts/me/destinations/{address}": repeated(
            "DELETE", f"/accounts/me/destinations/{DESTINATION}", "bench-remove"
        ),
        "POST /accounts/me/destination-requests": repeated(
            "POST", "/accounts/me/destination-requests", "bench-add", json={"address": "0x" + "cd" * 20}
        ),
        "GET /accounts/me/destination-requests": client("GET", "/accounts/me/destination-requests"),
        "GET /accounts/me/destination-requests/{requestId}": client(
            "GET", f"/accounts/me/destination-requests/{ids['requestId']}"
        ),
        "PUT /accounts/me/trading-authorization": client(
            "PUT", "/accounts/me/trading-authorization", json=MANDATE
        ),
        "GET /accounts/me/trading-authorization": client("GET", "/accounts/me/trading-authorization"),
        "DELETE /accounts/me/trading-authorization": repeated(
            "DELETE", "/accounts/me/trading-authorization", "bench-revoke"
        ),
        "GET /accounts/me/orders": client("GET", "/accounts/me/orders"),
        "POST /admin/order-runs": operator(
            "POST", "/admin/order-runs", json={"runId": RUN_ID}, headers={"Idempotency-Key": "bench-run"}
        ),
        "GET /admin/order-runs/{runId}": operator("GET", f"/admin/order-runs/{RUN_ID}"),
        "POST /webhooks/dfns": ping,
        "GET /accounts/me/restrictions": client("GET", "/accounts/me/restrictions"),
        "GET /accounts/me/activity": client("GET", "/accounts/me/activity"),
        "GET /accounts/me/audit": client("GET", "/accounts/me/audit"),
        "GET /accounts/me/audit/{entryId}/verification": client(
            "GET", f"/accounts/me/audit/{ids['entryId']}/verification"
        ),
        "GET /accounts/me/statement": client("GET", "/accounts/me/statement"),
    }


def _latency(call: Call, runs: int) -> dict[str, Any]:
    first = call()  # the warm-up: the handler's container and caches
    first.raise_for_status()
    return {"status": first.status_code, **percentiles(timed_calls(call, runs))}


def measure() -> dict[str, Any]:
    runs = int(os.environ.get("BENCH_ROUTE_CALLS", "50"))
    with local_stack("latency-bench-") as (_, state), RunningStack(state) as running:
        calls = _calls(running, _story(running))
        missing = {f"{r.method} {r.path}" for r in ROUTES} - calls.keys()
        if missing:
            raise SystemExit(f"benchmarks/latency.py has no call for {sorted(missing)}")
        # Revoking last: the mandate's routes answer about an active mandate before that.
        order = sorted(calls, key=lambda k: k == "DELETE /accounts/me/trading-authorization")
        routes = {key: _latency(calls[key], runs) for key in order}
    return {"calls": runs, "routes": routes}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
