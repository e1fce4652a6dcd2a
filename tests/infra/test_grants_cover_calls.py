"""The specs' DynamoDB grants cover what the code really calls: each function's work runs on moto with the
real DynamoDB adapters (``moto_world``), every request to the main table is recorded (action, index,
partition keys; a transaction as its parts), and each must be allowed by that function's ``FunctionSpec``,
partition-scoped grants included. test_functions.py checks the synthesised roles against the specs; this
checks the specs against the code, so a new DynamoDB call without its grant fails here, not in AWS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from managed_accounts.data.orders_repository import DynamoOrdersRepository
from managed_accounts.data.schema import PK
from managed_accounts.dfns.models import AuditLogRow
from managed_accounts.domain.audit_trail import AuditingPublisher
from managed_accounts.domain.report_models import DECISION_KIND, SharedPolicyIds

from infra.specs import SPECS, FunctionSpec
from tests.fakes.trading import EXCHANGE, EXCHANGES, build_trading
from tests.fakes.world import World, make_settings

pytestmark = pytest.mark.infra

_TRANSACTION_PARTS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
_TRANSACTION_PARTS["ConditionCheck"] = "ConditionCheckItem"


@dataclass(frozen=True)
class Call:
    action: str
    index: str | None
    partitions: tuple[str, ...]


def _partition(item_or_key: dict[str, Any]) -> str:
    value = item_or_key[PK]
    return str(value["S"]) if isinstance(value, dict) else str(value)  # serialised or not yet


def _calls(operation: str, params: dict[str, Any], table: str) -> list[Call]:
    if operation == "TransactWriteItems":
        return [
            Call(_TRANSACTION_PARTS[kind], None, (_partition(body.get("Key") or body["Item"]),))
            for part in params["TransactItems"]
            for kind, body in part.items()
            if body["TableName"] == table
        ]
    if operation == "BatchWriteItem":
        requests = params["RequestItems"].get(table, [])
        keys = [r.get("PutRequest", {}).get("Item") or r["DeleteRequest"]["Key"] for r in requests]
        return [Call("BatchWriteItem", None, tuple(sorted({_partition(k) for k in keys})))] if keys else []
    if operation == "BatchGetItem":
        keys = params["RequestItems"].get(table, {}).get("Keys", [])
        return [Call("BatchGetItem", None, tuple(sorted({_partition(k) for k in keys})))] if keys else []
    if params.get("TableName") != table:
        return []
    key = params.get("Key") or params.get("Item")
    return [Call(operation, params.get("IndexName"), (_partition(key),) if key else ())]


class Recorder:
    """Every request the world's boto3 client sends to the main table."""

    def __init__(self, world: World) -> None:
        self.table = str(world.table.name)
        self.calls: list[Call] = []
        world.table.meta.client.meta.events.register("provide-client-params.dynamodb.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.extend(_calls(model.name, params, self.table))

    def during(self, work: Callable[[], object]) -> list[Call]:
        self.calls = []
        work()
        return list(self.calls)


def _matches(partition: str, allowed: str) -> bool:
    return partition.startswith(allowed[:-1]) if allowed.endswith("*") else partition == allowed


def _allowed(spec: FunctionSpec, call: Call) -> bool:
    if call.index is not None:
        return call.action == "Query" and call.index in spec.indexes
    if call.action in spec.table:
        return True
    return any(
        call.action in grant.actions
        and call.partitions
        and all(any(_matches(p, allowed) for allowed in grant.partitions) for p in call.partitions)
        for grant in spec.partitions
    )


def _denied(function_id: str, calls: list[Call]) -> list[Call]:
    spec = next(s for s in SPECS if s.id == function_id)
    return [c for c in calls if not _allowed(spec, c)]


@pytest.fixture
def recorded(moto_world: World) -> tuple[World, Recorder]:
    return moto_world, Recorder(moto_world)


def test_the_event_publishers_batch_write_only_the_outbox_and_the_audit_directory(
    recorded: tuple[World, Recorder],
) -> None:
    world, recorder = recorded
    onboarded = recorder.during(lambda: world.onboarding.onboard("alice"))
    asked = recorder.during(lambda: world.destinations.request_destination("alice", "0x" + "ab" * 20, "bank"))
    decided = recorder.during(world.approve_all)  # the webhook: decisions filed, then resolved
    world.clock.advance(3600)
    reconciled = recorder.during(lambda: world.reconciler().run())

    assert _denied("onboard", onboarded) == []
    assert _denied("destinations", asked) == []
    assert _denied("webhooks", decided) == []
    assert _denied("reconciler", reconciled) == []
    batches = [c for c in onboarded + asked + decided if c.action == "BatchWriteItem"]
    assert {p.split("#", 1)[0] for c in batches for p in c.partitions} == {"OUTBOX", "DFNSREF"}


def test_the_reports_read_only_what_their_grant_allows(recorded: tuple[World, Recorder]) -> None:
    world, recorder = recorded
    world.onboarding.onboard("alice")
    request = world.destinations.request_destination("alice", "0x" + "cd" * 20, "bank")
    assert request.approval_id
    approval = world.dfns.decide(request.approval_id, "Approved", at=world.clock.now())
    world.decisions().apply_approval(approval)  # the webhook
    world.clock.advance(1)
    world.record_shared_policies()
    reports = world.reports()
    [decision] = [
        e
        for e in reports.audit("alice", start=None, end=None, limit=None, cursor=None).items
        if e.kind == DECISION_KIND
    ]

    calls = recorder.during(
        lambda: (
            reports.restrictions("alice"),
            reports.activity("alice", limit=None, cursor=None),
            reports.audit("alice", start=None, end=None, limit="1", cursor=None),
            reports.verification("alice", decision.entry_id),
            reports.statement("alice", start=None, end=None, output="csv"),
        )
    )

    assert calls
    assert _denied("reports", calls) == []
    assert not [c for c in calls if c.action not in ("GetItem", "Query")], "the views write nothing"


def test_the_audit_log_ingestion_needs_no_more_than_its_grant(recorded: tuple[World, Recorder]) -> None:
    world, recorder = recorded
    account = world.active_account("alice")
    request = world.destinations.request_destination("alice", "0x" + "ef" * 20, None)
    assert request.approval_id
    approval = world.dfns.decide(request.approval_id, "Approved", user_id="us-officer")
    world.clock.advance(3600)
    at = world.clock.now() - timedelta(minutes=5)
    decided = f"POST /v2/policy-approvals/{approval.id}/decisions"
    world.dfns.audit_rows = [
        AuditLogRow(date_performed=at, audit_log_id="al-1", user_id="us-svc", action_path="POST /wallets",
                    summary=f"POST /wallets -> 200 {account.wallet_id}"),
        AuditLogRow(date_performed=at, audit_log_id="al-2", user_id="us-officer", action_path=decided,
                    summary=f"{decided} -> 200"),
        AuditLogRow(date_performed=at, audit_log_id="al-3", user_id="us-svc",
                    action_path="PUT /wallets/wa-of-nobody/tags", summary="-> 200"),
    ]  # fmt: skip

    calls = recorder.during(lambda: world.audit_ingest(initial_lookback=timedelta(hours=2)).run())

    assert {c.action for c in calls} >= {"GetItem", "UpdateItem", "Query"}
    assert _denied("audit-ingest", calls) == []


def test_the_bootstrap_writes_only_the_shared_policy_registry(recorded: tuple[World, Recorder]) -> None:
    world, recorder = recorded
    shared = SharedPolicyIds("plc-governance", {"standard": ("plc-limit",)}, world.clock.now())

    calls = recorder.during(lambda: world.registry.record_shared_policies(shared))

    assert [c.action for c in calls] == ["PutItem"]
    assert _denied("bootstrap", calls) == []
    assert _denied("reports", calls) != []  # the reports may not write it


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_trading_needs_no_more_than_the_orders_functions_grants(recorded: tuple[World, Recorder]) -> None:
    world, recorder = recorded
    settings = make_settings(
        exchanges=EXCHANGES,
        table_name=world.settings.table_name,
        idempotency_table_name=world.settings.idempotency_table_name,
    )
    trading = build_trading(
        accounts=world.repo,
        orders=DynamoOrdersRepository(world.table),
        dfns=world.dfns,
        settings=settings,
        clock=world.clock,
        publisher=AuditingPublisher(world.publisher, world.audit),  # as wiring wraps the bus
    )
    world.onboarding.onboard("alice")
    service = trading.service

    authorised = recorder.during(lambda: service.authorise("alice", EXCHANGE, "ETH", "0.05"))
    [approval_id] = world.dfns.pending_approval_ids()
    approved = recorder.during(
        lambda: trading.destinations.apply_approval(world.dfns.decide(approval_id, "Approved"))
    )
    started = recorder.during(lambda: trading.planner.start("run-1", trigger="operator:ops"))
    scheduled = recorder.during(lambda: trading.planner.start("run-2", trigger="schedule"))
    worked = recorder.during(trading.drain)
    [order] = list(trading.orders.iter_run_orders("run-1"))
    assert order.transfer_id
    assert order.wallet_id
    transfer = world.dfns.set_transfer_status(order.transfer_id, "Confirmed", tx_hash="0xabc")
    confirmed = recorder.during(lambda: trading.outcomes.record_transfer("alice", transfer))
    world.clock.advance(3600)
    reconciled = recorder.during(lambda: world.reconciler(orders=trading.outcomes).run())
    read = recorder.during(
        lambda: (
            service.get_mandate("alice"),
            service.list_orders("alice", limit=10, cursor=None),
            service.run_report("run-1"),
            service.revoke("alice"),
        )
    )

    assert {c.action for c in worked} >= {"BatchGetItem", "PutItem", "UpdateItem", "Query"}
    assert _denied("orders", authorised + started + read) == []
    assert _denied("order-planner", scheduled) == []
    assert _denied("order-worker", worked) == []
    assert _denied("webhooks", approved + confirmed) == []
    assert _denied("reconciler", reconciled) == []
