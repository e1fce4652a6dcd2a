"""The webhook and the reconciler over the real repository (moto) and DestinationService, with the
in-memory FakeDfns: a compliance decision reaches the product by webhook, or by the reconciler when the
webhook was missed, and tampering in Dfns is reported as drift."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from managed_accounts.api.webhook_endpoint import WebhookReceiver
from managed_accounts.config import Settings
from managed_accounts.data.dedupe import DynamoDedupeStore
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.data.schema import main_table_definition
from managed_accounts.dfns.models import WhitelistConfiguration, WhitelistRule
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.drift import DriftReporter
from managed_accounts.domain.onboarding import OnboardingService
from managed_accounts.domain.reconciler import Reconciler
from managed_accounts.domain.webhook_processor import WebhookProcessor

from functions.webhooks.handler import handler
from tests.fakes.dfns import FakeDfns
from tests.fakes.recording import FixedClock, RecordingMetrics, RecordingPublisher
from tests.unit.webhooks.support import NOW, SECRET, LambdaContext, dfns_event, empty, signed

# The handler's Powertools metrics stay empty here: the receiver records into a RecordingMetrics.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

TABLE = "managed-accounts-flow-test"
ADDRESS = "0x" + "5e" * 20


@dataclass
class Product:
    dfns: FakeDfns
    repo: DynamoAccountsRepository
    destinations: DestinationService
    publisher: RecordingPublisher
    metrics: RecordingMetrics
    receiver: WebhookReceiver
    reconciler: Reconciler

    def deliver(self, kind: str, data: dict[str, Any], event_id: str = "whe-1") -> int:
        response = handler(
            signed(dfns_event(kind, data, event_id=event_id)), LambdaContext(), receiver=self.receiver
        )
        assert json.loads(response["body"]) is not None
        return int(response["statusCode"])

    def request_destination(self) -> str:
        self.destinations.request_destination("c1", ADDRESS, "exchange")
        [approval_id] = self.dfns.pending_approval_ids()
        return approval_id

    def whitelist_policy_id(self) -> str:
        account = self.repo.get_account("c1")
        assert account is not None
        assert account.whitelist_policy_id
        return account.whitelist_policy_id


@pytest.fixture(scope="module")
def shared_table() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="eu-west-1")
        dynamodb.meta.client.create_table(**main_table_definition(TABLE))
        yield dynamodb.Table(TABLE)


@pytest.fixture
def product(shared_table: Any) -> Iterator[Product]:
    repo = DynamoAccountsRepository(shared_table)
    dfns = FakeDfns()
    dfns.install_governance()
    clock = FixedClock(NOW)
    publisher, metrics = RecordingPublisher(), RecordingMetrics()
    OnboardingService(repo, dfns, Settings(table_name=TABLE), publisher, clock).onboard("c1")
    destinations = DestinationService(repo, dfns, publisher, clock)
    drift = DriftReporter(publisher, metrics, clock)
    processor = WebhookProcessor(
        dfns=dfns,
        approvals=destinations,
        accounts=repo,
        facts=DynamoDedupeStore(shared_table, now=clock.now),
        drift=drift,
    )
    receiver = WebhookReceiver(
        secret=lambda: SECRET, processor=processor, clock=clock, tolerance_seconds=300, metrics=metrics
    )
    reconciler = Reconciler(dfns=dfns, repository=repo, destinations=destinations, drift=drift, clock=clock)
    yield Product(dfns, repo, destinations, publisher, metrics, receiver, reconciler)
    empty(shared_table)


def test_an_approval_webhook_approves_the_destination(product: Product) -> None:
    approval_id = product.request_destination()
    product.dfns.decide(approval_id, "Approved")
    assert (
        product.deliver("policy.approval.resolved", {"approval": {"id": approval_id, "status": "Approved"}})
        == 200
    )
    assert [d.address for d in product.repo.list_destinations("c1")] == [ADDRESS]
    assert "DestinationApproved" in product.publisher.types()
    # A retry of the same fact, then the late `pending` event: nothing more happens.
    approved_events = product.publisher.types().count("DestinationApproved")
    assert product.deliver("policy.approval.resolved", {"approvalId": approval_id}, "whe-2") == 200
    assert product.deliver("policy.approval.pending", {"approval": {"id": approval_id}}, "whe-0") == 200
    assert product.publisher.types().count("DestinationApproved") == approved_events
    summary = product.reconciler.run()
    assert (summary["drift"], summary["failures"]) == (0, 0)


def test_a_denial_webhook_rejects_the_request(product: Product) -> None:
    approval_id = product.request_destination()
    product.dfns.decide(approval_id, "Denied")
    assert product.deliver("policy.approval.resolved", {"approvalId": approval_id}) == 200
    assert product.repo.list_destinations("c1") == []
    assert "DestinationRejected" in product.publisher.types()


def test_the_reconciler_applies_an_approval_whose_webhook_was_missed(product: Product) -> None:
    approval_id = product.request_destination()
    assert product.reconciler.run()["approvalsPending"] == 1
    product.dfns.decide(approval_id, "Approved")
    summary = product.reconciler.run()
    assert summary["approvalsApplied"] == 1
    assert [d.address for d in product.repo.list_destinations("c1")] == [ADDRESS]
    assert summary["drift"] == 0
    # The late webhook changes nothing.
    assert product.deliver("policy.approval.resolved", {"approvalId": approval_id}) == 200
    assert product.publisher.types().count("DestinationApproved") == 1


def test_tampering_in_dfns_is_reported_as_drift(product: Product) -> None:
    policy_id = product.whitelist_policy_id()
    policy = product.dfns.policies[policy_id]
    tampered = WhitelistRule(configuration=WhitelistConfiguration(addresses=["0x" + "66" * 20]))
    product.dfns.policies[policy_id] = policy.model_copy(update={"rule": tampered})
    wallet_id = next(iter(product.dfns.wallets))
    wallet = product.dfns.wallets[wallet_id]
    product.dfns.wallets[wallet_id] = wallet.model_copy(update={"tags": ["limits:standard"]})
    summary = product.reconciler.run()
    assert summary["drift"] == 2
    kinds = sorted(e.detail["driftKind"] for e in product.publisher.events if e.type == "SecurityDrift")
    assert kinds == ["wallet_tags_removed", "whitelist_mismatch"]
    assert product.metrics.total("SecurityDrift") == 2
