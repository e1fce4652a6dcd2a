"""Load: ``BENCH_CLIENTS`` simulated clients (default 200) at once on the local stack, each onboarding,
asking for a destination and reading its account and reports; latency percentiles per route.

Starts the local stack in this process on free ports (run it in a process of its own:
``python -m benchmarks.load``). Every client runs in its own thread with its own connection, all released
together. Checked afterwards: no 5xx, nothing lost (every client has its account, one wallet in Dfns, and
the request it was answered 202 for). Absolute times depend on the machine (one process serves the
gateway, every handler, moto and the sandbox); the counts do not.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from local_stack.remote import RunningStack
from local_stack.tokens import issue_token, load_key

from benchmarks.harness import local_stack, percentiles

READS = (
    "/accounts/me",
    "/accounts/me/destination-requests",
    "/accounts/me/restrictions",
    "/accounts/me/activity",
    "/accounts/me/audit",
    "/accounts/me/statement",
)


class _Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    def call(self, http: httpx.Client, route: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = http.request(method, path, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        with self._lock:
            self.timings[route].append(elapsed)
            self.statuses[route][response.status_code] += 1
        return response


def _client(api_url: str, token: str, index: int, start: threading.Event, rec: _Recorder) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=120) as http:
        start.wait()
        onboarded = rec.call(http, "POST /accounts", "POST", "/accounts")
        body = {"address": f"0x{index:040x}", "label": "load"}
        asked = rec.call(
            http,
            "POST /accounts/me/destination-requests",
            "POST",
            "/accounts/me/destination-requests",
            json=body,
            headers={"Idempotency-Key": f"load-{index}"},
        )
        for path in READS:
            rec.call(http, f"GET {path}", "GET", path)
        request_id = asked.json().get("requestId") if asked.status_code == 202 else None
        return {"onboarded": onboarded.status_code, "asked": asked.status_code, "requestId": request_id}


def _lost(stack: RunningStack, clients: list[str], outcomes: list[dict[str, Any]]) -> dict[str, int]:
    """Accounts missing, wallets not exactly one per client in Dfns, requests answered 202 but not found."""
    missing_accounts = sum(
        1 for c in clients if stack.api("GET", "/accounts/me", client_id=c).status_code != 200
    )
    missing_requests = 0
    for client_id, outcome in zip(clients, outcomes, strict=True):
        if outcome["requestId"]:
            path = f"/accounts/me/destination-requests/{outcome['requestId']}"
            missing_requests += stack.api("GET", path, client_id=client_id).status_code != 200
    with stack.service_account_client() as dfns:
        wallets = Counter(t for w in dfns.iter_wallets() for t in w.tags if t.startswith("client:load-"))
    not_one_wallet = sum(1 for c in clients if wallets[f"client:{c}"] != 1)
    return {
        "accountsMissing": missing_accounts,
        "requestsMissing": missing_requests,
        "clientsWithoutExactlyOneWallet": not_one_wallet,
    }


def measure(count: int) -> dict[str, Any]:
    with local_stack("load-bench-") as (info, state):
        key = load_key(state)
        clients = [f"load-{i:04d}" for i in range(count)]
        tokens = [issue_token(key, c) for c in clients]
        rec, start = _Recorder(), threading.Event()
        with ThreadPoolExecutor(max_workers=count) as pool:
            futures = [pool.submit(_client, info["apiUrl"], tokens[i], i, start, rec) for i in range(count)]
            time.sleep(1)  # every thread waiting at the gate
            began = time.perf_counter()
            start.set()
            outcomes = [f.result() for f in futures]
            wall = time.perf_counter() - began
        with RunningStack(state) as running:
            lost = _lost(running, clients, outcomes)
    statuses = {route: dict(sorted(c.items())) for route, c in rec.statuses.items()}
    return {
        "clients": count,
        "wallSeconds": round(wall, 1),
        "requests": sum(len(t) for t in rec.timings.values()),
        "serverErrors": sum(n for c in rec.statuses.values() for s, n in c.items() if s >= 500),
        "statuses": statuses,
        "lost": lost,
        "routes": {
            route: {"count": len(t), **percentiles(t, method="inclusive")} for route, t in rec.timings.items()
        },
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(os.environ.get("BENCH_CLIENTS", "200"))), indent=2))
