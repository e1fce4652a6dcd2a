"""Functions as data: the specs must cover the route table and name only what exists; a spec alone gives a
function its role, schedules and queue wiring (the order-run planner and the order-leg worker)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import Duration
from managed_accounts.config import Settings
from managed_accounts.routes import ROUTES, Route

from infra.specs import SPECS, PartitionGrant, SpecError, construct_name, function_specs
from tests.infra.helpers import actions, function_by_handler, references, resources, role_statements

pytestmark = pytest.mark.infra


def test_the_shipped_specs_cover_the_route_table() -> None:
    checked = {s.id for s in function_specs()}
    assert {r.function for r in ROUTES} <= checked
    assert {"reconciler", "bootstrap", "audit-ingest", "order-planner", "order-worker"} <= checked


def test_construct_names_are_the_ids_in_camel_case() -> None:
    assert [construct_name(i) for i in ("onboard", "audit-ingest")] == ["Onboard", "AuditIngest"]


def test_a_routed_function_without_a_spec_fails_the_synth_with_the_fix() -> None:
    routes = (*ROUTES, Route("GET", "/accounts/me/tax-lots", "taxes", "client"))
    with pytest.raises(SpecError, match=r"function 'taxes'.*infra/specs.py.*DynamoDB actions"):
        function_specs(SPECS, routes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"table": ("GetItem", "TransactWriteItems")}, "name each transaction part"),
        ({"idempotency": ("Scan*",)}, "not DynamoDB item actions"),
        ({"indexes": ("GSI9",)}, "unknown index"),
        ({"handler": "missing.handler"}, "not found"),
        ({"order_legs": "consume", "timeout": Duration.minutes(10)}, "visibility timeout"),
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


def test_the_order_worker_consumes_the_order_leg_queue_with_bounded_concurrency(template: Any) -> None:
    worker_id, worker = _spec(template, "OrderWorker")
    [mapping] = resources(template, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert worker_id in references(props["FunctionName"])
    [queue_id] = references(props["EventSourceArn"])
    queue = resources(template, "AWS::SQS::Queue")[queue_id]["Properties"]
    assert "RedrivePolicy" in queue  # the order-leg queue, with its DLQ
    # AWS's advice for an SQS event source: visibility at least six times the function's timeout.
    assert queue["VisibilityTimeout"] >= 6 * worker["Properties"]["Timeout"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    settings = Settings()  # the stage sets neither: the defaults
    assert props["ScalingConfig"] == {"MaximumConcurrency": settings.order_worker_concurrency}
    assert props["BatchSize"] == settings.order_worker_batch_size
    granted = actions(role_statements(template, worker_id))
    # It consumes, defers (visibility) and enqueues: a planning page becomes legs and the next page.
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= granted
    assert "sqs:SendMessage" in granted
    assert queue_id in references(worker["Properties"]["Environment"]["Variables"]["ORDER_QUEUE_URL"])


def test_the_order_run_planner_runs_on_the_configured_schedule_with_its_slot(template: Any) -> None:
    planner_id, _ = _spec(template, "OrderPlanner")
    schedules = [s["Properties"] for s in resources(template, "AWS::Scheduler::Schedule").values()]
    [order_run] = [s for s in schedules if planner_id in references(s["Target"]["Arn"])]
    assert order_run["ScheduleExpression"] == Settings().order_run_schedule
    assert json.loads(order_run["Target"]["Input"]) == {
        "source": "schedule",
        "task": "order-run",
        "scheduledTime": "<aws.scheduler.scheduled-time>",  # Scheduler fills in the slot
    }
    granted = actions(role_statements(template, planner_id))
    assert "sqs:SendMessage" in granted
    assert "sqs:ReceiveMessage" not in granted
    assert not [a for a in granted if a.startswith("secretsmanager:")], "the planner never calls Dfns"


def test_functions_without_queue_access_get_neither_grant_nor_url(template: Any) -> None:
    for spec in SPECS:
        if spec.order_legs != "none":
            continue
        logical_id, function = function_by_handler(template, f"{spec.folder}/{spec.handler}")
        assert not [a for a in actions(role_statements(template, logical_id)) if a.startswith("sqs:")]
        assert "ORDER_QUEUE_URL" not in function["Properties"]["Environment"]["Variables"]


def test_the_local_stack_schedules_each_spec_schedule_with_the_same_input() -> None:
    from local_stack.stack import StackConfig, scheduled_jobs

    jobs = scheduled_jobs(StackConfig(), order_run_schedule="rate(1 hour)")
    local = {(j.function, f"{j.module}.{j.entry}", str(j.payload)) for j in jobs}
    deployed = {(s.folder, s.handler, str(dict(p.payload))) for s in SPECS for p in s.schedules}
    assert local == deployed
