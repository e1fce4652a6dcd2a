"""What the benchmarks that start servers share: a local stack of their own, the sandbox's count of the
Dfns requests the product makes, latency percentiles, and the officer approving a destination request."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
from local_stack.remote import RunningStack, wait_for
from local_stack.stack import LocalStack, StackConfig
from managed_accounts.dfns.models import DecisionBody


@contextmanager
def local_stack(prefix: str, **overrides: Any) -> Iterator[tuple[dict[str, Any], Path]]:
    """A local stack on free ports with a frozen sandbox clock (``StackConfig.ephemeral``) in a temporary
    state folder: its info and that folder; stopped on exit."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as state,
        LocalStack(StackConfig.ephemeral(Path(state), **overrides)) as stack,
    ):
        yield stack.info, Path(state)


def reset_dfns_requests(sandbox: httpx.Client) -> None:
    sandbox.delete("/sandbox/requests").raise_for_status()


def dfns_requests(sandbox: httpx.Client) -> dict[str, int]:
    """Requests the sandbox counted by route since the last reset, its own ``/sandbox`` routes left out."""
    counts: dict[str, int] = sandbox.get("/sandbox/requests").json()["counts"]
    return {route: n for route, n in counts.items() if not route.split(" ", 1)[1].startswith("/sandbox")}


def dfns_requests_of(
    sandbox: httpx.Client, call: Callable[[], httpx.Response]
) -> tuple[httpx.Response, dict[str, int]]:
    """``call``'s answer, and the Dfns requests made while it ran."""
    reset_dfns_requests(sandbox)
    response = call()
    return response, dfns_requests(sandbox)


def timed_calls(call: Callable[[], httpx.Response], runs: int) -> list[float]:
    """Milliseconds of each of ``runs`` calls in a row; any error answer stops the benchmark."""
    timings: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        call().raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentiles(
    timings_ms: list[float], method: Literal["exclusive", "inclusive"] = "exclusive"
) -> dict[str, float]:
    cuts = statistics.quantiles(timings_ms, n=100, method=method)
    return {
        "p50Ms": round(statistics.median(timings_ms), 1),
        "p95Ms": round(cuts[94], 1),
        "p99Ms": round(cuts[98], 1),
    }


def approve_request(stack: RunningStack, client_id: str, request_id: str) -> None:
    """The officer approves the change request that carries ``request_id``; returns once it is approved."""
    path = f"/accounts/me/destination-requests/{request_id}"
    approval_id = wait_for(
        lambda: stack.api("GET", path, client_id=client_id).json().get("approvalId"),
        what="the change request",
    )
    with stack.officer_client() as officer:
        officer.decide_approval(approval_id, DecisionBody(value="Approved"))
    wait_for(
        lambda: stack.api("GET", path, client_id=client_id).json()["status"] == "approved" or None,
        what="the approval",
    )
