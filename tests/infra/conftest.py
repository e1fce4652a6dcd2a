"""The stack is synthesised once per test session (a synth takes seconds), with bundling skipped so the
tests stay offline, and without cdk-nag (``Template.from_stack`` refuses to run while it is attached).

Under pytest-xdist the first worker synthesises and leaves the template in the session's shared temp
directory; the others read it instead of competing for the same two cores with a synth of their own."""

from __future__ import annotations

import fcntl
import json
import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

OFFICER = "us-test-officer"
ORIGIN = "https://app.example.com"

# A stage with everything switched on, as production would configure it.
CONTEXT: dict[str, Any] = {
    "stage": "prod",
    "bundling": "skip",
    "stages": {
        "prod": {
            "settings": {
                "complianceApproverIds": [OFFICER],
                "frontendOrigins": [ORIGIN],
                "approvalTimeoutMinutes": 4320,
            },
            "alarmEmail": "ops@example.com",
            "retainData": True,
        }
    },
}


def _synthesise() -> dict[str, Any]:
    from aws_cdk.assertions import Template

    from infra.stack import build_app

    _, stack = build_app(nag=False, context=CONTEXT)
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Any:
    from aws_cdk.assertions import Template

    if worker_id == "master":  # not under xdist
        return Template.from_json(_synthesise())
    shared = tmp_path_factory.getbasetemp().parent / "infra-template.json"
    with open(f"{shared}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not shared.exists():
            shared.write_text(json.dumps(_synthesise()))
        return Template.from_json(json.loads(shared.read_text()))
