"""Cold-start proxy: the wall time to import each function's handler module in a fresh interpreter.

Each module is imported ``runs`` times, each in a new process, alternating with the baseline so that
machine noise hits both alike; the median is reported and compared with the baseline's median.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "benchmarks.baseline_handler"

_PROBE = (
    "import time,importlib;t=time.perf_counter();importlib.import_module({module!r});"
    "print(time.perf_counter()-t)"
)


@dataclass(frozen=True)
class ImportTiming:
    module: str
    median_ms: float
    runs: int


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("layers/common", "local", "."))
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    env.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
    env.setdefault("POWERTOOLS_SERVICE_NAME", "bench")
    return env


def _import_seconds(module: str) -> float:
    out = subprocess.run(  # noqa: S603 - our own interpreter importing our own module
        [sys.executable, "-c", _PROBE.format(module=module)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def handler_modules() -> list[str]:
    modules = []
    for path in sorted((ROOT / "functions").glob("*/*.py")):
        if path.name != "__init__.py" and "def handler(" in path.read_text():
            modules.append(f"functions.{path.parent.name}.{path.stem}")
    return modules


def measure(runs: int = 7) -> tuple[ImportTiming, list[ImportTiming]]:
    modules = handler_modules()
    samples: dict[str, list[float]] = {m: [] for m in [BASELINE, *modules]}
    for _ in range(runs):
        for module, seconds in samples.items():  # interleaved: noise spreads over every module alike
            seconds.append(_import_seconds(module))
    timings = {m: ImportTiming(m, statistics.median(s) * 1000, runs) for m, s in samples.items()}
    return timings.pop(BASELINE), list(timings.values())
