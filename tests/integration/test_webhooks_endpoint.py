"""POST /webhooks/dfns through the real handler, receiver and processor, over the real services, the
DynamoDB adapters (moto: the repository and the de-dup store) and the FakeDfns.

Each case checks the status Dfns sees and that state is right afterwards (what the product applied,
what facts the table holds).
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from managed_accounts.api.webhook_endpoint import WebhookReceiver
from managed_accounts.api.webhook_signature import MAX_BODY_BYTES, sign

from functions.webhooks.handler import handler
from tests.fakes.apigw import FakeLambdaContext
from tests.fakes.webhook_events import NOW, SECRET, api_event, compact, dfns_event, event_items, signed
from tests.fakes.world import World

# The handler's Powertools metrics stay empty here: the receiver records into a RecordingMetrics.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

RESOLVED = "policy.approval.resolved"
PENDING = "policy.approval.pending"
CLIENT = "c1"
ADDRESS = "0x" + "5e" * 20


@pytest.fixture
def product(world: World) -> World:
    world.active_account(CLIENT)
    world.publisher.events.clear()
    return world


def _post(world: World, event: dict[str, Any], receiver: WebhookReceiver | None = None) -> tuple[int, Any]:
    response = handler(event, FakeLambdaContext(), receiver=receiver or world.webhook_receiver())
    return response["statusCode"], json.loads(response["body"])


def _waiting(world: World) -> str:
    """The approval a destination request waits for in Dfns."""
    request = world.destinations.request_destination(CLIENT, ADDRESS, "exchange")
    world.publisher.events.clear()
    return str(request.approval_id)


def _status(world: World) -> str:
    [request] = world.repo.list_requests(CLIENT).items
    return request.status


def _facts(world: World) -> list[tuple[str, str]]:
    return sorted((str(i["PK"]), str(i["SK"])) for i in event_items(world.table))


def _applied(world: World) -> list[str]:
    return [t for t in world.publisher.types() if t in ("DestinationApproved", "DestinationRejected")]


def test_a_signed_resolution_is_applied_and_answered_200(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    status, body = _post(product, signed(dfns_event(RESOLVED, {"approval": {"id": approval_id}})))
    assert (status, body) == (200, {"received": True})
    assert _status(product) == "approved"
    assert _facts(product) == [(f"EVENT#{approval_id}", "Approved")]


def test_a_wrong_signature_is_401_and_nothing_is_done(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    product.dfns.reads.clear()
    raw = compact(dfns_event(RESOLVED, {"approvalId": approval_id}))
    status, body = _post(product, api_event(raw, sign(raw, "not-the-secret")))
    assert status == 401
    assert body["error"]["code"] == "bad_signature"
    assert product.dfns.reads == []
    assert _status(product) == "submitted"
    assert _facts(product) == []


def test_a_missing_signature_is_401_and_nothing_is_done(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    product.dfns.reads.clear()
    status, body = _post(product, api_event(compact(dfns_event(RESOLVED, {"approvalId": approval_id})), None))
    assert (status, body["error"]["code"]) == (401, "missing_signature")
    assert product.dfns.reads == []
    assert _status(product) == "submitted"


def test_a_stale_timestamp_is_401_even_when_correctly_signed(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    stale = dfns_event(RESOLVED, {"approvalId": approval_id}, sent_at=NOW - timedelta(seconds=300))
    status, body = _post(product, signed(stale))
    assert (status, body["error"]["code"]) == (401, "stale_event")
    assert _status(product) == "submitted"
    assert _facts(product) == []


def test_a_replay_of_the_same_event_is_acknowledged_and_applied_once(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    event = signed(dfns_event(RESOLVED, {"approval": {"id": approval_id, "status": "Approved"}}))
    assert _post(product, event)[0] == 200
    assert _post(product, event)[0] == 200
    assert _applied(product) == ["DestinationApproved"]
    assert _facts(product) == [(f"EVENT#{approval_id}", "Approved")]


def test_a_retry_with_a_new_id_is_recognised_by_its_business_fact(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Denied")
    # The shape without a status hint: the retry costs one re-read, but is still applied once.
    first = dfns_event(RESOLVED, {"approvalId": approval_id}, event_id="whe-1")
    retry = dfns_event(
        RESOLVED, {"approvalId": approval_id}, event_id="whe-2", retryOf="whe-1", deliveryAttempt=2
    )
    assert _post(product, signed(first))[0] == 200
    assert _post(product, signed(retry))[0] == 200
    assert _applied(product) == ["DestinationRejected"]
    assert _status(product) == "rejected"


def test_resolved_before_pending_leaves_the_approval_applied(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    resolved = dfns_event(RESOLVED, {"approval": {"id": approval_id, "status": "Approved"}}, event_id="whe-2")
    pending = dfns_event(PENDING, {"approval": {"id": approval_id, "status": "Pending"}}, event_id="whe-1")
    assert _post(product, signed(resolved))[0] == 200
    assert _post(product, signed(pending))[0] == 200
    assert _status(product) == "approved"
    assert _applied(product) == ["DestinationApproved"]


def test_an_event_for_an_unknown_object_is_200_and_changes_nothing(product: World) -> None:
    product.dfns.add_approval("ap-foreign", "Approved")
    assert _post(product, signed(dfns_event(RESOLVED, {"approvalId": "ap-foreign"})))[0] == 200
    transfer = {"transferRequest": {"id": "xfr-1", "walletId": "wa-not-managed", "status": "Confirmed"}}
    assert _post(product, signed(dfns_event("wallet.transfer.confirmed", transfer)))[0] == 200
    assert _facts(product) == []
    assert product.publisher.events == []


def test_an_unknown_kind_is_200_and_ignored(product: World) -> None:
    product.dfns.reads.clear()
    assert _post(product, signed(dfns_event("key.created", {"key": {"id": "key-1"}})))[0] == 200
    assert product.dfns.reads == []
    assert _facts(product) == []


def test_a_non_ascii_body_signed_over_its_raw_bytes_is_accepted(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    payload = dfns_event(RESOLVED, {"approval": {"id": approval_id, "note": "Café 東京 ✓"}})
    raw = compact(payload)
    assert b"\xc3\xa9" in raw  # raw UTF-8, not \u escapes
    status, _ = _post(product, api_event(raw, sign(raw, SECRET), header_name="x-dfns-webhook-signature"))
    assert status == 200
    assert _status(product) == "approved"


def test_a_base64_encoded_body_is_verified_over_its_decoded_bytes(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    raw = compact(dfns_event(RESOLVED, {"approvalId": approval_id}))
    event = api_event(raw, sign(raw, SECRET))
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    assert _post(product, event)[0] == 200
    event.update(body="%%% not base64")
    assert _post(product, event)[0] == 400


def test_an_oversized_body_is_413(product: World) -> None:
    raw = compact(dfns_event("key.created", {"pad": "x" * MAX_BODY_BYTES}))
    status, body = _post(product, api_event(raw, sign(raw, SECRET)))
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_dfns_down_is_503_so_dfns_retries_and_the_retry_applies(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    product.dfns.down = True
    first = dfns_event(RESOLVED, {"approvalId": approval_id}, event_id="whe-1")
    status, body = _post(product, signed(first))
    assert (status, body["error"]["code"]) == (503, "dfns_unavailable")
    assert _facts(product) == []
    product.dfns.down = False
    retry = dfns_event(
        RESOLVED, {"approvalId": approval_id}, event_id="whe-2", retryOf="whe-1", deliveryAttempt=2
    )
    assert _post(product, signed(retry))[0] == 200
    assert _status(product) == "approved"


def test_a_failure_while_applying_is_500_and_the_fact_is_released(
    product: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")

    def write_storm(approval_id: str) -> Any:
        raise RuntimeError("conditional write storm")

    monkeypatch.setattr(product.repo, "find_requests_by_approval", write_storm)
    assert _post(product, signed(dfns_event(RESOLVED, {"approvalId": approval_id})))[0] == 500
    assert _facts(product) == []


def test_an_unreadable_secret_is_503(product: World) -> None:
    def no_secret() -> str:
        raise RuntimeError("secrets manager down")

    receiver = WebhookReceiver(
        secret=no_secret,
        processor=product.webhook_processor(),
        clock=product.clock,
        tolerance_seconds=300,
        metrics=product.metrics,
    )
    status, _ = _post(product, signed(dfns_event(RESOLVED, {"approvalId": "ap-1"})), receiver)
    assert status == 503


def test_a_removed_client_tag_publishes_security_drift(product: World) -> None:
    account = product.repo.get_account(CLIENT)
    assert account is not None
    wallet_id = str(account.wallet_id)
    product.dfns.remove_tags(wallet_id, [f"client:{CLIENT}"])
    data = {
        "wallet": {"id": wallet_id, "tags": ["limits:standard"]},
        "tagsAdded": [],
        "tagsRemoved": [f"client:{CLIENT}"],
    }
    assert _post(product, signed(dfns_event("wallet.tags.modified", data)))[0] == 200
    retry = dfns_event("wallet.tags.modified", data, event_id="whe-2", retryOf="whe-1")
    assert _post(product, signed(retry))[0] == 200
    assert product.publisher.types() == ["SecurityDrift"]


def test_the_signature_is_found_in_multi_value_headers_alone(product: World) -> None:
    approval_id = _waiting(product)
    product.dfns.decide(approval_id, "Approved")
    event = signed(dfns_event(RESOLVED, {"approvalId": approval_id}))
    signature = event["headers"].pop("X-DFNS-WEBHOOK-SIGNATURE")
    event["multiValueHeaders"] = {"x-dfns-webhook-signature": [signature]}
    assert _post(product, event)[0] == 200
    assert _status(product) == "approved"
