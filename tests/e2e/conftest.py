"""One local stack per test session, started as `make run` starts it (the CLI, in its own process), on
ephemeral ports and a private state folder; the tests drive it over HTTP only."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from local_stack.remote import RunningStack

from tests.e2e.harness import (
    CONSOLE_LOG,
    ROOT,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    log_tail,
    stack_command,
    stack_env,
)


@contextmanager
def started_stack(state_dir: Path) -> Iterator[RunningStack]:
    """The stack as `make run` starts it, in ``state_dir``; stopped (and checked to stop cleanly) after."""
    # What `make run` shows on the console; the stack's full log is its own <state_dir>/stack.log.
    log_path = state_dir / CONSOLE_LOG
    command = stack_command(
        state_dir,
        "run",
        "--api-port", "0",
        "--sandbox-port", "0",
        "--aws-port", "0",
        "--portal-port", "0",
        "--no-realtime",
        "--reconcile-seconds", "3600",
    )  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=stack_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (state_dir / "stack.json").exists():
            if process.poll() is not None:
                pytest.fail(f"the stack exited with {process.returncode}:\n{log_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"the stack did not start in {START_TIMEOUT_S}s:\n{log_tail(log_path)}")
            time.sleep(0.05)
        running = RunningStack(state_dir)
        yield running
        running.close()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            returncode: int | None = process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            returncode = None
    # A clean shutdown on SIGTERM: exit 0, and stack.json (which names dead ports now) removed.
    assert returncode == 0, f"the stack did not stop cleanly ({returncode}):\n{log_tail(log_path)}"
    assert not (state_dir / "stack.json").exists()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with started_stack(tmp_path_factory.mktemp("local-stack")) as running:
        yield running


@pytest.fixture(scope="session")
def proof_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own for the fuzzer and the authorization matrix: thousands of generated requests
    (order runs among them) and changes left waiting for the officer must not change what the story
    tests on the shared stack see."""
    with started_stack(tmp_path_factory.mktemp("proof-stack")) as running:
        yield running


@pytest.fixture(scope="session")
def stack_info(stack: RunningStack) -> dict[str, object]:
    info: dict[str, object] = json.loads((stack.state_dir / "stack.json").read_text())
    return info
