"""The stack is synthesised once per test session and variant (a synth takes seconds), with bundling
skipped so the tests stay offline, and without cdk-nag (``Template.from_stack`` refuses to run while it is
attached).

Under pytest-xdist the first worker to need a variant synthesises it and leaves the template in the
session's shared temp directory; the others read it instead of competing for the same two cores with a
synth of their own."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

OFFICER = "us-test-officer"
OFFICERS = [OFFICER, "us-test-officer-2"]
ORIGIN = "https://app.example.com"

# A stage with everything switched on, as production would configure it (not throwaway: data is retained).
CONTEXT: dict[str, Any] = {
    "stage": "prod",
    "bundling": "skip",
    "stages": {
        "prod": {
            "settings": {
                "complianceApproverIds": OFFICERS,
                "complianceQuorum": 2,
                "frontendOrigins": [ORIGIN],
                "approvalTimeoutMinutes": 4320,
            },
            "alarmEmail": "ops@example.com",
        }
    },
}
# The same stage deployed with `-c throwaway=true` (as the CLI passes it: a string).
THROWAWAY_CONTEXT: dict[str, Any] = {**CONTEXT, "throwaway": "true"}


def _synthesise(context: dict[str, Any]) -> dict[str, Any]:
    from aws_cdk.assertions import Template

    from infra.stack import build_app

    _, stack = build_app(nag=False, context=context)
    return dict(Template.from_stack(stack).to_json())


def _shared(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str, build: Callable[[], dict[str, Any]]
) -> Any:
    from aws_cdk.assertions import Template

    if worker_id == "master":  # not under xdist
        return Template.from_json(build())
    shared = tmp_path_factory.getbasetemp().parent / f"infra-template-{name}.json"
    with open(f"{shared}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not shared.exists():
            shared.write_text(json.dumps(build()))
        return Template.from_json(json.loads(shared.read_text()))


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Any:
    return _shared(tmp_path_factory, worker_id, "prod", lambda: _synthesise(CONTEXT))


@pytest.fixture(scope="session")
def throwaway_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Any:
    return _shared(tmp_path_factory, worker_id, "throwaway", lambda: _synthesise(THROWAWAY_CONTEXT))
