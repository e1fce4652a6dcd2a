"""The audit trail and the shared-policy registry on the main table (layout: ``data/audit_items.py``).

``DynamoAuditRepository`` implements ``AuditRepository``, ``DynamoPolicyRegistry`` implements
``PolicyRegistry`` (domain/ports.py). Writing an entry is an upsert that only sets what the entry knows,
so two writers of the same fact (the webhook's decision and the ingestion's signed action) complete
each other in either order. The watermark moves by conditional write only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from managed_accounts.data import audit_items as ai
from managed_accounts.data.items import as_items, client_pk, iso, parse_iso
from managed_accounts.data.schema import GSI1, GSI1_PK, PK, SK
from managed_accounts.domain.report_models import AuditEntry, AuditPage, InvalidQuery, SharedPolicyIds, stamp
from managed_accounts.domain.report_queries import open_cursor, seal_cursor

CURSOR_KIND = "audit"


def encode_audit_cursor(client_id: str, sort_key: str) -> str:
    return seal_cursor(client_id, CURSOR_KIND, {"sk": sort_key})


def decode_audit_cursor(client_id: str, cursor: str) -> str:
    """The sort key of the last entry the client saw; 400 for a cursor that is not this client's."""
    sort_key = open_cursor(client_id, CURSOR_KIND, cursor).get("sk")
    if not isinstance(sort_key, str) or not sort_key.startswith(ai.AUDIT_PREFIX):
        raise InvalidQuery("cursor is not valid")
    return sort_key


def period_bounds(start: datetime, end: datetime) -> tuple[str, str]:
    """Sort keys bounding ``[start, end)``: an entry id is its time stamp, a dash and a digest, so
    ``AUDIT#<stamp(end)>`` sorts after every entry before ``end`` and before every entry at it."""
    return ai.AUDIT_PREFIX + stamp(start), ai.AUDIT_PREFIX + stamp(end)


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoAuditRepository:
    """``table`` is a boto3 DynamoDB ``Table`` resource."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def record(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            attributes = ai.entry_attributes(entry)
            names = {f"#a{i}": name for i, name in enumerate(attributes)}
            values = {f":a{i}": value for i, value in enumerate(attributes.values())}
            self._table.update_item(
                Key=ai.entry_key(entry.client_id, entry.entry_id),
                UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(attributes))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    def list_entries(
        self, client_id: str, *, start: datetime, end: datetime, limit: int, cursor: str | None = None
    ) -> AuditPage:
        low, high = period_bounds(start, end)
        after = decode_audit_cursor(client_id, cursor) if cursor else ""
        if after >= high:
            return AuditPage([], None)
        response = self._table.query(
            KeyConditionExpression=f"{PK} = :pk AND {SK} BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": client_pk(client_id),
                ":low": max(low, after),
                ":high": high,
            },
            Limit=limit + 2,
            ConsistentRead=True,
        )
        found = [item for item in as_items(response.get("Items")) if item[SK] != after]
        page = found[:limit]
        more = len(found) > limit or "LastEvaluatedKey" in response
        next_cursor = encode_audit_cursor(client_id, str(page[-1][SK])) if more and page else None
        return AuditPage([ai.item_to_entry(item) for item in page], next_cursor)

    def get_entry(self, client_id: str, entry_id: str) -> AuditEntry | None:
        item = self._table.get_item(Key=ai.entry_key(client_id, entry_id), ConsistentRead=True).get("Item")
        return ai.item_to_entry(item) if item else None

    def decisions_for(self, client_id: str, approval_id: str) -> list[AuditEntry]:
        response = self._table.query(
            IndexName=GSI1,
            KeyConditionExpression=f"{GSI1_PK} = :pk",
            ExpressionAttributeValues={":pk": ai.decision_gsi1(approval_id)},
        )
        entries = [ai.item_to_entry(item) for item in as_items(response.get("Items"))]
        return sorted((e for e in entries if e.client_id == client_id), key=lambda e: e.entry_id)

    def file_references(self, client_id: str, dfns_ids: Sequence[str]) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=[PK, SK]) as batch:
            for dfns_id in dict.fromkeys(dfns_ids):
                batch.put_item(
                    Item={**ai.directory_key(dfns_id), "type": "dfnsReference", "clientId": client_id}
                )

    def client_for(self, dfns_id: str) -> str | None:
        item = self._table.get_item(Key=ai.directory_key(dfns_id), ConsistentRead=True).get("Item")
        return str(item["clientId"]) if item else None

    def ingest_watermark(self) -> datetime | None:
        item = self._table.get_item(Key=ai.WATERMARK_KEY, ConsistentRead=True).get("Item")
        return parse_iso(item["through"]) if item else None

    def advance_watermark(self, previous: datetime | None, through: datetime) -> bool:
        condition = "attribute_not_exists(#pk)" if previous is None else "#through = :previous"
        values: dict[str, Any] = {":through": iso(through)}
        names = {"#through": "through"} | ({"#pk": PK} if previous is None else {})
        if previous is not None:
            values[":previous"] = iso(previous)
        try:
            self._table.update_item(
                Key=ai.WATERMARK_KEY,
                UpdateExpression="SET #through = :through",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True


class DynamoPolicyRegistry:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record_shared_policies(self, policies: SharedPolicyIds) -> None:
        self._table.put_item(Item=ai.shared_policies_to_item(policies))

    def shared_policies(self) -> SharedPolicyIds | None:
        item = self._table.get_item(Key=ai.SHARED_POLICIES_KEY, ConsistentRead=True).get("Item")
        return ai.item_to_shared_policies(item) if item else None
