"""``make bench``: measure, then write docs/BENCHMARKS.md with the numbers and the commands behind them.

Each measurement that starts servers runs in a process of its own (they export environment variables and
bind ports), and reports JSON on stdout.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import cold_start

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "BENCHMARKS.md"
COLD_START_BUDGET = 1.2


def _json_of(module: str) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("layers/common", "local", "."))
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the handlers' logs share stdout with the result
    out = subprocess.run(  # noqa: S603 - our own interpreter running our own module
        [sys.executable, "-m", module], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    # The result is the last thing printed, as an indented JSON object starting on a line of its own.
    start = ("\n" + out.stdout).rindex("\n{\n")
    result: dict[str, Any] = json.loads(out.stdout[start:])
    return result


def _cold_start_section(runs: int) -> list[str]:
    baseline, timings = cold_start.measure(runs)
    lines = [
        "## Cold start (import and init of each handler module)",
        "",
        f"Median of {runs} fresh interpreters per module, interleaved with the baseline (a bare Powertools",
        "REST handler with boto3, `benchmarks/baseline_handler.py`). Budget: ratio ≤ "
        f"{COLD_START_BUDGET} (DESIGN.md §7).",
        "",
        "| module | median ms | ratio to baseline | within budget |",
        "| --- | ---: | ---: | :---: |",
        f"| baseline (Powertools REST + boto3) | {baseline.median_ms:.0f} | 1.00 | |",
    ]
    for t in timings:
        ratio = t.median_ms / baseline.median_ms
        ok = "yes" if ratio <= COLD_START_BUDGET else "**no**"
        lines.append(f"| `{t.module}` | {t.median_ms:.0f} | {ratio:.2f} | {ok} |")
    return lines


def _round_trips_section() -> list[str]:
    data = _json_of("benchmarks.round_trips")
    lines = [
        "## Dfns round trips per operation",
        "",
        "Counted by the Dfns sandbox (`GET /sandbox/requests`) around one call to the product's API on the",
        "local stack. A signed call is three HTTP requests (`/auth/action/init`, `/auth/action`, the call).",
        "",
        "| operation | budget | signed calls | reads | HTTP requests | by route |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    budgets = {
        "onboarding": "2 signed",
        "onboardingRepeated": "0",
        "destinationRequest": "1 read + 1 signed",
    }
    for name, row in data.items():
        routes = ", ".join(f"{r} ×{n}" for r, n in row["byRoute"].items()) or "none"
        lines.append(
            f"| {name} | {budgets.get(name, '')} | {row['signedCalls']} | {row['reads']} "
            f"| {row['httpRequests']} | {routes} |"
        )
    lines += [
        "",
        "The destination request's second read is the webhook handler re-reading the approval from",
        "Dfns (`policy.approval.pending` arrives while the request is being answered), not the request path.",
    ]
    return lines


def _reports_section() -> list[str]:
    data = _json_of("benchmarks.reports")
    lines = [
        "## Client views: Dfns requests and warm latency",
        "",
        "Counted by the Dfns sandbox around one call of each view on the local stack, after a short story",
        "(onboarding, an approved destination, a deposit, a payment): the first call of the reports",
        "function (a cold container, nothing cached) and a second one (warm: the governance and limit",
        f"policies come from the ≤ 60 s cache). Latency: {data['calls']} warm calls through the local",
        "gateway (gateway, handler, moto, sandbox on one machine).",
        "",
        "| view | Dfns requests (cold) | Dfns requests (warm) | warm by route | p50 ms | p95 ms |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for name, row in data["views"].items():
        routes = ", ".join(f"{r} ×{n}" for r, n in row["warmByRoute"].items()) or "none"
        counts = f"{row['coldRequests']} | {row['warmRequests']}"
        lines.append(f"| {name} | {counts} | {routes} | {row['p50Ms']} | {row['p95Ms']} |")
    lines += [
        "",
        "The restrictions view reads by id only, so its count does not depend on the number of clients",
        "(`tests/integration/test_reports_sandbox_scale.py` checks 1 and 50 clients); the audit trail",
        "never calls Dfns.",
    ]
    return lines


def _sandbox_section() -> list[str]:
    data = _json_of("dfns_sandbox.bench")
    return [
        "## Dfns sandbox",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| start-up (embedded) | {data['startup_seconds'] * 1000:.0f} ms |",
        f"| `GET /wallets/{{id}}` over one keep-alive connection | {data['reads_per_second']} req/s |",
        f"| signed `POST /wallets` (init + action + call) | {data['signed_calls_per_second']} calls/s |",
        f"| HTTP requests/s during signed calls | {data['http_requests_per_second_signed']} |",
    ]


def _local_stack_section() -> list[str]:
    data = _json_of("local_stack.bench")
    return [
        "## Local stack",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| start (moto, sandbox, bootstrap, API) | {data['startSeconds']} s |",
        f"| stop | {data['stopSeconds']} s |",
        f"| first onboarding (cold handler) | {data['firstOnboardMs']} ms |",
        f"| gateway only (401, no token) | {data['gatewayOnly401']['perSecond']} req/s |",
        f"| `GET /accounts/me` (gateway + handler + moto) | {data['getAccountMe200']['perSecond']} req/s |",
    ]


def _order_run_section() -> list[str]:
    data = _json_of("benchmarks.order_run")
    routes = ", ".join(f"{r} ×{n}" for r, n in data["dfnsRequestsByRoute"].items())
    once = data["transfersPerWallet"]
    report = data["report"]
    return [
        "## An order run of 2,000 mandates (local stack, sandbox rate-limited)",
        "",
        f"`benchmarks.order_run`: {data['mandates']} clients with an active mandate, set up through the",
        "product's services; the sandbox then limits Dfns to "
        f"{data['rateLimitPerMinute']} requests a minute (fixed 60 s windows)",
        "and an operator starts the run (`POST /admin/order-runs`). The local SQS event source runs the",
        f"worker with concurrency {data['workerConcurrency']} and batches of {data['workerBatchSize']}."
        " DESIGN.md §7:",
        "every leg submitted exactly once, finishing close to the bound the rate limit sets.",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| setup ({data['mandates']} onboarded, funded, authorised) | {data['setupSeconds']} s |",
        f"| `POST /admin/order-runs` answered (run recorded, page 1 queued) | {data['answeredSeconds']} s |",
        f"| planning done (index pages via the queue, legs in batches of 10) | {data['planningSeconds']} s |",
        f"| run, from the POST until no leg is pending | {data['runSeconds']} s |",
        f"| rate-limit bound (3 requests a leg / limit) | {data['rateLimitBoundSeconds']} s |",
        f"| ratio to the bound | {data['ratioToBound']} |",
        f"| the sandbox's last window opens at | {data['lastWindowOpensSeconds']} s |",
        f"| legs planned / submitted / pending | {report['planned']} / {report['submitted']} "
        f"/ {report['pending']} |",
        f"| skipped / breaker open | {report['skipped']['total']} / {report['breaker']['open']} |",
        f"| wallets with exactly one transfer of the run (none, more) | {once['exactlyOne']} "
        f"({once['none']}, {once['moreThanOne']}) |",
        f"| Dfns requests during the run (429s included) | {data['dfnsRequests']}: {routes} |",
    ]


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "7"))
    sections = [
        _cold_start_section(runs),
        _round_trips_section(),
        _reports_section(),
        _sandbox_section(),
        _local_stack_section(),
        _order_run_section(),
    ]
    header = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "Each section names the module that measured it; `.venv/bin/python -m <module>` shows its raw JSON.",
        "Absolute times depend on the machine's load; ratios are to a baseline measured in the same run.",
        "",
    ]
    body = "\n\n".join("\n".join(s) for s in sections)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(header) + "\n" + body + "\n")
    print(REPORT.read_text())


if __name__ == "__main__":
    main()
