"""The real composition of the orders functions on moto: settings from the environment, the
repositories on DynamoDB, the order-leg queue on SQS. No Dfns call is made here (the Dfns client must
not even be built): every leg is decided by the pre-flight."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from managed_accounts import wiring
from managed_accounts.config import get_settings
from managed_accounts.domain.models import Account
from managed_accounts.domain.ports import LegMessage, PlanningPage
from managed_accounts.domain.trading import Mandate
from managed_accounts.order_queue import SqsOrderLegQueue, message_from_sqs_record

import functions.orders.handler as orders_api
import functions.orders.planner as planner_function
import functions.orders.worker as worker_function
from tests.fakes.apigw import FakeLambdaContext, call, rest_event
from tests.fakes.trading import DEPOSIT, EXCHANGE, EXCHANGES
from tests.fakes.world import REGION, idempotency_table_for

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

T0 = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)


@pytest.fixture
def wired(table: Any, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName=f"legs-{table.name}", Attributes={"VisibilityTimeout": "120"})[
        "QueueUrl"
    ]
    for name, value in {
        "TABLE_NAME": table.name,
        "IDEMPOTENCY_TABLE_NAME": idempotency_table_for(table),
        "EVENT_BUS_NAME": "test-bus",
        "ORDER_QUEUE_URL": queue_url,
        "EXCHANGES": json.dumps(EXCHANGES),
    }.items():
        monkeypatch.setenv(name, value)
    built: list[str] = []
    monkeypatch.setattr(wiring, "_dfns_client", lambda settings: built.append("dfns"))
    monkeypatch.setattr(wiring, "_order_dfns_client", lambda settings: built.append("dfns"))
    get_settings.cache_clear()
    wiring.reset()
    yield {"sqs": sqs, "queue_url": queue_url, "dfns_built": built}
    get_settings.cache_clear()
    wiring.reset()


def _seed_pending_mandate(client_id: str) -> None:
    """An active account whose trading authorisation waits for compliance (no Dfns needed)."""
    accounts, orders = wiring.adapters().repository, wiring.orders_repository()
    accounts.create_account(
        Account(client_id, "active", "EthereumSepolia", "standard", T0, T0, wallet_id=f"wa-{client_id}")
    )
    orders.save_mandate(
        Mandate(
            client_id=client_id,
            exchange=EXCHANGE,
            network="EthereumSepolia",
            asset="ETH",
            asset_kind="Native",
            decimals=18,
            amount_per_run="0.05",
            amount_units=5 * 10**16,
            deposit_address=DEPOSIT,
            status="pending_approval",
            created_at=T0,
            updated_at=T0,
        ),
        expected_version=None,
    )


def _receive(wired: dict[str, Any]) -> list[dict[str, Any]]:
    response = wired["sqs"].receive_message(
        QueueUrl=wired["queue_url"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:legs",
            "awsRegion": REGION,
        }
        for m in response.get("Messages", [])
    ]


def _drain(wired: dict[str, Any]) -> list[str]:
    """Plays the SQS event source until the queue is empty; the bodies it delivered."""
    delivered: list[str] = []
    while records := _receive(wired):
        result = worker_function.handler({"Records": records}, FakeLambdaContext())
        assert result == {"batchItemFailures": []}
        for record in records:
            wired["sqs"].delete_message(QueueUrl=wired["queue_url"], ReceiptHandle=record["receiptHandle"])
        delivered += [r["body"] for r in records]
    return delivered


def test_a_scheduled_run_plans_onto_sqs_and_the_worker_skips_a_pending_mandate(wired: dict[str, Any]) -> None:
    for client_id in ("alice", "bob"):
        _seed_pending_mandate(client_id)
    schedule = {"source": "schedule", "task": "order-run", "scheduledTime": "2026-01-05T14:00:00Z"}

    started = planner_function.handler(schedule, FakeLambdaContext())
    delivered = _drain(wired)
    again = planner_function.handler(schedule, FakeLambdaContext())  # the schedule delivered twice
    delivered_again = _drain(wired)

    assert (started["runId"], started["status"], started["replayed"]) == (
        "sched-20260105T1400Z",
        "planning",
        False,
    )
    # A planning page, then one leg per mandate.
    messages = [json.loads(body) for body in delivered]
    assert messages[0] == {"runId": "sched-20260105T1400Z", "page": None, "planned": 0}
    assert sorted(m["clientId"] for m in messages[1:]) == ["alice", "bob"]
    assert (again["runId"], again["replayed"], again["skipped"]) == (
        "sched-20260105T1400Z",
        True,
        {"total": 2, "byReason": {"destination_pending": 2}},
    )
    assert len(delivered_again) == 1  # the replay's planning page: a final skip is not re-driven
    assert wired["dfns_built"] == []


def test_the_operator_route_reads_the_report_through_the_real_wiring(wired: dict[str, Any]) -> None:
    _seed_pending_mandate("alice")
    started = call(
        orders_api.handler,
        rest_event("POST", "/admin/order-runs", client_id="ops", groups=["operators"], body={"runId": "r-1"}),
    )
    report = call(
        orders_api.handler,
        rest_event(
            "GET",
            "/admin/order-runs/r-1",
            client_id="ops",
            groups=["operators"],
            resource="/admin/order-runs/{runId}",
            path_parameters={"runId": "r-1"},
        ),
    )
    mandate = call(
        orders_api.handler, rest_event("GET", "/accounts/me/trading-authorization", client_id="alice")
    )

    assert (started.status, started.body["status"]) == (202, "planning")
    assert (report.status, report.body["runId"]) == (200, "r-1")
    assert (mandate.status, mandate.body["status"]) == (200, "pending_approval")
    assert wired["dfns_built"] == []


def test_the_sqs_queue_sends_ten_per_batch_and_honours_a_visibility_change(wired: dict[str, Any]) -> None:
    queue = SqsOrderLegQueue(wired["sqs"], wired["queue_url"])
    queue.enqueue([LegMessage("run-1", f"c{i}") for i in range(10)])
    with pytest.raises(ValueError, match="at most 10"):
        queue.enqueue([LegMessage("run-1", f"c{i}") for i in range(11)])

    queue.enqueue_page(PlanningPage("run-1"))
    records = _receive(wired)
    messages = [message_from_sqs_record(r) for r in records]
    leg = next(m for m in messages if isinstance(m, LegMessage))
    queue.retry_later(leg, 600)
    queue.retry_later(LegMessage("run-1", "ghost", receipt="not-a-receipt"), 5)  # logged, not raised

    assert (leg.run_id, leg.receive_count) == ("run-1", 1)
    assert len(records) == 10  # ten of the eleven messages: one receive takes ten at most
    for bad in ("{}", "not json", '{"runId": "r"}', '{"runId": 1, "clientId": "c"}'):
        with pytest.raises(ValueError, match="not an order-run message"):
            message_from_sqs_record({"body": bad})
