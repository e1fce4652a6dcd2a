"""The product assembled for tests (a ``World``) and the fixtures every test shares.

A world is the real services (onboarding, destinations, commands, the webhook processor and receiver,
the reconciler, the client reports and the audit-log ingestion) over the fakes: ``FakeDfns`` with the
compliance governance installed, a recording publisher and metrics, a fixed clock, and either the
in-memory storage (unit tests: fast) or the real DynamoDB adapters on moto (integration tests). As
``wiring`` composes them, the services publish through the ``AuditingPublisher`` (every client event
filed in the client's audit trail) and the webhook processor and reconciler resolve approvals through
the ``DecisionRecorder``. This module is a pytest plugin (tests/conftest.py).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from managed_accounts.api.webhook_endpoint import WebhookReceiver
from managed_accounts.commands import DestinationCommands
from managed_accounts.config import Settings
from managed_accounts.data.audit_repository import DynamoAuditRepository, DynamoPolicyRegistry
from managed_accounts.data.dedupe import DynamoDedupeStore
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.data.schema import idempotency_table_definition, main_table_definition
from managed_accounts.dfns.assertions import CryptographySignatureVerifier
from managed_accounts.domain.activity import ActivityService
from managed_accounts.domain.audit_ingest import AuditIngestJob
from managed_accounts.domain.audit_trail import AuditingPublisher, AuditTrailService, DecisionRecorder
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.drift import DriftReporter
from managed_accounts.domain.models import Account
from managed_accounts.domain.onboarding import OnboardingService
from managed_accounts.domain.outbox import Outbox
from managed_accounts.domain.ports import (
    AccountsRepository,
    AuditRepository,
    FactStore,
    OrderTransfers,
    PolicyRegistry,
    TransferOutcomes,
)
from managed_accounts.domain.reconciler import Reconciler
from managed_accounts.domain.report_models import SharedPolicyIds
from managed_accounts.domain.reports import ClientReports
from managed_accounts.domain.restrictions import RestrictionsService
from managed_accounts.domain.statement import StatementService
from managed_accounts.domain.webhook_processor import WebhookProcessor

from tests.fakes.dfns import FakeDfns
from tests.fakes.idempotency import MemoryPersistenceLayer
from tests.fakes.memory_audit import MemoryAuditRepository, MemoryPolicyRegistry
from tests.fakes.memory_repository import MemoryAccountsRepository, MemoryFactStore
from tests.fakes.recording import FixedClock, RecordingMetrics, RecordingPublisher
from tests.fakes.webhook_events import SECRET

TABLE = "accounts-test"
IDEMPOTENCY_TABLE = "idempotency-test"
REGION = "eu-west-1"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "table_name": TABLE,
        "idempotency_table_name": IDEMPOTENCY_TABLE,
        "frontend_origins": ["https://app.example.com"],
        **overrides,
    }
    return Settings(**values)


@dataclass
class World:
    table: Any  # the moto main table, or None with the in-memory storage
    repo: AccountsRepository
    facts: FactStore
    idempotency: BasePersistenceLayer
    audit: AuditRepository  # the clients' audit trails, the Dfns-id directory, the ingestion watermark
    registry: PolicyRegistry  # the shared policy ids the bootstrap records (empty until recorded)
    dfns: FakeDfns
    publisher: RecordingPublisher
    clock: FixedClock
    settings: Settings
    onboarding: OnboardingService
    destinations: DestinationService
    commands: DestinationCommands
    metrics: RecordingMetrics = field(default_factory=RecordingMetrics)

    def active_account(self, client_id: str) -> Account:
        return self.onboarding.onboard(client_id).account

    def approve_all(self) -> int:
        """Acts as the compliance officer, then as the webhook: approve each pending approval, apply it."""
        applied = 0
        for approval_id in self.dfns.pending_approval_ids():
            approval = self.dfns.decide(approval_id, "Approved")
            applied += self.decisions().apply_approval(approval)
        return applied

    def decisions(self) -> DecisionRecorder:
        """What the webhook processor and the reconciler resolve approvals through: the destinations
        service, filing the officers' decisions in the client's audit trail first."""
        return DecisionRecorder(self.destinations, self.repo, self.audit)

    def record_shared_policies(self, profiles: dict[str, tuple[str, ...]] | None = None) -> SharedPolicyIds:
        """What the bootstrap records: the governance policy's id and the limit profiles' policy ids."""
        governance = next(p.id for p in self.dfns.policies.values() if p.activity_kind == "Policies:Modify")
        shared = SharedPolicyIds(governance, profiles or {"standard": ()}, self.clock.now())
        self.registry.record_shared_policies(shared)
        return shared

    def reports(self) -> ClientReports:
        """The four client views as ``wiring.client_reports`` builds them (a cold container each time)."""
        return ClientReports(
            restrictions_service=RestrictionsService(self.repo, self.dfns, self.registry, self.clock),
            activity_service=ActivityService(self.repo, self.dfns),
            audit_service=AuditTrailService(self.repo, self.audit, CryptographySignatureVerifier()),
            statement_service=StatementService(self.repo, self.dfns, self.audit, self.clock),
            clock=self.clock,
        )

    def audit_ingest(self, **bounds: Any) -> AuditIngestJob:
        """The audit-log ingestion over the fake Dfns; no settling delay unless ``settle`` is given."""
        return AuditIngestJob(
            source=self.dfns,
            accounts=self.repo,
            audit=self.audit,
            clock=self.clock,
            **{"settle": timedelta(0), **bounds},
        )

    def drift(self) -> DriftReporter:
        return DriftReporter(self.publisher, self.metrics, self.clock)

    def webhook_processor(self, *, orders: TransferOutcomes | None = None) -> WebhookProcessor:
        return WebhookProcessor(
            dfns=self.dfns,
            approvals=self.decisions(),
            accounts=self.repo,
            facts=self.facts,
            drift=self.drift(),
            orders=orders,
        )

    def webhook_receiver(self, *, orders: TransferOutcomes | None = None) -> WebhookReceiver:
        """What ``functions.webhooks.handler`` runs: the secret is ``SECRET``, the clock the world's."""
        return WebhookReceiver(
            secret=lambda: SECRET,
            processor=self.webhook_processor(orders=orders),
            clock=self.clock,
            tolerance_seconds=self.settings.webhook_tolerance_seconds,
            metrics=self.metrics,
        )

    def reconciler(self, *, orders: OrderTransfers | None = None, **limits: int) -> Reconciler:
        """The reconciler as wired in production, with ``limits`` (max_accounts, ...) overridden."""
        return Reconciler(
            dfns=self.dfns,
            repository=self.repo,
            destinations=self.decisions(),
            drift=self.drift(),
            clock=self.clock,
            onboarding=self.onboarding,
            outbox=Outbox(self.repo, AuditingPublisher(self.publisher, self.audit)),
            orders=orders,
            **limits,
        )


def idempotency_table_for(table: Any) -> str:
    return str(table.name).replace(TABLE, IDEMPOTENCY_TABLE, 1)


def build_world(table: Any = None, *, governed: bool = True, **settings: Any) -> World:
    """With a moto ``table``: the real DynamoDB adapters; without: the in-memory storage."""
    dfns = FakeDfns()
    if governed:
        dfns.install_governance()
    publisher, clock = RecordingPublisher(), FixedClock()
    repo: AccountsRepository
    facts: FactStore
    idempotency: BasePersistenceLayer
    audit: AuditRepository
    registry: PolicyRegistry
    if table is not None:
        settings = {
            "table_name": table.name,
            "idempotency_table_name": idempotency_table_for(table),
            **settings,
        }
        repo = DynamoAccountsRepository(table)
        facts = DynamoDedupeStore(table, now=clock.now)
        idempotency = DynamoDBPersistenceLayer(
            table_name=idempotency_table_for(table), boto3_client=boto3.client("dynamodb", region_name=REGION)
        )
        audit, registry = DynamoAuditRepository(table), DynamoPolicyRegistry(table)
    else:
        repo, facts, idempotency = MemoryAccountsRepository(), MemoryFactStore(), MemoryPersistenceLayer()
        audit, registry = MemoryAuditRepository(), MemoryPolicyRegistry()
    config = make_settings(**settings)
    audited = AuditingPublisher(publisher, audit)  # as wiring wraps the bus
    destinations = DestinationService(repo, dfns, audited, clock)
    return World(
        table=table,
        repo=repo,
        facts=facts,
        idempotency=idempotency,
        audit=audit,
        registry=registry,
        dfns=dfns,
        publisher=publisher,
        clock=clock,
        settings=config,
        onboarding=OnboardingService(repo, dfns, config, audited, clock),
        destinations=destinations,
        commands=DestinationCommands(destinations, idempotency),
    )


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """One moto per test module (starting it costs more than a test); each test gets its own tables."""
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            yield boto3.resource("dynamodb", region_name=REGION)


@pytest.fixture
def table(aws: Any) -> Any:
    """A fresh main table (and its idempotency table, named alike) for this test only."""
    suffix = uuid.uuid4().hex[:10]
    aws.create_table(**main_table_definition(f"{TABLE}-{suffix}"))
    aws.create_table(**idempotency_table_definition(f"{IDEMPOTENCY_TABLE}-{suffix}"))
    return aws.Table(f"{TABLE}-{suffix}")


@pytest.fixture
def world() -> World:
    """Fast: the in-memory storage (unit tests; tests/integration overrides it with ``moto_world``)."""
    return build_world()


@pytest.fixture
def moto_world(table: Any) -> World:
    """The real DynamoDB adapters on moto (integration tests)."""
    return build_world(table)


@pytest.fixture(params=["dynamodb", "memory"])
def either_world(request: pytest.FixtureRequest) -> World:
    """Each test twice: on the DynamoDB adapters (moto) and on the in-memory storage, which must agree."""
    table = request.getfixturevalue("table") if request.param == "dynamodb" else None
    return build_world(table)


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes each in-process moto request atomic, as each DynamoDB request is on the real service.

    moto's in-process backend has no locking: two threads can interleave inside one conditional
    write or transaction, which real DynamoDB never allows. Concurrency tests serialise requests
    (not whole operations of the code under test), so every race between requests stays possible.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    process = BotocoreStubber.process_request

    def atomic(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return process(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomic)
