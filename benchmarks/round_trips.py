"""Dfns round trips per product operation, counted by the sandbox (DESIGN.md §7 budgets).

Starts the local stack in this process on free ports (it exports the handlers' environment, so run it in a
process of its own: ``python -m benchmarks.round_trips``), then, for each operation, clears the sandbox's
request log, calls the product's API over HTTP and reads the counts per Dfns route back. A signed call costs
three requests (``/auth/action/init``, ``/auth/action``, the call), so signed calls are counted as the
state-changing requests and reads as the GETs outside ``/auth``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from local_stack.tokens import issue_token, load_key

from benchmarks.harness import dfns_requests_of, local_stack


def _dfns_calls(
    sandbox: httpx.Client, operation: Callable[[], httpx.Response], expect: int
) -> dict[str, Any]:
    response, product = dfns_requests_of(sandbox, operation)
    if response.status_code != expect:
        raise RuntimeError(f"expected {expect}, got {response.status_code}: {response.text[:300]}")
    signed = sum(n for r, n in product.items() if not r.startswith("GET") and "/auth/action" not in r)
    reads = sum(n for r, n in product.items() if r.startswith("GET"))
    return {"signedCalls": signed, "reads": reads, "httpRequests": sum(product.values()), "byRoute": product}


def measure() -> dict[str, Any]:
    with local_stack("round-trips-") as (info, state):
        auth = {"Authorization": f"Bearer {issue_token(load_key(state), 'bench-client-1')}"}
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
    return {
        "onboarding": onboarding,
        "onboardingRepeated": onboarding_again,
        "destinationRequest": request,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
