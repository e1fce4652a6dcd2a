"""The DynamoDB tables' key schema: one definition shared by the CDK stack, the local stack and the tests.

Main table (single-table design, every item has PK/SK):
- GSI1 (``GSI1PK``/``GSI1SK``): look-ups by a Dfns id (wallet id, approval id, transfer id).
- GSI2 (``GSI2PK``/``GSI2SK``): sparse work queues for the reconciler (e.g. requests ``submitted``).
- ``expiresAt`` (epoch seconds) is the TTL attribute.
Idempotency table: Powertools' default layout (``id`` hash key, ``expiration`` TTL).
"""

from __future__ import annotations

from typing import Any

PK, SK = "PK", "SK"
GSI1, GSI1_PK, GSI1_SK = "GSI1", "GSI1PK", "GSI1SK"
GSI2, GSI2_PK, GSI2_SK = "GSI2", "GSI2PK", "GSI2SK"
TTL_ATTRIBUTE = "expiresAt"
IDEMPOTENCY_KEY = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"


def main_table_definition(table_name: str) -> dict[str, Any]:
    """``create_table`` keyword arguments for the main table (boto3/moto)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK)
        ],
        "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": hash_key, "KeyType": "HASH"},
                    {"AttributeName": range_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, hash_key, range_key in ((GSI1, GSI1_PK, GSI1_SK), (GSI2, GSI2_PK, GSI2_SK))
        ],
    }


def idempotency_table_definition(table_name: str) -> dict[str, Any]:
    """``create_table`` keyword arguments for the Powertools idempotency table."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": IDEMPOTENCY_KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": IDEMPOTENCY_KEY, "KeyType": "HASH"}],
    }
