"""The whole story on one local stack: once cleanly, once with Dfns faults (5xx, 429, latency, duplicated and
shuffled webhooks, a whole webhook kind dropped), once with DynamoDB failing a share of writes. Every play
ends in the same final state, field by field (ids and timestamps aside), with nothing duplicated in Dfns.

The stack reconciles every few seconds: the dropped ``policy.approval.resolved`` events are repaired only
by the reconciler.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from local_stack.remote import RunningStack

from tests.e2e.harness import running_stack
from tests.e2e.story import Frontend, dfns_counts, final_state, play

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local-stack")]

DFNS_FAULTS = {
    "rate5xx": 0.2,
    "rate429": 0.1,
    "latencyMs": 200,
    "webhookDuplicateRate": 0.5,
    "webhookShuffle": True,
    "webhookDropKinds": ["policy.approval.resolved"],
    "seed": 12,
}
NO_DFNS_FAULTS = {
    "rate5xx": 0,
    "rate429": 0,
    "latencyMs": 0,
    "webhookDuplicateRate": 0,
    "webhookShuffle": False,
    "webhookDropKinds": [],
}
# The audit ingestion's settle (5 s) or the outbox relay's delay (5 s), plus two 2 s passes, plus a margin.
INGEST_LAG_S = 5 + 2 * 2 + 1
# Carol's two requests go out as one change when the first could not be submitted at once (Dfns or DynamoDB
# failing): Dfns then holds one change request for both, approved once.
EXPECTED_IN_DFNS = {
    "alice": {
        "wallets": 1,
        "whitelistPolicies": 1,
        "changeRequests": {"Approved": 2},
        "transfersOfTheRun": 1,
    },
    "bob": {"wallets": 1, "whitelistPolicies": 1, "changeRequests": {"Denied": 1}, "transfersOfTheRun": 0},
    "carol": {
        "wallets": 1,
        "whitelistPolicies": 1,
        "changeRequests": {"Approved": 2},
        "transfersOfTheRun": 0,
    },
}
CAROL_BATCHED = {
    **EXPECTED_IN_DFNS,
    "carol": {**EXPECTED_IN_DFNS["carol"], "changeRequests": {"Approved": 1}},
}


@pytest.fixture(scope="module")
def fast_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own whose reconciler (and audit ingestion) runs every 2 s."""
    state_dir = tmp_path_factory.mktemp("faults-stack")
    with running_stack(state_dir, "--reconcile-seconds", "2", realtime=True) as running:
        yield running


def _play_clean(stack: RunningStack) -> dict[str, Any]:
    clients, front = play(stack, "clean")
    _settle(stack)
    return final_state(front, clients, "clean")


UNTOUCHED_VIEWS = ("account", "destinations", "requests", "restrictions", "auditProduct", "auditDfns")


def _untouched(state: dict[str, Any]) -> dict[str, Any]:
    """What a later play must not change for the clean play's clients (its order run pays Alice's active
    mandate again, rightly: orders, activity and statement move)."""

    def kept(view: str, value: Any) -> Any:
        return (
            [e for e in value if "Order" not in e and "/transfers" not in e]
            if view.startswith("audit")
            else value
        )

    return {role: {v: kept(v, views[v]) for v in UNTOUCHED_VIEWS} for role, views in state.items()}


def _clean_again(stack: RunningStack) -> dict[str, Any]:
    """The clean play's clients as they read now."""
    return final_state(Frontend(stack), {r: f"clean-{r}" for r in EXPECTED_IN_DFNS}, "clean")


def _sandbox(stack: RunningStack, faults: dict[str, Any]) -> None:
    response = httpx.post(f"{stack.info['sandboxUrl']}/sandbox/faults", json=faults, timeout=10)
    response.raise_for_status()


def _settle(stack: RunningStack) -> None:
    """Let the webhooks in flight land, the audit ingestion pass what Dfns logged until now (it reads up to
    5 s before now, every 2 s), and the reconciler relay events left in the outbox by a failed write (after
    5 s), so that the reports read a settled state."""
    sandbox = stack.info["sandboxUrl"]
    httpx.post(
        f"{sandbox}/sandbox/webhooks/flush", json={"timeoutSeconds": 20}, timeout=30
    ).raise_for_status()
    dfns_now = datetime.fromisoformat(httpx.get(f"{sandbox}/sandbox/clock", timeout=10).json()["now"])
    time.sleep(max((dfns_now - datetime.now(UTC)).total_seconds(), 0) + INGEST_LAG_S)


def assert_same_state(played: dict[str, Any], clean: dict[str, Any]) -> None:
    """Field by field, view by view; the message is a diff of the first view that differs."""
    for role, views in clean.items():
        for view, expected in views.items():
            if played[role][view] != expected:
                diff = difflib.unified_diff(
                    json.dumps(expected, indent=1, sort_keys=True).splitlines(),
                    json.dumps(played[role][view], indent=1, sort_keys=True).splitlines(),
                    "clean",
                    "played",
                    lineterm="",
                )
                pytest.fail(f"{role}'s {view} differs:\n" + "\n".join(diff))


def _dfns(stack: RunningStack, clients: dict[str, str], run_id: str) -> dict[str, Any]:
    counts = dfns_counts(stack, clients, run_id)
    return {role: {k: v for k, v in c.items() if k != "transfers"} for role, c in counts.items()}


def test_the_story_ends_alike_cleanly_under_dfns_faults_and_under_dynamodb_faults(fast_stack: RunningStack):
    """One test, three plays on one stack (a test per play would each start a stack of their own when
    pytest-xdist spreads them over its workers)."""
    clean = _play_clean(fast_stack)
    _check_clean(fast_stack, clean)
    _check_under_dfns_faults(fast_stack, clean)
    _check_under_dynamodb_faults(fast_stack, clean)


def _check_clean(fast_stack: RunningStack, clean: dict[str, Any]) -> None:
    assert _dfns(fast_stack, {r: f"clean-{r}" for r in EXPECTED_IN_DFNS}, "clean-run") == EXPECTED_IN_DFNS
    assert clean["alice"]["orders"]["items"][0]["status"] == "confirmed"
    assert clean["bob"]["requests"]["items"][0]["status"] == "rejected"
    assert [r["status"] for r in clean["carol"]["requests"]["items"]] == ["approved", "approved"]


def _check_under_dfns_faults(fast_stack: RunningStack, clean: dict[str, Any]) -> None:
    _sandbox(fast_stack, DFNS_FAULTS)
    try:
        clients, front = play(fast_stack, "faulty")
    finally:
        _sandbox(fast_stack, NO_DFNS_FAULTS)
    _settle(fast_stack)
    faulty = final_state(front, clients, "faulty")
    assert_same_state(_untouched(_clean_again(fast_stack)), _untouched(clean))
    assert_same_state(faulty, clean)
    assert _dfns(fast_stack, clients, "faulty-run") in (EXPECTED_IN_DFNS, CAROL_BATCHED)
    assert front.answers.keys() - {200, 201, 202, 404, 429, 500, 502, 503, 504} == set()


def _dynamodb(stack: RunningStack, faults: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{stack.info['awsEndpointUrl']}/_local/dynamodb-faults", json=faults, timeout=10)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def _check_under_dynamodb_faults(fast_stack: RunningStack, clean: dict[str, Any]) -> None:
    # A share of writes refused (throughput exceeded, 500) and a smaller share written but answered 500:
    # the SDK's retries then meet the product's own conditional writes.
    _dynamodb(fast_stack, {"beforeRate": 0.3, "afterRate": 0.05, "seed": 5})
    try:
        clients, front = play(fast_stack, "dynamo")
    finally:
        failed = _dynamodb(fast_stack, {"beforeRate": 0, "afterRate": 0})["failed"]
    _settle(fast_stack)
    assert sum(failed.values()) > 0
    assert_same_state(final_state(front, clients, "dynamo"), clean)
    assert _dfns(fast_stack, clients, "dynamo-run") in (EXPECTED_IN_DFNS, CAROL_BATCHED)
