"""One local stack per test session, started as `make run` starts it (the CLI, in its own process), on
ephemeral ports and a private state folder; the tests drive it over HTTP only."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from local_stack.remote import RunningStack

from tests.e2e.harness import running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # What `make run` shows on the console; the stack's full log is its own <state_dir>/stack.log.
    with running_stack(tmp_path_factory.mktemp("local-stack"), "--reconcile-seconds", "3600") as running:
        yield running


@pytest.fixture(scope="session")
def proof_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own for the fuzzer and the authorization matrix: thousands of generated requests
    (order runs among them) and changes left waiting for the officer must not change what the story
    tests on the shared stack see."""
    with running_stack(tmp_path_factory.mktemp("proof-stack"), "--reconcile-seconds", "3600") as running:
        yield running


@pytest.fixture(scope="session")
def stack_info(stack: RunningStack) -> dict[str, object]:
    info: dict[str, object] = json.loads((stack.state_dir / "stack.json").read_text())
    return info
