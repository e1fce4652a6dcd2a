"""The webhook and the reconciler over the real repository (moto) and DestinationService, with the
in-memory FakeDfns: a compliance decision reaches the product by webhook, or by the reconciler when the
webhook was missed, and tampering in Dfns is reported as drift."""

from __future__ import annotations

import json
from typing import Any

import pytest
from managed_accounts.domain.models import Account

from functions.webhooks.handler import handler
from tests.fakes.apigw import FakeLambdaContext
from tests.fakes.webhook_events import dfns_event, signed
from tests.fakes.world import World

# The handler's Powertools metrics stay empty here: the receiver records into a RecordingMetrics.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ADDRESS = "0x" + "5e" * 20


@pytest.fixture
def product(world: World) -> World:
    """The moto-backed world with client c1 onboarded."""
    world.active_account("c1")
    return world


def _deliver(world: World, kind: str, data: dict[str, Any], event_id: str = "whe-1") -> int:
    event = signed(dfns_event(kind, data, event_id=event_id))
    response = handler(event, FakeLambdaContext(), receiver=world.webhook_receiver())
    assert json.loads(response["body"]) is not None
    return int(response["statusCode"])


def _request_destination(world: World) -> str:
    world.destinations.request_destination("c1", ADDRESS, "exchange")
    [approval_id] = world.dfns.pending_approval_ids()
    return approval_id


def _account(world: World) -> Account:
    account = world.repo.get_account("c1")
    assert account is not None
    return account


def test_an_approval_webhook_approves_the_destination(product: World) -> None:
    approval_id = _request_destination(product)
    product.dfns.decide(approval_id, "Approved")
    assert (
        _deliver(product, "policy.approval.resolved", {"approval": {"id": approval_id, "status": "Approved"}})
        == 200
    )
    assert [d.address for d in product.repo.list_destinations("c1")] == [ADDRESS]
    assert "DestinationApproved" in product.publisher.types()
    # A retry of the same fact, then the late `pending` event: nothing more happens.
    approved_events = product.publisher.types().count("DestinationApproved")
    assert _deliver(product, "policy.approval.resolved", {"approvalId": approval_id}, "whe-2") == 200
    assert _deliver(product, "policy.approval.pending", {"approval": {"id": approval_id}}, "whe-0") == 200
    assert product.publisher.types().count("DestinationApproved") == approved_events
    summary = product.reconciler().run()
    assert (summary["drift"], summary["failures"]) == (0, 0)


def test_a_denial_webhook_rejects_the_request(product: World) -> None:
    approval_id = _request_destination(product)
    product.dfns.decide(approval_id, "Denied")
    assert _deliver(product, "policy.approval.resolved", {"approvalId": approval_id}) == 200
    assert product.repo.list_destinations("c1") == []
    assert "DestinationRejected" in product.publisher.types()


def test_the_reconciler_applies_an_approval_whose_webhook_was_missed(product: World) -> None:
    approval_id = _request_destination(product)
    assert product.reconciler().run()["approvalsPending"] == 1
    product.dfns.decide(approval_id, "Approved")
    summary = product.reconciler().run()
    assert summary["approvalsApplied"] == 1
    assert [d.address for d in product.repo.list_destinations("c1")] == [ADDRESS]
    assert summary["drift"] == 0
    # The late webhook changes nothing.
    assert _deliver(product, "policy.approval.resolved", {"approvalId": approval_id}) == 200
    assert product.publisher.types().count("DestinationApproved") == 1


def test_tampering_in_dfns_is_reported_as_drift(product: World) -> None:
    product.dfns.set_whitelist(str(_account(product).whitelist_policy_id), ["0x" + "66" * 20])
    product.dfns.remove_tags(str(_account(product).wallet_id), ["client:c1"])
    summary = product.reconciler().run()
    assert summary["drift"] == 2
    kinds = sorted(e.detail["driftKind"] for e in product.publisher.events if e.type == "SecurityDrift")
    assert kinds == ["wallet_tags_removed", "whitelist_mismatch"]
    assert product.metrics.total("SecurityDrift") == 2
