"""Starting the local stack as `make run` does: the CLI in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from local_stack.remote import RunningStack

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
CONSOLE_LOG = "console.log"  # the stack process's stdout and stderr, in its state folder


def stack_command(state_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "local_stack.cli", "--state-dir", str(state_dir), *args]


def stack_env() -> dict[str, str]:
    """The venv's environment with the repository's import roots, as `uv run` gives the console script."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DFNS_", "POWERTOOLS_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("layers/common", "local", "."))
    return env


def log_tail(path: Path, size: int = 4000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else "(no log)"


@contextmanager
def running_stack(state_dir: Path, *run_args: str, realtime: bool = False) -> Iterator[RunningStack]:
    """`managed-accounts run` on ephemeral ports in ``state_dir`` (extra ``run_args`` appended); stopped
    with SIGTERM at the end, which must be a clean exit that removes stack.json. Unless ``realtime``, the
    sandbox's clock is frozen (it moves with ``POST /sandbox/clock`` only)."""
    log_path = state_dir / CONSOLE_LOG
    frozen = () if realtime else ("--no-realtime",)
    command = stack_command(
        state_dir,
        "run",
        "--api-port", "0",
        "--sandbox-port", "0",
        "--aws-port", "0",
        "--portal-port", "0",
        *frozen,
        *run_args,
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
            process.send_signal(signal.SIGUSR1)  # every thread's stack into the log, to see what hangs
            time.sleep(1)
            process.kill()
            process.wait()
            returncode = None
    # A clean shutdown on SIGTERM: exit 0, and stack.json (which names dead ports now) removed.
    assert returncode == 0, f"the stack did not stop cleanly ({returncode}):\n{log_tail(log_path, 20_000)}"
    assert not (state_dir / "stack.json").exists()
