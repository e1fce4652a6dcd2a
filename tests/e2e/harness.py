"""Starting the local stack as `make run` does: the CLI in its own process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


def log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"
