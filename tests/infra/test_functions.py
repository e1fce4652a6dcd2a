"""Each function: the right code and runtime, its own least-privilege role, and the settings it reads."""

from __future__ import annotations

from typing import Any

import pytest
from managed_accounts.config import Settings
from managed_accounts.routes import FUNCTIONS

from tests.infra.conftest import OFFICER
from tests.infra.helpers import actions, function_by_handler, references, resources, role_statements

pytestmark = pytest.mark.infra

HANDLERS = {
    **{name: f"{name}/handler.handler" for name in FUNCTIONS},
    "reconciler": "webhooks/reconciler.handler",
    "bootstrap": "bootstrap/handler.handler",
}
DATA_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


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
    assert settings.compliance_approver_ids == [OFFICER]
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
    for name, handler in HANDLERS.items():
        logical_id, _ = function_by_handler(template, handler)
        statements = role_statements(template, logical_id)
        dfns = _touched(statements, secrets["dfns-service-account"])
        webhook = _touched(statements, secrets["dfns-webhook"])
        assert dfns == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, name
        if name in ("webhooks", "bootstrap"):
            assert "secretsmanager:GetSecretValue" in webhook, name
        else:
            assert webhook == set(), name
        assert ("secretsmanager:PutSecretValue" in webhook) == (name == "bootstrap"), name
        assert "secretsmanager:PutSecretValue" not in dfns  # nobody rewrites the service account's key


def test_data_access_per_function(template: Any) -> None:
    tables = _table_ids(template)
    for name, handler in HANDLERS.items():
        logical_id, _ = function_by_handler(template, handler)
        statements = role_statements(template, logical_id)
        main, idempotency = _touched(statements, tables["main"]), _touched(statements, tables["idempotency"])
        if name == "bootstrap":  # talks to Dfns only: no client data, no events
            assert main == idempotency == set()
            assert "events:PutEvents" not in actions(statements)
        else:
            assert main >= DATA_WRITES, name
            assert "events:PutEvents" in actions(statements), name
        # The functions keeping Idempotency-Key records: destination requests and the orders commands.
        assert bool(idempotency) == (name in ("destinations", "orders")), name


def test_bootstrap_runs_as_a_custom_resource_on_deploy(template: Any) -> None:
    [resource] = resources(template, "Custom::DfnsBootstrap").values()
    props = resource["Properties"]
    assert props["COMPLIANCE_APPROVER_IDS"] == f'["{OFFICER}"]'
    assert "WEBHOOK_URL" in props
    bootstrap_id, bootstrap = function_by_handler(template, HANDLERS["bootstrap"])
    assert "WEBHOOK_URL" in bootstrap["Properties"]["Environment"]["Variables"]
    providers = [
        body for body in resources(template, "AWS::Lambda::Function").values()
        if bootstrap_id in references(body["Properties"].get("Environment", {}))
    ]  # fmt: skip
    assert len(providers) == 1  # the Provider framework's function points at the bootstrap
