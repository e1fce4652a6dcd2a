"""Dfns round trips per product operation, counted by the sandbox (DESIGN.md §7 budgets).

Starts the local stack in this process on free ports (it exports the handlers' environment, so run it in a
process of its own: ``python -m benchmarks.round_trips``), then, for each operation, clears the sandbox's
request log, calls the product's API over HTTP and reads the counts per Dfns route back. A signed call costs
three requests (``/auth/action/init``, ``/auth/action``, the call), so signed calls are counted as the
state-changing requests and reads as the GETs outside ``/auth``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from local_stack.stack import LocalStack, StackConfig
from local_stack.tokens import issue_token, load_key


def _dfns_calls(
    sandbox: httpx.Client, operation: Callable[[], httpx.Response], expect: int
) -> dict[str, Any]:
    sandbox.delete("/sandbox/requests").raise_for_status()
    response = operation()
    if response.status_code != expect:
        raise RuntimeError(f"expected {expect}, got {response.status_code}: {response.text[:300]}")
    counts: dict[str, int] = sandbox.get("/sandbox/requests").json()["counts"]
    product = {route: n for route, n in counts.items() if not route.split(" ", 1)[1].startswith("/sandbox")}
    signed = sum(n for r, n in product.items() if not r.startswith("GET") and "/auth/action" not in r)
    reads = sum(n for r, n in product.items() if r.startswith("GET"))
    return {"signedCalls": signed, "reads": reads, "httpRequests": sum(product.values()), "byRoute": product}


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="round-trips-") as state:
        config = StackConfig.ephemeral(Path(state))
        stack = LocalStack(config)
        info = stack.start()
        try:
            key = load_key(Path(state))
            auth = {"Authorization": f"Bearer {issue_token(key, 'bench-client-1')}"}
            with (
                httpx.Client(base_url=info["apiUrl"], timeout=30) as api,
                httpx.Client(base_url=info["sandboxUrl"], timeout=30) as sandbox,
            ):
                onboarding = _dfns_calls(sandbox, lambda: api.post("/accounts", headers=auth), 201)
                onboarding_again = _dfns_calls(sandbox, lambda: api.post("/accounts", headers=auth), 200)
                request = _dfns_calls(
                    sandbox,
                    lambda: api.post(
                        "/accounts/me/destination-requests",
                        headers=auth,
                        json={"address": "0x" + "ab" * 20, "label": "bench"},
                    ),
                    202,
                )
        finally:
            stack.stop()
    return {
        "onboarding": onboarding,
        "onboardingRepeated": onboarding_again,
        "destinationRequest": request,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
