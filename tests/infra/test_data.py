"""The tables: keys and GSIs exactly as schema.py defines them, PITR, TTL, encryption, retention."""

from __future__ import annotations

from typing import Any

import pytest
from managed_accounts.data import schema

from tests.infra.helpers import resources

pytestmark = pytest.mark.infra


def _tables(template: Any) -> dict[str, dict[str, Any]]:
    tables = resources(template, "AWS::DynamoDB::Table").values()
    return {t["Properties"]["KeySchema"][0]["AttributeName"]: t for t in tables}


def test_main_table_matches_the_shared_schema(template: Any) -> None:
    table = _tables(template)[schema.PK]
    props = table["Properties"]
    definition = schema.main_table_definition("x")
    assert props["KeySchema"] == definition["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        definition["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    assert sorted(props["GlobalSecondaryIndexes"], key=lambda i: i["IndexName"]) == sorted(
        definition["GlobalSecondaryIndexes"], key=lambda i: i["IndexName"]
    )
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}


TABLES = [(schema.PK, schema.TTL_ATTRIBUTE), (schema.IDEMPOTENCY_KEY, schema.IDEMPOTENCY_TTL_ATTRIBUTE)]


@pytest.mark.parametrize(("key", "ttl"), TABLES)
def test_tables_are_recoverable_encrypted_and_retained(template: Any, key: str, ttl: str) -> None:
    table = _tables(template)[key]
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"]["AttributeName"] == ttl
    # The test stage is production-like: data outlives the stack.
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def _secrets(template: Any) -> dict[str, dict[str, Any]]:
    found = resources(template, "AWS::SecretsManager::Secret").values()
    return {s["Properties"]["Name"].rsplit("/", 1)[1]: s for s in found}


def test_secrets_and_their_key_survive_the_stack(template: Any) -> None:
    secrets = _secrets(template)
    assert set(secrets) == {"dfns-service-account", "dfns-webhook"}
    for secret in secrets.values():
        assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
    # A retained secret is only readable while its key exists.
    [key] = resources(template, "AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Retain"


def test_a_throwaway_stage_deletes_its_data_with_the_stack(throwaway_template: Any) -> None:
    for key, _ in TABLES:
        table = _tables(throwaway_template)[key]
        assert table["DeletionPolicy"] == "Delete"
        assert table["Properties"].get("DeletionProtectionEnabled", False) is False
    for secret in _secrets(throwaway_template).values():
        assert secret["DeletionPolicy"] == "Delete"
