"""The client-transparency views: Dfns requests per view (counted by the sandbox) and warm latency.

Starts the local stack in this process on free ports (run it in a process of its own:
``python -m benchmarks.reports``), plays a short story (onboarding, an approved destination, a deposit,
a payment), then for each view: the Dfns requests of its first call (a cold container) and of a second
(warm), and the p50/p95 of ``BENCH_VIEW_CALLS`` warm calls through the local gateway (gateway, handler,
moto, sandbox: absolute times depend on the machine; the requests per view do not).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
from local_stack.remote import RunningStack
from managed_accounts.dfns.models import NativeTransferBody

from benchmarks.harness import approve_request, dfns_requests_of, local_stack, percentiles, timed_calls

CLIENT = "bench-reports-1"
VIEWS = {
    "restrictions": "/accounts/me/restrictions",
    "activity": "/accounts/me/activity",
    "audit": "/accounts/me/audit",
    "statement": "/accounts/me/statement",
    "statementCsv": "/accounts/me/statement?format=csv",
}


def _story(stack: RunningStack) -> None:
    stack.api("POST", "/accounts", client_id=CLIENT).raise_for_status()
    account = stack.api("GET", "/accounts/me", client_id=CLIENT).json()
    destination = "0x" + "ab" * 20
    asked = stack.api(
        "POST",
        "/accounts/me/destination-requests",
        client_id=CLIENT,
        json={"address": destination, "label": "bank"},
    ).json()
    approve_request(stack, CLIENT, asked["requestId"])
    stack.deposit(account["walletId"], str(10**18))
    with stack.service_account_client() as dfns:
        dfns.transfer(account["walletId"], NativeTransferBody(to=destination, amount=str(10**16)))
    stack.advance_sandbox_clock(15)


def measure() -> dict[str, Any]:
    runs = int(os.environ.get("BENCH_VIEW_CALLS", "40"))
    with (
        local_stack("reports-bench-") as (info, state),
        RunningStack(state) as running,
        httpx.Client(base_url=info["sandboxUrl"], timeout=30) as sandbox,
    ):
        _story(running)
        # Webhooks of the story re-read Dfns as they land: let them finish before counting.
        sandbox.post("/sandbox/webhooks/flush", json={"timeoutSeconds": 20}).raise_for_status()
        time.sleep(1)
        results: dict[str, Any] = {}
        for name, path in VIEWS.items():

            def view(path: str = path) -> httpx.Response:
                return running.api("GET", path, client_id=CLIENT)

            first, cold = dfns_requests_of(sandbox, view)
            second, warm = dfns_requests_of(sandbox, view)
            first.raise_for_status()
            second.raise_for_status()
            results[name] = {
                "coldRequests": sum(cold.values()),
                "coldByRoute": cold,
                "warmRequests": sum(warm.values()),
                "warmByRoute": warm,
                **percentiles(timed_calls(view, runs)),
            }
    return {"calls": runs, "views": results}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
