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
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from local_stack.remote import RunningStack, wait_for
from local_stack.stack import LocalStack, StackConfig
from managed_accounts.dfns.models import DecisionBody, NativeTransferBody

CLIENT = "bench-reports-1"
VIEWS = {
    "restrictions": "/accounts/me/restrictions",
    "activity": "/accounts/me/activity",
    "audit": "/accounts/me/audit",
    "statement": "/accounts/me/statement",
    "statementCsv": "/accounts/me/statement?format=csv",
}


def _counts(sandbox: httpx.Client, call: Callable[[], httpx.Response]) -> dict[str, int]:
    sandbox.delete("/sandbox/requests").raise_for_status()
    response = call()
    response.raise_for_status()
    counts: dict[str, int] = sandbox.get("/sandbox/requests").json()["counts"]
    return {route: n for route, n in counts.items() if not route.split(" ", 1)[1].startswith("/sandbox")}


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
    approval_id = wait_for(
        lambda: (
            stack.api("GET", f"/accounts/me/destination-requests/{asked['requestId']}", client_id=CLIENT)
            .json()
            .get("approvalId")
        ),
        what="the change request",
    )
    with stack.officer_client() as officer:
        officer.decide_approval(approval_id, DecisionBody(value="Approved"))
    wait_for(
        lambda: stack.api("GET", "/accounts/me/destinations", client_id=CLIENT).json()["items"] or None,
        what="the approval",
    )
    stack.deposit(account["walletId"], str(10**18))
    with stack.service_account_client() as dfns:
        dfns.transfer(account["walletId"], NativeTransferBody(to=destination, amount=str(10**16)))
    stack.advance_sandbox_clock(15)


def _latency(call: Callable[[], httpx.Response], runs: int) -> dict[str, float]:
    timings: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        call().raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(timings, n=20)
    return {"p50Ms": round(statistics.median(timings), 1), "p95Ms": round(cuts[18], 1)}


def measure() -> dict[str, Any]:
    runs = int(os.environ.get("BENCH_VIEW_CALLS", "40"))
    with tempfile.TemporaryDirectory(prefix="reports-bench-") as state:
        config = StackConfig.ephemeral(Path(state))
        stack = LocalStack(config)
        info = stack.start()
        try:
            with (
                RunningStack(Path(state)) as running,
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

                    cold = _counts(sandbox, view)
                    warm = _counts(sandbox, view)
                    results[name] = {
                        "coldRequests": sum(cold.values()),
                        "coldByRoute": cold,
                        "warmRequests": sum(warm.values()),
                        "warmByRoute": warm,
                        **_latency(view, runs),
                    }
        finally:
            stack.stop()
    return {"calls": runs, "views": results}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
