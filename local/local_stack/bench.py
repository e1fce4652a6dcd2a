"""Benchmark of the local stack: start-up time and what the local gateway costs per request.

``measure()`` starts a stack in this process on free ports (it exports the handlers' environment into
``os.environ``: run it in a process of its own, e.g. ``python -m local_stack.bench``), then times
- ``GET /accounts/me`` without a token: the gateway alone (routing, the authorizer's refusal);
- ``GET /accounts/me`` with a token: gateway + the onboard handler + one DynamoDB read on moto;
over one keep-alive connection, sequentially, after one warm-up call (the handler's cold start).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from local_stack.stack import LocalStack, StackConfig
from local_stack.tokens import issue_token, load_key


def _rate(
    client: httpx.Client, path: str, headers: dict[str, str], count: int, expect: int
) -> dict[str, float]:
    client.get(path, headers=headers)  # warm-up: the handler's import happens here
    started = time.perf_counter()
    for _ in range(count):
        response = client.get(path, headers=headers)
        if response.status_code != expect:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
    elapsed = time.perf_counter() - started
    per_second = round(count / elapsed, 1)
    return {"requests": count, "perSecond": per_second, "meanMs": round(elapsed / count * 1000, 2)}


def measure(requests: int = 300) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="local-stack-bench-") as state:
        config = StackConfig.ephemeral(Path(state))
        stack = LocalStack(config)
        started = time.perf_counter()
        info = stack.start()
        start_seconds = time.perf_counter() - started
        try:
            token = issue_token(load_key(Path(state)), "bench-client")
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=info["apiUrl"], timeout=30) as client:
                onboarded = time.perf_counter()
                first = client.post("/accounts", headers=auth)
                onboard_ms = (time.perf_counter() - onboarded) * 1000
                if first.status_code != 201:
                    raise RuntimeError(f"onboarding answered {first.status_code}: {first.text[:200]}")
                refused = _rate(client, "/accounts/me", {}, requests, 401)
                served = _rate(client, "/accounts/me", auth, requests, 200)
        finally:
            stopping = time.perf_counter()
            stack.stop()
            stop_seconds = time.perf_counter() - stopping
    return {
        "startSeconds": round(start_seconds, 2),
        "stopSeconds": round(stop_seconds, 2),
        "firstOnboardMs": round(onboard_ms, 1),
        "gatewayOnly401": refused,
        "getAccountMe200": served,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
