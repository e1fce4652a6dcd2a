"""The real wiring (settings from the environment, boto3 on moto) behind the real handlers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from managed_accounts import wiring
from managed_accounts.config import get_settings
from managed_accounts.domain.events import DomainEvent

import functions.destinations.handler as destinations
import functions.onboard.handler as onboard
from tests.fakes.apigw import call, rest_event
from tests.fakes.dfns import FakeDfns
from tests.fakes.recording import RecordingPublisher
from tests.fakes.world import idempotency_table_for

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


@pytest.fixture
def wired(table: Any, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("TABLE_NAME", table.name)
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", idempotency_table_for(table))
    monkeypatch.setenv("EVENT_BUS_NAME", "test-bus")
    get_settings.cache_clear()
    wiring.reset()
    yield table
    get_settings.cache_clear()
    wiring.reset()


def test_reads_through_the_real_wiring_never_build_the_dfns_client(
    wired: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    monkeypatch.setattr(wiring, "_dfns_client", lambda settings: built.append("dfns"))

    me = call(onboard.handler, rest_event("GET", "/accounts/me", client_id="alice"))
    listing = call(
        destinations.handler, rest_event("GET", "/accounts/me/destination-requests", client_id="alice")
    )

    assert me.status == 404
    assert listing.status == 200
    assert listing.body == {"items": [], "nextCursor": None}
    assert built == []
    assert wiring.adapters().repository.get_account("alice") is None


def test_domain_events_reach_the_event_bus(wired: Any) -> None:
    import boto3

    events = boto3.client("events", region_name="eu-west-1")
    events.create_event_bus(Name="test-bus")
    sqs = boto3.client("sqs", region_name="eu-west-1")
    queue_url = sqs.create_queue(QueueName="bus-tap")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all", EventBusName="test-bus", EventPattern=json.dumps({"source": ["managed-accounts"]})
    )
    events.put_targets(Rule="all", EventBusName="test-bus", Targets=[{"Id": "q", "Arn": queue_arn}])

    wiring.adapters().publisher.publish([DomainEvent("DestinationApproved", "alice", {"address": "0xabc"})])

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    detail = json.loads(messages[0]["Body"])
    assert detail["detail-type"] == "DestinationApproved"
    assert detail["detail"]["clientId"] == "alice"


def test_keyed_destination_requests_are_remembered_in_the_idempotency_table(
    wired: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dfns = FakeDfns()
    dfns.install_governance()
    monkeypatch.setattr(wiring, "_dfns_client", lambda settings: dfns)  # the one adapter faked here
    monkeypatch.setattr(wiring, "_event_publisher", lambda settings: RecordingPublisher())
    assert call(onboard.handler, rest_event("POST", "/accounts", client_id="alice")).status == 201

    def ask() -> Any:
        event = rest_event(
            "POST",
            "/accounts/me/destination-requests",
            client_id="alice",
            body={"address": "0x" + "a1" * 20},
            headers={"Idempotency-Key": "k-1"},
        )
        return call(destinations.handler, event)

    first, again = ask(), ask()
    assert (first.status, again.status) == (202, 202)
    assert again.body == first.body
    assert dfns.calls["update_policy"] == 1
    assert aws.Table(idempotency_table_for(wired)).scan()["Count"] == 1
