"""The local stack's moto DynamoDB: item-level transaction backups keep transactions all-or-nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from local_stack.moto_dynamodb import AtomicApp, install_item_level_transactions
from managed_accounts.data.schema import main_table_definition
from moto import mock_aws


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        install_item_level_transactions()
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**main_table_definition("t"))
        yield dynamodb.Table("t")


def _put(name: str, **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": "t", "Item": {"PK": name, "SK": "x", **extra}}}


def test_a_cancelled_transaction_changes_nothing(table: Any) -> None:
    table.put_item(Item={"PK": "updated", "SK": "x", "n": 1, "GSI1PK": "g", "GSI1SK": "1"})
    table.put_item(Item={"PK": "deleted", "SK": "x"})
    table.put_item(Item={"PK": "replaced", "SK": "x", "v": "old"})
    client = table.meta.client

    with pytest.raises(ClientError, match="TransactionCanceled"):
        client.transact_write_items(
            TransactItems=[
                _put("new"),
                _put("replaced", v="new"),
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"PK": "updated", "SK": "x"},
                        "UpdateExpression": "SET n = :two REMOVE GSI1PK",
                        "ExpressionAttributeValues": {":two": 2},
                    }
                },
                {"Delete": {"TableName": "t", "Key": {"PK": "deleted", "SK": "x"}}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"PK": "missing", "SK": "x"},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )

    assert "Item" not in table.get_item(Key={"PK": "new", "SK": "x"})
    assert table.get_item(Key={"PK": "replaced", "SK": "x"})["Item"]["v"] == "old"
    updated = table.get_item(Key={"PK": "updated", "SK": "x"})["Item"]
    assert (updated["n"], updated["GSI1PK"]) == (1, "g")
    assert "Item" in table.get_item(Key={"PK": "deleted", "SK": "x"})
    by_index = table.query(
        IndexName="GSI1", KeyConditionExpression="GSI1PK = :g", ExpressionAttributeValues={":g": "g"}
    )
    assert [i["PK"] for i in by_index["Items"]] == ["updated"]


def test_a_successful_transaction_applies_every_item(table: Any) -> None:
    table.meta.client.transact_write_items(TransactItems=[_put("a"), _put("b")])

    assert {i["PK"] for i in table.scan()["Items"]} == {"a", "b"}


def test_queries_read_their_partition_with_dynamodbs_order_and_paging(table: Any) -> None:
    with table.batch_writer() as batch:
        for client in range(30):
            for n in range(5):
                item = {"PK": f"C#{client:02d}", "SK": f"O#{n}"}
                if n == 0:
                    item.update({"GSI2PK": "Q", "GSI2SK": f"{client:02d}"})
                batch.put_item(Item=item)

    newest = table.query(
        KeyConditionExpression="PK = :p AND begins_with(SK, :o)",
        ExpressionAttributeValues={":p": "C#07", ":o": "O#"},
        ScanIndexForward=False,
        Limit=2,
    )
    rest = table.query(
        KeyConditionExpression="PK = :p AND begins_with(SK, :o)",
        ExpressionAttributeValues={":p": "C#07", ":o": "O#"},
        ScanIndexForward=False,
        ExclusiveStartKey=newest["LastEvaluatedKey"],
    )
    queue: list[str] = []
    start: dict[str, Any] = {}
    while True:
        page = table.query(
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :q",
            ExpressionAttributeValues={":q": "Q"},
            Limit=7,
            **start,
        )
        queue += [i["GSI2SK"] for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    assert [i["SK"] for i in newest["Items"]] == ["O#4", "O#3"]
    assert [i["SK"] for i in rest["Items"]] == ["O#2", "O#1", "O#0"]
    assert queue == [f"{c:02d}" for c in range(30)]
    assert (
        table.query(KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": "nobody"})["Items"]
        == []
    )
    assert len(table.scan()["Items"]) == 150


def test_the_atomic_app_serves_the_whole_body_of_one_request_at_a_time() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"a"
        yield b"b"

    dynamodb = {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem"}
    assert AtomicApp(app)(dynamodb, lambda *args: None) == [b"a", b"b"]
    assert AtomicApp(app)({}, lambda *args: None) == [b"a", b"b"]
