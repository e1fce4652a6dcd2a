"""The whole product on loopback: moto, the Dfns sandbox, the Dfns bootstrap, the API and the scheduler.

``LocalStack(config).start()`` brings everything up in dependency order and writes ``stack.json``;
``stop()`` takes it down in reverse. Ports default to 3000/3001/3002; 0 picks free ports (tests).
Handlers run in this process, so the stack exports their environment into ``os.environ``: run one
stack per process.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from dfns_sandbox.server import SandboxServer
from managed_accounts.config import Settings

from local_stack import aws, dfns_setup
from local_stack.console import console
from local_stack.dev_endpoints import LocalDevEndpoints
from local_stack.dfns_setup import DfnsIdentity
from local_stack.environment import HandlerEnvironmentInputs, handler_environment, write_env_file
from local_stack.gateway import LocalApiGateway
from local_stack.invoker import HandlerInvoker
from local_stack.notifications import (
    NOTIFICATIONS_FILE,
    NotificationQueues,
    NotificationWatcher,
    create_notification_route,
)
from local_stack.officer import officer_client
from local_stack.portal import BASE as PORTAL_BASE
from local_stack.portal import PortalSite, portal_origins
from local_stack.queue_worker import LocalQueueWorker
from local_stack.scheduler import LocalScheduler, ScheduledJob, job_on_schedule
from local_stack.serving import ServerThread, ensure_ports_free
from local_stack.tokens import TokenVerifier, generate_key, issue_token

log = logging.getLogger(__name__)

STACK_FILE = "stack.json"
ENV_FILE = "env"
OFFICER_KEY_FILE = "compliance-officer.pem"
OPERATOR_ID = "local-operator"
REPO_ROOT = Path(__file__).resolve().parents[2]
# A frontend team's own dev server (Vite's default) may call the local API too.
DEV_SERVER_ORIGINS = ("http://localhost:5173",)


@dataclass(frozen=True, slots=True)
class StackConfig:
    api_port: int = 3000
    sandbox_port: int = 3001
    aws_port: int = 3002
    portal_port: int = 3003  # the reference portal, on its own origin (a FRONTEND_ORIGINS entry)
    state_dir: Path = Path(".local")
    reconcile_seconds: float = 60.0
    # The order runs' schedule (Settings.order_run_schedule on the local stack): rate(...) or cron(...).
    order_run_schedule: str = "rate(1 hour)"
    sandbox_realtime: bool = True  # transfers progress on the wall clock, so `make run` shows them move
    names: aws.ResourceNames = field(default_factory=aws.ResourceNames)

    @classmethod
    def ephemeral(cls, state_dir: Path, **overrides: Any) -> StackConfig:
        """Free ports (0) everywhere, ``state_dir``, the sandbox's clock frozen: a stack for benchmarks."""
        values: dict[str, Any] = {"sandbox_realtime": False, **overrides}
        return cls(api_port=0, sandbox_port=0, aws_port=0, portal_port=0, state_dir=state_dir, **values)


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.info: dict[str, Any] = {}
        self._stops: list[Callable[[], None]] = []

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> dict[str, Any]:
        """Start every part; on any failure, stop what already started and re-raise."""
        config = self.config
        ensure_ports_free(
            {
                "API": config.api_port,
                "Dfns sandbox": config.sandbox_port,
                "moto": config.aws_port,
                "portal": config.portal_port,
            }
        )
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self.info

    def _start(self) -> None:
        config, names = self.config, self.config.names
        state = config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        # A stack.json names live ports: a previous run's goes now, and this run's goes on stop.
        (state / STACK_FILE).unlink(missing_ok=True)
        self._stops.append(lambda: (state / STACK_FILE).unlink(missing_ok=True))
        jwt_key = generate_key(state)
        _make_functions_importable()

        with _phase("moto"):
            moto, created, notification_queues = self._start_aws()
        with _phase("Dfns sandbox"):
            dfns, service_account, officer = self._start_dfns(moto.url)
        api_url: list[str] = []  # the portal's config.json names the API, which starts below
        portal = ServerThread(PortalSite(lambda: api_url[0]), port=config.portal_port, name="local-portal")
        self._stops.append(portal.stop)
        env = handler_environment(
            HandlerEnvironmentInputs(
                dfns_api_url=dfns.url,
                aws_endpoint_url=moto.url,
                order_queue_url=created.order_queue_url,
                compliance_approver_ids=(officer.user_id,),
                names=names,
                order_run_schedule=config.order_run_schedule,
                frontend_origins=(*portal_origins(portal.port), *DEV_SERVER_ORIGINS),
            )
        )
        settings = _export(env)
        write_env_file(state / ENV_FILE, env)
        with _phase("API"):
            api, invoker = self._start_api(jwt_key, settings, officer, dfns.url)
        api_url.append(api.url)
        portal.start()
        webhook_url = f"{api.url}/webhooks/dfns"
        with _phase("Dfns bootstrap"):
            result = dfns_setup.run_bootstrap(settings, webhook_url=webhook_url)
        scheduler = self._start_background(invoker, moto.url, notification_queues, settings)

        officer_key_path = state / OFFICER_KEY_FILE
        _write_private(officer_key_path, officer.private_key_pem)
        self.info = {
            "apiUrl": api.url,
            "sandboxUrl": dfns.url,
            "awsEndpointUrl": moto.url,
            "docsUrl": f"{api.url}/docs",
            "portalUrl": f"{portal.url}{PORTAL_BASE}",
            "operatorToken": issue_token(jwt_key, OPERATOR_ID, operator=True),
            "complianceOfficer": {
                "userId": officer.user_id,
                "credId": officer.cred_id,
                "token": officer.token,
                "privateKeyPath": str(officer_key_path.resolve()),
                "privateKeyPem": officer.private_key_pem,
            },
            "serviceAccount": {"userId": service_account.user_id, "credId": service_account.cred_id},
            "secrets": {
                "dfnsServiceAccount": config.names.dfns_secret,
                "webhook": config.names.webhook_secret,
            },
            "webhookUrl": webhook_url,
            "notificationsFile": str((state / NOTIFICATIONS_FILE).resolve()),
            "bootstrap": result,
            "scheduler": [job.name for job in scheduler.jobs],
            "orderRunSchedule": settings.order_run_schedule,
            "pid": os.getpid(),
        }
        # Written last and atomically: its appearance tells scripts and tests the stack is ready.
        partial = state / f".{STACK_FILE}.tmp"
        _write_private(partial, json.dumps(self.info, indent=2))
        partial.replace(state / STACK_FILE)

    def _start_aws(self) -> tuple[aws.MotoServer, aws.CreatedResources, NotificationQueues]:
        moto = aws.MotoServer(self.config.aws_port)
        moto.start()
        self._stops.append(moto.stop)
        created = aws.create_resources(moto.url, self.config.names)
        notification_queues = create_notification_route(moto.url, self.config.names.event_bus)
        return moto, created, notification_queues

    def _start_dfns(self, moto_url: str) -> tuple[SandboxServer, DfnsIdentity, DfnsIdentity]:
        names = self.config.names
        dfns = dfns_setup.start_sandbox(self.config.sandbox_port, realtime=self.config.sandbox_realtime)
        self._stops.append(dfns.stop)
        service_account = dfns_setup.register_service_account(dfns, name="managed-accounts-local")
        aws.put_secret_json(moto_url, names.dfns_secret, service_account.secret_value())
        # The deploy creates the webhook secret empty; bootstrap fills it once Dfns returns the secret.
        aws.put_secret_json(moto_url, names.webhook_secret, {})
        return dfns, service_account, dfns_setup.officer_credentials(dfns)

    def _start_api(
        self, jwt_key: RSAPrivateKey, settings: Settings, officer: DfnsIdentity, dfns_url: str
    ) -> tuple[ServerThread, HandlerInvoker]:
        invoker = HandlerInvoker()
        api: ServerThread | None = None
        gateway = LocalApiGateway(
            TokenVerifier(jwt_key.public_key()),
            invoker=invoker,
            cors_origins=settings.frontend_origins,
            server_url=lambda: api.url if api else "",
        )
        # The portal's local-only endpoints (dev sign-in, the officer's sandbox panel): on this gateway
        # only; the officer's decisions are signed with the officer's own credentials.
        app = LocalDevEndpoints(
            gateway,
            issue_token=lambda client_id, operator: issue_token(jwt_key, client_id, operator=operator),
            officer=lambda: officer_client(dfns_url, officer),
            cors_origins=settings.frontend_origins,
        )
        api = ServerThread(app, port=self.config.api_port, name="local-api")
        api.start()
        self._stops.append(api.stop)
        return api, invoker

    def _start_background(
        self,
        invoker: HandlerInvoker,
        moto_url: str,
        notification_queues: NotificationQueues,
        settings: Settings,
    ) -> LocalScheduler:
        """The client notifier, the order-leg worker and the scheduler: they call into everything else,
        so they start last."""
        watcher = NotificationWatcher(moto_url, notification_queues, self.config.state_dir)
        watcher.start()
        self._stops.append(watcher.stop)
        if settings.order_queue_url and (REPO_ROOT / "functions" / "orders" / "worker.py").exists():
            worker = LocalQueueWorker(
                aws.client("sqs", moto_url),
                settings.order_queue_url,
                invoker.load("orders", "worker").handler,
                concurrency=settings.order_worker_concurrency,
                batch_size=settings.order_worker_batch_size,
            )
            worker.start()
            self._stops.append(worker.stop)
        jobs = scheduled_jobs(self.config, order_run_schedule=settings.order_run_schedule)
        scheduler = LocalScheduler(invoker, jobs)
        scheduler.start()
        self._stops.append(scheduler.stop)
        return scheduler

    def stop(self) -> None:
        """Stop every started part, newest first; safe to call twice."""
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception:
                log.exception("while stopping the local stack")


ORDER_RUN_INPUT = {
    "source": "schedule",
    "task": "order-run",
    "scheduledTime": "<aws.scheduler.scheduled-time>",
}


def scheduled_jobs(
    config: StackConfig, functions_dir: Path | None = None, *, order_run_schedule: str | None = None
) -> list[ScheduledJob]:
    """The scheduled handlers (reconciliation, audit-log ingestion; order runs on their configured
    expression), with the inputs the CDK schedules send (infra/specs.py)."""
    root = functions_dir or REPO_ROOT / "functions"
    jobs: list[ScheduledJob] = []
    if (root / "webhooks" / "reconciler.py").exists():
        reconcile = {"source": "schedule", "task": "reconcile"}
        jobs.append(
            ScheduledJob("reconcile", "webhooks", "reconciler", config.reconcile_seconds, payload=reconcile)
        )
    if (root / "reports" / "audit_ingest.py").exists():
        ingest = {"source": "schedule", "task": "audit-ingest"}
        jobs.append(
            ScheduledJob("audit-ingest", "reports", "audit_ingest", config.reconcile_seconds, payload=ingest)
        )
    if order_run_schedule and (root / "orders" / "planner.py").exists():
        jobs.append(
            job_on_schedule("order-run", "orders", "planner", order_run_schedule, dict(ORDER_RUN_INPUT))
        )
    return jobs


def _write_private(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def _make_functions_importable() -> None:
    """``functions/`` is not an installed package (each folder is a Lambda asset): the stack serves the
    checkout it belongs to, so that checkout's root goes on the import path."""
    import sys

    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.append(root)


def _export(env: dict[str, str]) -> Settings:
    """Put the handlers' environment into this process (they run in it) and read it back as Settings."""
    from managed_accounts.config import get_settings

    os.environ.update(env)
    get_settings.cache_clear()
    return get_settings()


@contextmanager
def _phase(name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    console.info("%s ready in %.1f s", name, time.perf_counter() - started)
