"""An order run of 2,000 mandates on the local stack, against the Dfns sandbox's rate limit (DESIGN.md §7).

Starts the local stack in this process (run it in a process of its own: ``python -m benchmarks.order_run``),
then sets up ``BENCH_MANDATES`` clients (default 2,000) through the product's own services, each with an
active mandate: onboarded (2 signed calls), funded, trading authorised (1 read + 1 signed whitelist
change). To keep the setup to minutes, the compliance officer first approves archiving the governance
policy (once), so each whitelist change applies at once instead of waiting for a decision of its own;
the webhook is removed too, so that setup's events do not queue behind the run. Neither touches what is
measured: the run's legs, their pre-flight and their transfers.

Then the sandbox limits Dfns to ``BENCH_RATE_LIMIT`` requests a minute (default 1,000, Dfns's documented
non-trial quota; counted as Dfns counts them: a signed call is three requests) and an operator starts
the run through the API, as ``POST /admin/order-runs``. The local SQS event source drains the planning
pages and the legs with the configured concurrency. Measured: the POST's answer, the time until the
last page is planned, the time until no leg is pending, the bound the
rate limit sets (``3 × legs / limit`` minutes; the sandbox counts in fixed 60 s windows, so the last
window opens at ``(ceil(3 × legs / limit) − 1)`` minutes), Dfns requests by route (429s included),
and, once the limit is lifted, that every wallet holds exactly one transfer with the run's externalId.
"""

from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
from dfns_sandbox.bench import signed_calls_per_second
from local_stack.officer import OfficerDfnsClient
from local_stack.tokens import issue_token, load_key
from managed_accounts.config import Settings, get_settings
from managed_accounts.data.orders_repository import DynamoOrdersRepository
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.dfns.factory import build_dfns_client
from managed_accounts.dfns.models import DecisionBody
from managed_accounts.dfns.signing import UserActionSigner
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.mandates import MandateOutcomes, MandateService, MandateSettler
from managed_accounts.domain.onboarding import OnboardingService
from managed_accounts.domain.ports import ChangeRequestPending
from managed_accounts.domain.trading import order_external_id
from managed_accounts.secrets import get_dfns_credentials
from managed_accounts.wiring import SystemClock, exchange_catalog_of

from benchmarks.harness import dfns_requests, local_stack, reset_dfns_requests

RUN_ID = "bench-run"
FREE_RUN_ID = "bench-run-unlimited"
SETUP_THREADS = 8


class _NullPublisher:
    def publish(self, events: Any) -> None:
        return None


class _SetupLambda:
    """What one concurrent setup worker holds: its own table, repositories, Dfns client and services."""

    def __init__(self, settings: Settings, officer: dict[str, Any]) -> None:
        table = boto3.resource("dynamodb", **settings.aws_client_kwargs()).Table(settings.table_name)
        accounts, orders, clock = (
            DynamoAccountsRepository(table),
            DynamoOrdersRepository(table),
            SystemClock(),
        )
        self.dfns = build_dfns_client(settings, get_dfns_credentials(settings))
        settler = MandateSettler(orders, accounts, clock)
        publisher = _NullPublisher()
        self.destinations = DestinationService(
            accounts, self.dfns, publisher, clock, listeners=(MandateOutcomes(settler, orders),)
        )
        self.onboarding = OnboardingService(accounts, self.dfns, settings, publisher, clock)
        self.mandates = MandateService(
            orders, accounts, self.destinations, exchange_catalog_of(settings), clock
        )
        self.officer = OfficerDfnsClient(
            str(settings.dfns_api_url),
            officer["token"],
            UserActionSigner(officer["credId"], officer["privateKeyPem"]),
            max_attempts=2,
        )
        self.http = httpx.Client(base_url=str(settings.dfns_api_url), timeout=30)

    def authorise(self, client_id: str) -> str:
        wallet_id = self.onboarding.onboard(client_id).account.wallet_id
        assert wallet_id is not None
        self.http.post(
            "/sandbox/deposits", json={"walletId": wallet_id, "amount": str(10**18)}
        ).raise_for_status()
        self.mandates.authorise(client_id, "sandbox-exchange", "ETH", "0.01")
        return wallet_id


def _setup(settings: Settings, officer: dict[str, Any], governance_id: str, count: int) -> dict[str, str]:
    workers = [_SetupLambda(settings, officer) for _ in range(SETUP_THREADS)]
    # The service account may not archive policies (DESIGN.md §6): a second administrator asks, and the
    # compliance officer (who may not approve their own request) approves.
    base = str(settings.dfns_api_url).rstrip("/")
    admin = httpx.post(f"{base}/sandbox/officers", json={"name": "bench-admin"}, timeout=30)
    admin.raise_for_status()
    identity = admin.json()
    with OfficerDfnsClient(
        str(settings.dfns_api_url),
        identity["token"],
        UserActionSigner(identity["credId"], identity["privateKeyPem"]),
        max_attempts=2,
    ) as administrator:
        outcome = administrator.archive_policy(governance_id)
    if isinstance(outcome, ChangeRequestPending) and outcome.change_request.approval_id:
        workers[0].officer.decide_approval(outcome.change_request.approval_id, DecisionBody(value="Approved"))
    clients = [f"bench-{i:05d}" for i in range(count)]
    with ThreadPoolExecutor(max_workers=SETUP_THREADS) as pool:
        wallets = list(pool.map(lambda i: workers[i % SETUP_THREADS].authorise(clients[i]), range(count)))
    return dict(zip(clients, wallets, strict=True))


def _remove_webhooks(settings: Settings) -> None:
    with build_dfns_client(settings, get_dfns_credentials(settings)) as dfns:
        for webhook in list(dfns.iter_webhooks()):
            dfns.delete_webhook(webhook.id)


def _report(api: httpx.Client, operator: dict[str, str], run_id: str) -> dict[str, Any]:
    report: dict[str, Any] = api.get(f"/admin/order-runs/{run_id}", headers=operator).json()
    return report


def _wait_for(
    api: httpx.Client, operator: dict[str, str], run_id: str, done: Any, *, timeout: float, every: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        report = _report(api, operator, run_id)
        if done(report) or time.monotonic() > deadline:
            return report
        # Each report reads all the run's orders (heavy on moto): poll rarely. The times measured come from
        # the report's own timestamps, so the polling interval does not blur them.
        time.sleep(every)


def _exactly_once(settings: Settings, wallets: dict[str, str], run_id: str) -> dict[str, int]:
    """How many wallets hold exactly one, none, or more than one transfer with this run's externalId."""
    outcome = {"exactlyOne": 0, "none": 0, "moreThanOne": 0}
    with build_dfns_client(settings, get_dfns_credentials(settings)) as dfns:
        for client_id, wallet_id in wallets.items():
            wanted = order_external_id(run_id, client_id)
            found = sum(1 for t in dfns.iter_transfers(wallet_id, page_size=50) if t.external_id == wanted)
            key = "exactlyOne" if found == 1 else "none" if found == 0 else "moreThanOne"
            outcome[key] += 1
    return outcome


def _run(
    api: httpx.Client, sandbox: httpx.Client, operator: dict[str, str], run_id: str, *, poll: float
) -> dict[str, Any]:
    """Start one order run as an operator and wait until no leg is pending: timings and Dfns requests."""
    reset_dfns_requests(sandbox)
    started, wall = time.perf_counter(), datetime.now(UTC)
    api.post("/admin/order-runs", json={"runId": run_id}, headers=operator).raise_for_status()
    answered_seconds = time.perf_counter() - started
    planned = _wait_for(
        api, operator, run_id, lambda r: r["status"] == "planned", timeout=30 * 60, every=poll
    )
    report = _wait_for(
        api,
        operator,
        run_id,
        lambda r: r["status"] == "planned" and r["pending"] == 0,
        timeout=60 * 60,
        every=poll,
    )
    dfns_counts = dfns_requests(sandbox)
    # From the POST to the last order's change, from the report's own timestamps.
    run_seconds = (datetime.fromisoformat(report["lastChangeAt"]) - wall).total_seconds()
    planning_seconds = (datetime.fromisoformat(planned["plannedAt"]) - wall).total_seconds()
    legs = max(int(report["planned"]), 1)
    return {
        "answeredSeconds": round(answered_seconds, 2),
        "planningSeconds": round(planning_seconds, 1),
        "runSeconds": round(run_seconds, 1),
        "legsPerSecond": round(legs / run_seconds, 1),
        "report": {k: report[k] for k in ("planned", "pending", "submitted", "skipped", "breaker")},
        "dfnsRequests": sum(dfns_counts.values()),
        "dfnsRequestsPerLeg": round(sum(dfns_counts.values()) / legs, 2),
        "dfnsRequestsByRoute": dfns_counts,
    }


def measure(mandates: int, rate_limit: int) -> dict[str, Any]:
    overrides = {"reconcile_seconds": 24 * 3600, "order_run_schedule": "rate(1 day)"}
    with local_stack("order-run-bench-", **overrides) as (info, state):
        settings = get_settings()
        _remove_webhooks(settings)
        started = time.perf_counter()
        governance_id = info["bootstrap"]["GovernancePolicyId"]
        wallets = _setup(settings, info["complianceOfficer"], governance_id, mandates)
        setup_seconds = time.perf_counter() - started
        operator = {"Authorization": f"Bearer {issue_token(load_key(state), 'bench-ops', operator=True)}"}
        with (
            httpx.Client(base_url=info["apiUrl"], timeout=120) as api,
            httpx.Client(base_url=info["sandboxUrl"], timeout=30) as sandbox,
        ):
            sandbox.post("/sandbox/faults", json={"rateLimitPerMinute": rate_limit}).raise_for_status()
            limited = _run(api, sandbox, operator, RUN_ID, poll=30)
            sandbox.post("/sandbox/faults", json={"rateLimitPerMinute": None}).raise_for_status()
            limited["transfersPerWallet"] = _exactly_once(settings, wallets, RUN_ID)
            # The same mandates again, with no rate limit: how close the product gets to the sandbox's
            # own signed-call throughput, measured right after on the same sandbox.
            free = _run(api, sandbox, operator, FREE_RUN_ID, poll=5)
            free["transfersPerWallet"] = _exactly_once(settings, wallets, FREE_RUN_ID)
            signed_per_second = signed_calls_per_second(info["sandboxUrl"])
    bound = 3 * mandates / rate_limit * 60
    limited["rateLimitBoundSeconds"] = round(bound, 1)
    limited["lastWindowOpensSeconds"] = (math.ceil(3 * mandates / rate_limit) - 1) * 60
    limited["ratioToBound"] = round(limited["runSeconds"] / bound, 2)
    free["sandboxSignedCallsPerSecond"] = round(signed_per_second, 1)
    free["ratioToSandboxThroughput"] = round(free["legsPerSecond"] / signed_per_second, 2)
    return {
        "mandates": mandates,
        "rateLimitPerMinute": rate_limit,
        "workerConcurrency": settings.order_worker_concurrency,
        "workerBatchSize": settings.order_worker_batch_size,
        "setupSeconds": round(setup_seconds, 1),
        "rateLimited": limited,
        "unlimited": free,
    }


if __name__ == "__main__":
    count = int(os.environ.get("BENCH_MANDATES", "2000"))
    limit = int(os.environ.get("BENCH_RATE_LIMIT", "1000"))
    print(json.dumps(measure(count, limit), indent=2))
