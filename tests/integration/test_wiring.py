"""The real wiring (settings from the environment, boto3 on moto) behind the real handlers, the reports'
included: the audit route never builds the Dfns client, published domain events land in the client's
trail, and the scheduled audit-log ingestion runs from its handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from managed_accounts import wiring
from managed_accounts.config import get_settings
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.dfns.models import AuditLogRow
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.models import Account

import functions.destinations.handler as destinations
import functions.onboard.handler as onboard
import functions.reports.handler as reports
from functions.reports import audit_ingest
from tests.fakes.apigw import FakeLambdaContext, call, rest_event
from tests.fakes.dfns import FakeDfns
from tests.fakes.recording import RecordingPublisher
from tests.fakes.world import REGION, idempotency_table_for

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


def _event_bus() -> Any:
    """The EventBridge client, with the bus the wiring publishes to (once per moto)."""
    import boto3

    events = boto3.client("events", region_name=REGION)
    if "test-bus" not in [b["Name"] for b in events.list_event_buses()["EventBuses"]]:
        events.create_event_bus(Name="test-bus")
    return events


def _active_account(table: Any, client_id: str) -> Account:
    now = datetime.now(UTC)
    repository = DynamoAccountsRepository(table)
    account = Account(client_id, "creating_wallet", "EthereumSepolia", "standard", now, now)
    repository.create_account(account)
    return repository.update_onboarding(
        replace(account, status="active", wallet_id="wa-1", whitelist_policy_id="plc-1")
    )


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

    events = _event_bus()
    sqs = boto3.client("sqs", region_name=REGION)
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


def test_the_audit_route_reads_the_trail_through_the_real_wiring_without_dfns(
    wired: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    monkeypatch.setattr(wiring, "_dfns_client", lambda settings: built.append("dfns"))
    _event_bus()
    _active_account(wired, "alice")
    wiring.adapters().publisher.publish(
        [DomainEvent("AccountOnboarded", "alice", {"walletId": "wa-1", "whitelistPolicyId": "plc-1"})]
    )

    trail = call(reports.handler, rest_event("GET", "/accounts/me/audit", client_id="alice"))
    missing = call(reports.handler, rest_event("GET", "/accounts/me/audit", client_id="bob"))

    assert trail.status == 200
    assert [e["kind"] for e in trail.body["items"]] == ["AccountOnboarded"]
    assert wiring.audit_repository().client_for("plc-1") == "alice"
    assert (missing.status, missing.body["error"]["code"]) == (404, "account_not_found")
    assert built == []


def test_the_scheduled_audit_ingestion_runs_from_its_handler(
    wired: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDfns()
    monkeypatch.setattr(wiring, "_dfns_client", lambda settings: fake)
    monkeypatch.setenv("AUDIT_INGEST_SETTLE_SECONDS", "0")
    get_settings.cache_clear()
    _active_account(wired, "alice")
    fake.audit_rows = [
        AuditLogRow(
            date_performed=datetime.now(UTC) - timedelta(minutes=5),
            audit_log_id="al-1",
            user_id="us-svc",
            action_path="POST /wallets",
            summary="POST /wallets -> 200 wa-1",
        )
    ]

    summary = audit_ingest.handler({"source": "schedule", "task": "audit-ingest"}, FakeLambdaContext())

    assert (summary["rows"], summary["filed"], summary["stopped"]) == (1, 1, None)
    entries = call(reports.handler, rest_event("GET", "/accounts/me/audit", client_id="alice")).body["items"]
    assert [(e["kind"], e["dfnsAuditLogId"]) for e in entries] == [("DfnsAction", "al-1")]
