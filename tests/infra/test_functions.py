"""Each function: the right code and runtime, its own least-privilege role, and the settings it reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from managed_accounts.config import Settings
from managed_accounts.data import schema
from managed_accounts.data.audit_items import DIRECTORY_PREFIX, SHARED_POLICIES_KEY
from managed_accounts.data.items import OUTBOX_PK
from managed_accounts.routes import FUNCTIONS

from tests.infra.conftest import OFFICERS
from tests.infra.helpers import actions, function_by_handler, references, resources, role_statements

pytestmark = pytest.mark.infra

HANDLERS = {
    **{name: f"{name}/handler.handler" for name in FUNCTIONS},
    "reconciler": "webhooks/reconciler.handler",
    "audit-ingest": "reports/audit_ingest.handler",
    "order-planner": "orders/planner.handler",
    "order-worker": "orders/worker.handler",
    "bootstrap": "bootstrap/handler.handler",
}

# What each function's code calls (repository.py, transitions.py, dedupe.py, outbox.py, audit_repository.py,
# Powertools idempotency), written out independently of infra/specs.py: (main table, its indexes,
# idempotency table). Transactions need the action of each part; every event publisher also deletes its
# published events from the outbox and files the Dfns ids they name in the audit directory, both with
# BatchWriteItem, allowed on the OUTBOX and DFNSREF#… partitions only (EVENT_PUBLISHERS). Filing an event
# or a decision in the audit trail is an UpdateItem upsert. test_grants_cover_calls.py checks the specs
# against the DynamoDB calls the code really makes.
_ITEM = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")
DYNAMODB: dict[str, tuple[set[str], dict[str, set[str]], set[str]]] = {
    "onboard": ({"GetItem", "PutItem", "UpdateItem"}, {}, set()),
    "destinations": ({*_ITEM, "Query", "ConditionCheckItem"}, {}, set(_ITEM)),
    "webhooks": ({*_ITEM, "Query"}, {"GSI1": {"Query"}}, set()),
    "reconciler": ({*_ITEM, "Query", "Scan"}, {"GSI1": {"Query"}, "GSI2": {"Query"}}, set()),
    "reports": ({"GetItem", "Query"}, {"GSI1": {"Query"}}, set()),
    "audit-ingest": ({"GetItem", "UpdateItem"}, {"GSI1": {"Query"}}, set()),
    "orders": ({*_ITEM, "Query", "ConditionCheckItem"}, {"GSI1": {"Query"}}, set(_ITEM)),
    "order-planner": ({"GetItem", "PutItem", "UpdateItem"}, {"GSI1": {"Query"}}, set()),
    "order-worker": (
        {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem"},
        {"GSI2": {"Query"}},
        set(),
    ),
    "bootstrap": (set(), {}, set()),  # plus one PutItem on the shared-policy registry item, see below
}
EVENT_PUBLISHERS = {"onboard", "destinations", "webhooks", "reconciler", "orders", "order-worker"}
NO_DFNS = {"order-planner"}  # starts runs from the product's own data


def _secret_ids(template: Any) -> dict[str, str]:
    secrets = resources(template, "AWS::SecretsManager::Secret")
    return {body["Properties"]["Name"].rsplit("/", 1)[1]: logical_id for logical_id, body in secrets.items()}


def _table_ids(template: Any) -> dict[str, str]:
    tables = resources(template, "AWS::DynamoDB::Table")
    by_key = {
        body["Properties"]["KeySchema"][0]["AttributeName"]: logical_id for logical_id, body in tables.items()
    }
    return {"main": by_key["PK"], "idempotency": by_key["id"]}


def _touched(statements: list[dict[str, Any]], logical_id: str) -> set[str]:
    return actions([s for s in statements if logical_id in references(s.get("Resource"))])


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_function_runtime_code_and_observability(template: Any, name: str) -> None:
    _, function = function_by_handler(template, HANDLERS[name])
    props = function["Properties"]
    assert props["Runtime"] in ("python3.12", "python3.13")
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == HANDLERS[name].split("/", 1)[1]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert len(props["Layers"]) == 1
    [log_group_id] = references(props["LoggingConfig"]["LogGroup"])
    assert resources(template, "AWS::Logs::LogGroup")[log_group_id]["Properties"]["RetentionInDays"] > 0


RESOURCE_FIELDS = ("table_name", "idempotency_table_name", "event_bus_name", "dfns_secret_name",
                   "webhook_secret_name")  # fmt: skip


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_environment_is_what_settings_reads(
    template: Any, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, function = function_by_handler(template, HANDLERS[name])
    env = function["Properties"]["Environment"]["Variables"]
    for field in RESOURCE_FIELDS:
        assert references(env[field.upper()]), f"{field} comes from the stack's own resource"
    # The functions read these variables back with the very Settings model, as Lambda would set them:
    for key, value in env.items():
        monkeypatch.setenv(key, value if isinstance(value, str) else f"resolved-{key.lower()}")
    settings = Settings()
    assert settings.compliance_approver_ids == OFFICERS
    assert env["COMPLIANCE_QUORUM"] == "2"  # the stage's quorum reaches the functions
    assert settings.stage == "prod"
    assert str(settings.dfns_api_url).startswith("https://api.dfns.io")
    assert settings.limit_profile("standard").amount_limit_usd == 10_000
    assert settings.table_name.startswith("resolved-")


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_no_wildcard_actions_and_no_approval_rights(template: Any, name: str) -> None:
    logical_id, _ = function_by_handler(template, HANDLERS[name])
    granted = actions(role_statements(template, logical_id))
    assert granted
    assert not [a for a in granted if "*" in a]
    # The service side can never approve anything: no approval-flavoured permission exists anywhere.
    assert not [a for a in granted if "approv" in a.lower() or a.startswith(("iam:", "sts:"))]


def test_secret_access_only_where_needed(template: Any) -> None:
    secrets = _secret_ids(template)
    read = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    for name, handler in HANDLERS.items():
        logical_id, _ = function_by_handler(template, handler)
        statements = role_statements(template, logical_id)
        # Every function that calls Dfns reads the service account's credentials; nobody may change them.
        expected_dfns = set() if name in NO_DFNS else read
        assert _touched(statements, secrets["dfns-service-account"]) == expected_dfns, name
        # Only the bootstrap writes the webhook secret (Dfns shows it once, at webhook creation), and only
        # a new value: no UpdateSecret (description, key) and no version-stage moves.
        webhook = _touched(statements, secrets["dfns-webhook"])
        expected = {"webhooks": read, "bootstrap": read | {"secretsmanager:PutSecretValue"}}.get(name, set())
        assert webhook == expected, name


def test_only_the_secret_writer_may_encrypt_with_the_key(template: Any) -> None:
    [key] = resources(template, "AWS::KMS::Key").values()
    _, bootstrap = function_by_handler(template, HANDLERS["bootstrap"])
    bootstrap_role = bootstrap["Properties"]["Role"]["Fn::GetAtt"][0]
    roles = {
        function_by_handler(template, h)[1]["Properties"]["Role"]["Fn::GetAtt"][0] for h in HANDLERS.values()
    }
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        principal = next(iter(references(statement["Principal"]) & roles), None)
        if principal is None:
            continue
        granted = actions([statement])
        # Through Secrets Manager only; the writer gets the data key for a new value, nothing else.
        assert "kms:ViaService" in str(statement["Condition"])
        assert granted <= (
            {"kms:Decrypt", "kms:GenerateDataKey"} if principal == bootstrap_role else {"kms:Decrypt"}
        )


def _dynamodb(statements: list[dict[str, Any]], logical_id: str, suffix: str | None = None) -> set[str]:
    """DynamoDB actions on the table itself (``suffix`` None) or on ``<table ARN><suffix>``."""
    found: set[str] = set()
    for statement in statements:
        if "Condition" in statement:
            continue  # partition-scoped grants: see test_batch_writes_only_on_the_outbox_partition
        resources_ = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for resource in resources_:
            if logical_id not in references(resource):
                continue
            tail = "".join(p for p in resource.get("Fn::Join", ["", []])[1] if isinstance(p, str))
            if tail == (suffix or ""):
                found |= {
                    a.removeprefix("dynamodb:") for a in actions([statement]) if a.startswith("dynamodb:")
                }
    return found


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_each_function_holds_exactly_its_dynamodb_actions(template: Any, name: str) -> None:
    tables = _table_ids(template)
    logical_id, _ = function_by_handler(template, HANDLERS[name])
    statements = role_statements(template, logical_id)
    main, indexes, idempotency = DYNAMODB[name]
    assert _dynamodb(statements, tables["main"]) == main
    for index in schema.main_table_definition("-")["GlobalSecondaryIndexes"]:
        suffix = f"/index/{index['IndexName']}"
        assert _dynamodb(statements, tables["main"], suffix) == indexes.get(index["IndexName"], set()), suffix
    assert _dynamodb(statements, tables["idempotency"]) == idempotency
    granted = actions([s for s in statements if "Condition" not in s])
    assert not {a for a in granted if a.startswith("dynamodb:")} - {
        f"dynamodb:{a}" for a in main | idempotency | {"Query"}
    }, "no DynamoDB action on any other resource"
    assert not [s for s in statements if "/index/*" in str(s["Resource"])], (
        "indexes are named, never /index/*"
    )


def test_only_the_reconciler_scans(template: Any) -> None:
    for name, handler in HANDLERS.items():
        granted = actions(role_statements(template, function_by_handler(template, handler)[0]))
        assert ("dynamodb:Scan" in granted) == (name == "reconciler"), name  # iter_accounts
        assert not granted & {"dynamodb:DescribeTable", "dynamodb:GetRecords"}
        # Only the order worker batch-reads: a planning page's existing orders, by key.
        assert ("dynamodb:BatchGetItem" in granted) == (name == "order-worker"), name


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_batch_writes_only_on_the_outbox_and_audit_directory_partitions(template: Any, name: str) -> None:
    main_table = _table_ids(template)["main"]
    statements = role_statements(template, function_by_handler(template, HANDLERS[name])[0])
    batch = [s for s in statements if "dynamodb:BatchWriteItem" in actions([s])]
    if name not in EVENT_PUBLISHERS:
        assert batch == []
        return
    for statement in batch:
        assert actions([statement]) == {"dynamodb:BatchWriteItem"}
        assert references(statement["Resource"]) == {main_table}
    assert sorted((s["Condition"] for s in batch), key=str) == [
        {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [OUTBOX_PK]}},
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{DIRECTORY_PREFIX}*"]}},
    ]


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_only_the_bootstrap_writes_the_shared_policy_registry_and_nothing_else(
    template: Any, name: str
) -> None:
    statements = role_statements(template, function_by_handler(template, HANDLERS[name])[0])
    scoped = [s for s in statements if "Condition" in s and "dynamodb:PutItem" in actions([s])]
    if name != "bootstrap":
        assert scoped == []
        return
    [statement] = scoped
    assert actions([statement]) == {"dynamodb:PutItem"}
    assert references(statement["Resource"]) == {_table_ids(template)["main"]}
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [SHARED_POLICIES_KEY[schema.PK]]}
    }
    dynamodb = {a for a in actions(statements) if a.startswith("dynamodb:")}
    assert dynamodb == {"dynamodb:PutItem"}


def test_events_only_from_the_functions_that_emit_them(template: Any) -> None:
    for name, handler in HANDLERS.items():
        granted = actions(role_statements(template, function_by_handler(template, handler)[0]))
        assert ("events:PutEvents" in granted) == (name in EVENT_PUBLISHERS), name


def test_bootstrap_runs_as_a_custom_resource_on_deploy(template: Any) -> None:
    [resource] = resources(template, "Custom::DfnsBootstrap").values()
    props = resource["Properties"]
    assert json.loads(props["COMPLIANCE_APPROVER_IDS"]) == OFFICERS
    assert props["COMPLIANCE_QUORUM"] == "2"  # a changed quorum re-runs the bootstrap
    assert "WEBHOOK_URL" in props
    bootstrap_id, bootstrap = function_by_handler(template, HANDLERS["bootstrap"])
    assert "WEBHOOK_URL" in bootstrap["Properties"]["Environment"]["Variables"]
    providers = [
        body for body in resources(template, "AWS::Lambda::Function").values()
        if bootstrap_id in references(body["Properties"].get("Environment", {}))
    ]  # fmt: skip
    assert len(providers) == 1  # the Provider framework's function points at the bootstrap
