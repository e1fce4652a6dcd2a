"""POST /webhooks/dfns through the real handler: a fake Dfns and approval sink, the de-dup store on moto.

Each case checks the status Dfns sees and that state is right afterwards (what the sink applied, what
facts the table holds).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from managed_accounts.api.webhook_endpoint import WebhookReceiver
from managed_accounts.api.webhook_signature import MAX_BODY_BYTES, sign
from managed_accounts.data.dedupe import DynamoDedupeStore
from managed_accounts.domain.drift import DriftReporter
from managed_accounts.domain.webhook_processor import WebhookProcessor

from functions.webhooks.handler import handler
from tests.fakes.recording import FixedClock, RecordingMetrics, RecordingPublisher
from tests.unit.webhooks.fakes import Account, FakeAccounts, FakeApprovalSink, FakeDfns
from tests.unit.webhooks.support import (
    NOW,
    SECRET,
    LambdaContext,
    api_event,
    compact,
    dfns_event,
    empty,
    event_items,
    moto_table,
    signed,
)

# The handler's Powertools metrics stay empty here: the receiver records into a RecordingMetrics.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

RESOLVED = "policy.approval.resolved"
PENDING = "policy.approval.pending"


@dataclass
class Endpoint:
    table: Any
    dfns: FakeDfns
    sink: FakeApprovalSink
    publisher: RecordingPublisher
    receiver: WebhookReceiver

    def post(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = handler(event, LambdaContext(), receiver=self.receiver)
        return response["statusCode"], json.loads(response["body"])

    def facts(self) -> list[tuple[str, str]]:
        return sorted((str(i["PK"]), str(i["SK"])) for i in event_items(self.table))


@pytest.fixture(scope="module")
def shared_table() -> Iterator[Any]:
    with moto_table() as table:
        yield table


@pytest.fixture
def endpoint(shared_table: Any) -> Iterator[Endpoint]:
    dfns, sink, publisher = FakeDfns(), FakeApprovalSink({"ap-1"}), RecordingPublisher()
    clock = FixedClock(NOW)
    metrics = RecordingMetrics()
    processor = WebhookProcessor(
        dfns=dfns,
        approvals=sink,
        accounts=FakeAccounts([Account("c1", "wa-1", "plc-1")]),
        facts=DynamoDedupeStore(shared_table, now=clock.now),
        drift=DriftReporter(publisher, metrics, clock),
    )
    receiver = WebhookReceiver(
        secret=lambda: SECRET, processor=processor, clock=clock, tolerance_seconds=300, metrics=metrics
    )
    yield Endpoint(shared_table, dfns, sink, publisher, receiver)
    empty(shared_table)


def test_a_signed_resolution_is_applied_and_answered_200(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    status, body = endpoint.post(
        signed(dfns_event(RESOLVED, {"approval": {"id": "ap-1", "status": "Approved"}}))
    )
    assert (status, body) == (200, {"received": True})
    assert endpoint.sink.resolved == {"ap-1": "Approved"}
    assert endpoint.facts() == [("EVENT#ap-1", "Approved")]


def test_a_wrong_signature_is_401_and_nothing_is_done(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    raw = compact(dfns_event(RESOLVED, {"approvalId": "ap-1"}))
    status, body = endpoint.post(api_event(raw, sign(raw, "not-the-secret")))
    assert status == 401
    assert body["error"]["code"] == "bad_signature"
    assert endpoint.dfns.reads == []
    assert endpoint.sink.calls == []
    assert endpoint.facts() == []


def test_a_missing_signature_is_401_and_nothing_is_done(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    status, body = endpoint.post(api_event(compact(dfns_event(RESOLVED, {"approvalId": "ap-1"})), None))
    assert (status, body["error"]["code"]) == (401, "missing_signature")
    assert endpoint.dfns.reads == []
    assert endpoint.sink.calls == []


def test_a_stale_timestamp_is_401_even_when_correctly_signed(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    stale = dfns_event(RESOLVED, {"approvalId": "ap-1"}, timestampSent=int(NOW.timestamp()) - 300)
    status, body = endpoint.post(signed(stale))
    assert (status, body["error"]["code"]) == (401, "stale_event")
    assert endpoint.sink.calls == []
    assert endpoint.facts() == []


def test_a_replay_of_the_same_event_is_acknowledged_and_applied_once(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    event = signed(dfns_event(RESOLVED, {"approval": {"id": "ap-1", "status": "Approved"}}))
    assert endpoint.post(event)[0] == 200
    assert endpoint.post(event)[0] == 200
    assert endpoint.sink.calls == [("ap-1", "Approved")]
    assert endpoint.facts() == [("EVENT#ap-1", "Approved")]


def test_a_retry_with_a_new_id_is_recognised_by_its_business_fact(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Denied")
    # The shape without a status hint: the retry costs one re-read, but is still applied once.
    first = dfns_event(RESOLVED, {"approvalId": "ap-1"}, event_id="whe-1")
    retry = dfns_event(RESOLVED, {"approvalId": "ap-1"}, event_id="whe-2", retryOf="whe-1", deliveryAttempt=2)
    assert endpoint.post(signed(first))[0] == 200
    assert endpoint.post(signed(retry))[0] == 200
    assert endpoint.sink.calls == [("ap-1", "Denied")]
    assert endpoint.sink.resolved == {"ap-1": "Denied"}


def test_resolved_before_pending_leaves_the_approval_applied(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    resolved = dfns_event(RESOLVED, {"approval": {"id": "ap-1", "status": "Approved"}}, event_id="whe-2")
    pending = dfns_event(PENDING, {"approval": {"id": "ap-1", "status": "Pending"}}, event_id="whe-1")
    assert endpoint.post(signed(resolved))[0] == 200
    assert endpoint.post(signed(pending))[0] == 200
    assert endpoint.sink.resolved == {"ap-1": "Approved"}
    assert endpoint.sink.calls == [("ap-1", "Approved")]


def test_an_event_for_an_unknown_object_is_200_and_changes_nothing(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-foreign", "Approved")
    assert endpoint.post(signed(dfns_event(RESOLVED, {"approvalId": "ap-foreign"})))[0] == 200
    transfer = {"transferRequest": {"id": "xfr-1", "walletId": "wa-not-managed", "status": "Confirmed"}}
    assert endpoint.post(signed(dfns_event("wallet.transfer.confirmed", transfer)))[0] == 200
    assert endpoint.sink.resolved == {}
    assert endpoint.facts() == []
    assert endpoint.publisher.events == []


def test_an_unknown_kind_is_200_and_ignored(endpoint: Endpoint) -> None:
    assert endpoint.post(signed(dfns_event("key.created", {"key": {"id": "key-1"}})))[0] == 200
    assert endpoint.dfns.reads == []
    assert endpoint.facts() == []


def test_a_non_ascii_body_signed_over_its_raw_bytes_is_accepted(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    payload = dfns_event(RESOLVED, {"approval": {"id": "ap-1", "status": "Approved", "note": "Café 東京 ✓"}})
    raw = compact(payload)
    assert b"\xc3\xa9" in raw  # raw UTF-8, not \u escapes
    status, _ = endpoint.post(api_event(raw, sign(raw, SECRET), header_name="x-dfns-webhook-signature"))
    assert status == 200
    assert endpoint.sink.resolved == {"ap-1": "Approved"}


def test_a_base64_encoded_body_is_verified_over_its_decoded_bytes(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    raw = compact(dfns_event(RESOLVED, {"approvalId": "ap-1"}))
    event = api_event(raw, sign(raw, SECRET))
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    assert endpoint.post(event)[0] == 200
    event.update(body="%%% not base64")
    assert endpoint.post(event)[0] == 400


def test_an_oversized_body_is_413(endpoint: Endpoint) -> None:
    raw = compact(dfns_event("key.created", {"pad": "x" * MAX_BODY_BYTES}))
    status, body = endpoint.post(api_event(raw, sign(raw, SECRET)))
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_dfns_down_is_503_so_dfns_retries_and_the_retry_applies(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    endpoint.dfns.down = True
    first = dfns_event(RESOLVED, {"approvalId": "ap-1"}, event_id="whe-1")
    status, body = endpoint.post(signed(first))
    assert (status, body["error"]["code"]) == (503, "dfns_unavailable")
    assert endpoint.facts() == []
    endpoint.dfns.down = False
    retry = dfns_event(RESOLVED, {"approvalId": "ap-1"}, event_id="whe-2", retryOf="whe-1", deliveryAttempt=2)
    assert endpoint.post(signed(retry))[0] == 200
    assert endpoint.sink.resolved == {"ap-1": "Approved"}


def test_a_failure_while_applying_is_500_and_the_fact_is_released(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    endpoint.sink.fail_with = RuntimeError("conditional write storm")
    assert endpoint.post(signed(dfns_event(RESOLVED, {"approvalId": "ap-1"})))[0] == 500
    assert endpoint.facts() == []


def test_an_unreadable_secret_is_503(endpoint: Endpoint) -> None:
    def no_secret() -> str:
        raise RuntimeError("secrets manager down")

    receiver = WebhookReceiver(
        secret=no_secret,
        processor=WebhookProcessor(
            dfns=endpoint.dfns,
            approvals=endpoint.sink,
            accounts=FakeAccounts(),
            facts=DynamoDedupeStore(endpoint.table),
            drift=DriftReporter(endpoint.publisher, RecordingMetrics(), FixedClock(NOW)),
        ),
        clock=FixedClock(NOW),
        tolerance_seconds=300,
        metrics=RecordingMetrics(),
    )
    response = handler(
        signed(dfns_event(RESOLVED, {"approvalId": "ap-1"})), LambdaContext(), receiver=receiver
    )
    assert response["statusCode"] == 503


def test_a_removed_client_tag_publishes_security_drift(endpoint: Endpoint) -> None:
    endpoint.dfns.add_wallet("wa-1", ["limits:standard"])
    data = {
        "wallet": {"id": "wa-1", "tags": ["limits:standard"]},
        "tagsAdded": [],
        "tagsRemoved": ["client:c1"],
    }
    assert endpoint.post(signed(dfns_event("wallet.tags.modified", data)))[0] == 200
    assert (
        endpoint.post(signed(dfns_event("wallet.tags.modified", data, event_id="whe-2", retryOf="whe-1")))[0]
        == 200
    )
    assert endpoint.publisher.types() == ["SecurityDrift"]


def test_the_signature_is_found_in_multi_value_headers_alone(endpoint: Endpoint) -> None:
    endpoint.dfns.set_approval("ap-1", "Approved")
    event = signed(dfns_event(RESOLVED, {"approvalId": "ap-1"}))
    signature = event["headers"].pop("X-DFNS-WEBHOOK-SIGNATURE")
    event["multiValueHeaders"] = {"x-dfns-webhook-signature": [signature]}
    assert endpoint.post(event)[0] == 200
