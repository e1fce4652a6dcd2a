"""The main single table (keys and GSIs from ``managed_accounts.data.schema``) and the idempotency table."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from managed_accounts.data import schema


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class DataConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, retain: bool) -> None:
        super().__init__(scope, construct_id)
        # Non-dev data outlives the stack: retained on delete, and protected against a deletion by hand.
        common = {
            "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
            "encryption": dynamodb.TableEncryption.AWS_MANAGED,
            "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            "deletion_protection": retain,
            "removal_policy": RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        }
        definition = schema.main_table_definition("unused")
        self.table = dynamodb.Table(
            self,
            "MainTable",
            partition_key=_string(schema.PK),
            sort_key=_string(schema.SK),
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            **common,  # type: ignore[arg-type]
        )
        for index in definition["GlobalSecondaryIndexes"]:
            hash_key, range_key = (k["AttributeName"] for k in index["KeySchema"])
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=_string(hash_key),
                sort_key=_string(range_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        self.index_names = frozenset(index["IndexName"] for index in definition["GlobalSecondaryIndexes"])
        self.idempotency_table = dynamodb.Table(
            self,
            "IdempotencyTable",
            partition_key=_string(schema.IDEMPOTENCY_KEY),
            time_to_live_attribute=schema.IDEMPOTENCY_TTL_ATTRIBUTE,
            **common,  # type: ignore[arg-type]
        )

    def index_arn(self, name: str) -> str:
        """One GSI of the main table (never ``/index/*``: a grant names the indexes it reads)."""
        if name not in self.index_names:
            raise ValueError(f"the main table has no index {name!r}")
        return f"{self.table.table_arn}/index/{name}"
