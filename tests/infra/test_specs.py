"""Functions as data: the specs must cover the route table and name only what exists; a spec alone gives a
function its role, schedules and queue wiring (the throwaway variant adds an order planner and worker)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import Duration
from managed_accounts.routes import ROUTES, Route

from infra.specs import SPECS, PartitionGrant, SpecError, construct_name, function_specs
from tests.infra.helpers import actions, function_by_handler, references, resources, role_statements

pytestmark = pytest.mark.infra


def test_the_shipped_specs_cover_the_route_table() -> None:
    checked = {s.id for s in function_specs()}
    assert {r.function for r in ROUTES} <= checked
    assert {"reconciler", "bootstrap", "audit-ingest"} <= checked


def test_construct_names_are_the_ids_in_camel_case() -> None:
    assert [construct_name(i) for i in ("onboard", "audit-ingest")] == ["Onboard", "AuditIngest"]


def test_a_routed_function_without_a_spec_fails_the_synth_with_the_fix() -> None:
    routes = (*ROUTES, Route("GET", "/accounts/me/orders", "orders", "client"))
    with pytest.raises(SpecError, match=r"function 'orders'.*infra/specs.py.*DynamoDB actions"):
        function_specs(SPECS, routes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"table": ("GetItem", "TransactWriteItems")}, "name each transaction part"),
        ({"idempotency": ("Scan*",)}, "not DynamoDB item actions"),
        ({"indexes": ("GSI9",)}, "unknown index"),
        ({"handler": "missing.handler"}, "not found"),
        ({"order_legs": "consume", "timeout": Duration.minutes(5)}, "visibility timeout"),
        ({"partitions": (PartitionGrant(("BatchWriteItem",), ("*",)),)}, "not be '\\*' alone"),
        ({"partitions": (PartitionGrant(("BatchWriteItem",), ("A*B",)),)}, "only end in"),
        ({"partitions": (PartitionGrant(("BatchWriteItem",), ()),)}, "names no partition key"),
    ],
)
def test_a_spec_naming_what_does_not_exist_fails(change: dict[str, Any], message: str) -> None:
    reconciler = next(s for s in SPECS if s.id == "reconciler")
    specs = [s for s in SPECS if s.id != "reconciler"] + [replace(reconciler, **change)]
    with pytest.raises(SpecError, match=message):
        function_specs(specs)


def test_api_functions_live_in_their_own_folder() -> None:
    specs = [replace(s, folder="webhooks") if s.id == "onboard" else s for s in SPECS]
    with pytest.raises(SpecError, match=r"functions/onboard/handler\.py"):
        function_specs(specs)
    with pytest.raises(SpecError, match="share an id"):
        function_specs([*SPECS, SPECS[0]])


def _spec(template: Any, function_id: str) -> tuple[str, dict[str, Any]]:
    functions = resources(template, "AWS::Lambda::Function")
    [(logical_id, body)] = [
        (k, v) for k, v in functions.items() if k.startswith(f"Functions{function_id}Function")
    ]
    return logical_id, body


def test_a_spec_alone_wires_a_queue_worker(throwaway_template: Any) -> None:
    worker_id, worker = _spec(throwaway_template, "Worker")
    [mapping] = resources(throwaway_template, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert worker_id in references(props["FunctionName"])
    [queue_id] = references(props["EventSourceArn"])
    queue = resources(throwaway_template, "AWS::SQS::Queue")[queue_id]
    assert "RedrivePolicy" in queue["Properties"]  # the order-leg queue, with its DLQ
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    granted = actions(role_statements(throwaway_template, worker_id))
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= granted
    assert "sqs:SendMessage" not in granted
    assert queue_id in references(worker["Properties"]["Environment"]["Variables"]["ORDER_QUEUE_URL"])


def test_a_spec_alone_schedules_a_planner_that_enqueues(throwaway_template: Any) -> None:
    planner_id, _ = _spec(throwaway_template, "Planner")
    schedules = [s["Properties"] for s in resources(throwaway_template, "AWS::Scheduler::Schedule").values()]
    [order_run] = [s for s in schedules if planner_id in references(s["Target"]["Arn"])]
    assert order_run["ScheduleExpression"] == "rate(1 hour)"
    assert order_run["Target"]["Input"] == '{"task":"order-run"}'
    granted = actions(role_statements(throwaway_template, planner_id))
    assert "sqs:SendMessage" in granted
    assert "sqs:ReceiveMessage" not in granted
    assert {a for a in granted if a.startswith("dynamodb:")} == {"dynamodb:Query"}


def test_functions_without_queue_access_get_neither_grant_nor_url(template: Any) -> None:
    for spec in SPECS:
        logical_id, function = function_by_handler(template, f"{spec.folder}/{spec.handler}")
        assert not [a for a in actions(role_statements(template, logical_id)) if a.startswith("sqs:")]
        assert "ORDER_QUEUE_URL" not in function["Properties"]["Environment"]["Variables"]
    assert not resources(template, "AWS::Lambda::EventSourceMapping")


def test_the_local_stack_schedules_each_spec_schedule_with_the_same_input() -> None:
    from local_stack.stack import StackConfig, scheduled_jobs

    local = {(j.function, f"{j.module}.{j.entry}", str(j.payload)) for j in scheduled_jobs(StackConfig())}
    deployed = {(s.folder, s.handler, str(dict(p.payload))) for s in SPECS for p in s.schedules}
    assert local == deployed
