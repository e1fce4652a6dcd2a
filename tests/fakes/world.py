"""Test wiring: moto DynamoDB, the FakeDfns, a recording publisher, a fixed clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from managed_accounts.config import Settings
from managed_accounts.data.repository import AccountsRepository, DynamoAccountsRepository
from managed_accounts.data.schema import idempotency_table_definition, main_table_definition
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.models import Account
from managed_accounts.domain.onboarding import OnboardingService
from moto import mock_aws

from tests.fakes.dfns import FakeDfns
from tests.fakes.memory_repository import MemoryAccountsRepository
from tests.fakes.recording import FixedClock, RecordingPublisher

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
    table: Any  # the moto table, or None with the in-memory repository
    repo: AccountsRepository
    dfns: FakeDfns
    publisher: RecordingPublisher
    clock: FixedClock
    settings: Settings
    onboarding: OnboardingService
    destinations: DestinationService

    def active_account(self, client_id: str) -> Account:
        return self.onboarding.onboard(client_id).account

    def approve_all(self) -> int:
        """Acts as the compliance officer, then as the webhook: approve each pending approval, apply it."""
        applied = 0
        for approval_id in self.dfns.pending_approval_ids():
            approval = self.dfns.decide(approval_id, "Approved")
            applied += self.destinations.apply_approval(approval)
        return applied


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """One moto per test module (starting it costs more than a test); each test gets its own tables."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        with mock_aws():
            yield boto3.resource("dynamodb", region_name=REGION)


@pytest.fixture
def table(aws: Any) -> Any:
    """A fresh main table (and its idempotency table, named alike) for this test only."""
    suffix = uuid.uuid4().hex[:10]
    aws.create_table(**main_table_definition(f"{TABLE}-{suffix}"))
    aws.create_table(**idempotency_table_definition(f"{IDEMPOTENCY_TABLE}-{suffix}"))
    return aws.Table(f"{TABLE}-{suffix}")


def idempotency_table_for(table: Any) -> str:
    return str(table.name).replace(TABLE, IDEMPOTENCY_TABLE, 1)


def build_world(table: Any = None, *, governed: bool = True, **settings: Any) -> World:
    """With a moto ``table``: the real DynamoDB adapter; without: the in-memory repository."""
    dfns = FakeDfns()
    if governed:
        dfns.install_governance()
    repo: AccountsRepository = (
        DynamoAccountsRepository(table) if table is not None else MemoryAccountsRepository()
    )
    if table is not None:
        settings = {
            "table_name": table.name,
            "idempotency_table_name": idempotency_table_for(table),
            **settings,
        }
    publisher = RecordingPublisher()
    clock = FixedClock()
    config = make_settings(**settings)
    return World(
        table=table,
        repo=repo,
        dfns=dfns,
        publisher=publisher,
        clock=clock,
        settings=config,
        onboarding=OnboardingService(repo, dfns, config, publisher, clock),
        destinations=DestinationService(repo, dfns, publisher, clock),
    )


@pytest.fixture
def world() -> World:
    """Fast: the in-memory repository (unit tests)."""
    return build_world()


@pytest.fixture
def moto_world(table: Any) -> World:
    """The real DynamoDB adapter on moto (integration tests)."""
    return build_world(table)


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes each in-process moto request atomic, as each DynamoDB request is on the real service.

    moto's in-process backend has no locking: two threads can interleave inside one conditional
    write or transaction, which real DynamoDB never allows. Concurrency tests serialise requests
    (not whole operations of the code under test), so every race between requests stays possible.
    """
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    process = BotocoreStubber.process_request

    def atomic(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return process(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomic)
