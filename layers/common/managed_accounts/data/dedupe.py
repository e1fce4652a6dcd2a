"""The webhook de-duplication store: one item per business fact already acted on.

A fact is an object id plus what happened to it (``ap-1`` + ``Approved``, ``xfr-9`` + ``Confirmed``),
never a webhook event id: Dfns retries arrive as new events with new ids (DFNS.md §7.5). Items live
on the main table (``PK = EVENT#<objectId>``, ``SK = <fact>``) and expire through the table's TTL.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from managed_accounts.data.schema import PK, SK, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# Dfns retries for about a day (DFNS.md §7.5); a week covers that with room for late duplicates.
DEFAULT_TTL_SECONDS = 7 * 24 * 3600


def _epoch(now: datetime) -> int:
    return int(now.timestamp())


class DynamoDedupeStore:
    """The ``FactStore`` port of ``domain/webhooks.py``: claims a fact once; ``release`` undoes a claim
    whose processing failed, so a retry can act.

    Conditional puts on the main table (a boto3 ``Table`` resource, as the repository uses). An item
    past ``expiresAt`` counts as absent, because DynamoDB deletes expired items lazily (up to days later).
    """

    def __init__(
        self,
        table: Table,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._table = table
        self._ttl = ttl_seconds
        self._now = now

    @staticmethod
    def _key(object_id: str, fact: str) -> dict[str, str]:
        return {PK: f"EVENT#{object_id}", SK: fact}

    def seen(self, object_id: str, fact: str) -> bool:
        item = self._table.get_item(Key=self._key(object_id, fact), ConsistentRead=True).get("Item")
        if item is None:
            return False
        expires = item.get(TTL_ATTRIBUTE)
        return expires is None or int(str(expires)) > _epoch(self._now())

    def claim(self, object_id: str, fact: str) -> bool:
        """True if this call claimed the fact. Each claim carries a random token: a claim DynamoDB applied
        but answered with an error fails the SDK's retry on its own condition, and the token tells that
        from a rival's claim (which would make the fact a duplicate, never acted on)."""
        now, token = _epoch(self._now()), secrets.token_hex(8)
        key = self._key(object_id, fact)
        try:
            self._table.put_item(
                Item={**key, TTL_ATTRIBUTE: now + self._ttl, "claimedAt": now, "claimToken": token},
                ConditionExpression="attribute_not_exists(#pk) OR #exp <= :now",
                ExpressionAttributeNames={"#pk": PK, "#exp": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": now},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
            return item.get("claimToken") == token
        except Exception:
            # Perhaps applied, with every retry failing after: undo this claim (only this one), so that
            # Dfns's retry of the webhook can act instead of finding a "duplicate".
            with contextlib.suppress(Exception):
                self._table.delete_item(
                    Key=key,
                    ConditionExpression="claimToken = :token",
                    ExpressionAttributeValues={":token": token},
                )
            raise
        return True

    def release(self, object_id: str, fact: str) -> None:
        self._table.delete_item(Key=self._key(object_id, fact))
