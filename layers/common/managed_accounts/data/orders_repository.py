"""``OrdersRepository`` on the main table (layout in ``data/orders_items.py``).

Mandates and orders carry a ``version``: every write is conditional on the version read, so a lost race
is a ``ConcurrentUpdate``, never a silent overwrite. An order's change and the domain events it reports
are one transaction (the outbox). The run record's breaker counters are atomic updates (no transaction:
every worker touches the run item, and concurrent transactions on one item would conflict).

A write that DynamoDB applied but answered with an error is retried by the SDK, and the retry then fails
its own condition. Before calling that a lost race, the item is read back: if it is what this write put,
the write succeeded. Every write of an order or a mandate carries a new random ``revision``, so that is
exact; a run (created once, then changed by atomic updates) is compared whole: its microsecond creation
time tells two starts apart.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from managed_accounts.data import items as it
from managed_accounts.data import orders_items as oi
from managed_accounts.data.paging import decode_cursor, encode_cursor, iter_pages
from managed_accounts.data.schema import GSI1, GSI2, GSI2_PK, GSI2_SK, PK, SK
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.trading import Mandate, MandatePage, Order, OrderPage, OrderRun
from managed_accounts.errors import ConcurrentUpdate, NotFound

_BATCH_GET = 100  # BatchGetItem takes at most 100 keys


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _lost_race(error: ClientError) -> bool:
    return _code(error) in ("ConditionalCheckFailedException", "TransactionCanceledException")


def _written_by(stored: Mandate | Order | None, write: Mandate | Order) -> bool:
    """Whether the stored item is ``write`` itself (its revision), e.g. applied with its answer lost."""
    return stored is not None and stored.revision == write.revision


class DynamoOrdersRepository:
    """``table`` is a boto3 DynamoDB ``Table`` resource."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client  # the resource's client: it serialises native values too

    # --- mandates -----------------------------------------------------------------------------------

    def get_mandate(self, client_id: str) -> Mandate | None:
        item = self._table.get_item(Key=oi.mandate_key(client_id), ConsistentRead=True).get("Item")
        return oi.item_to_mandate(item) if item else None

    def save_mandate(self, mandate: Mandate, *, expected_version: int | None) -> Mandate:
        saved = replace(mandate, version=(expected_version or 0) + 1, revision=secrets.token_hex(8))
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(PK)"}
            if expected_version is None
            else {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": expected_version},
            }
        )
        try:
            self._table.put_item(Item=oi.mandate_to_item(saved), **condition)
        except ClientError as error:
            if _lost_race(error) and _written_by(self.get_mandate(mandate.client_id), saved):
                return saved  # this write, applied and its answer lost
            if _lost_race(error):
                raise ConcurrentUpdate("the trading authorisation changed meanwhile; retry") from error
            raise
        return saved

    def list_planned_mandates(self, *, limit: int, cursor: str | None = None) -> MandatePage:
        kwargs: dict[str, Any] = {
            "IndexName": GSI2,
            "KeyConditionExpression": f"{GSI2_PK} = :q",
            "ExpressionAttributeValues": {":q": oi.MANDATES_QUEUE},
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {
                **oi.mandate_key(cursor),
                GSI2_PK: oi.MANDATES_QUEUE,
                GSI2_SK: cursor,
            }
        response = self._table.query(**kwargs)
        mandates = [oi.item_to_mandate(i) for i in it.as_items(response.get("Items"))]
        more = "LastEvaluatedKey" in response and mandates
        return MandatePage(mandates, mandates[-1].client_id if more else None)

    # --- runs ---------------------------------------------------------------------------------------

    def create_run(self, run: OrderRun) -> bool:
        try:
            self._table.put_item(Item=oi.run_to_item(run), ConditionExpression="attribute_not_exists(PK)")
        except ClientError as error:
            if _lost_race(error):
                return self.get_run(run.run_id) == run  # True: this write, applied and its answer lost
            raise
        return True

    def get_run(self, run_id: str) -> OrderRun | None:
        item = self._table.get_item(Key=oi.run_key(run_id), ConsistentRead=True).get("Item")
        return oi.item_to_run(item) if item else None

    def begin_replay(self, run_id: str, now: datetime) -> OrderRun:
        try:
            response = self._table.update_item(
                Key=oi.run_key(run_id),
                UpdateExpression="SET replays = replays + :one, breakerOpen = :false, "
                "consecutiveFailures = :zero, #status = :planning, updatedAt = :now REMOVE breakerOpenedAt",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":one": 1,
                    ":false": False,
                    ":zero": 0,
                    ":planning": "planning",
                    ":now": it.iso(now),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _lost_race(error):
                raise NotFound("no such order run") from error
            raise
        return oi.item_to_run(response["Attributes"])

    def finish_planning(self, run_id: str, planned: int, now: datetime) -> None:
        self._table.update_item(
            Key=oi.run_key(run_id),
            UpdateExpression="SET #status = :planned, planned = :n, plannedAt = :now, updatedAt = :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":planned": "planned", ":n": planned, ":now": it.iso(now)},
        )

    def record_dfns_failure(self, run_id: str, *, threshold: int, now: datetime) -> bool:
        """Counts an outage; True when the breaker is open (this one reached the threshold, or it was)."""
        response = self._table.update_item(
            Key=oi.run_key(run_id),
            UpdateExpression="ADD consecutiveFailures :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="ALL_NEW",
        )
        run = oi.item_to_run(response["Attributes"])
        if run.breaker_open or run.consecutive_failures < threshold:
            return run.breaker_open
        try:
            self._table.update_item(
                Key=oi.run_key(run_id),
                UpdateExpression="SET breakerOpen = :true, breakerOpenedAt = :now",
                ConditionExpression="breakerOpen = :false",
                ExpressionAttributeValues={":true": True, ":false": False, ":now": it.iso(now)},
            )
        except ClientError as error:
            if not _lost_race(error):
                raise
        return True

    def record_dfns_success(self, run_id: str) -> None:
        try:
            self._table.update_item(
                Key=oi.run_key(run_id),
                UpdateExpression="SET consecutiveFailures = :zero",
                ConditionExpression="breakerOpen = :false AND consecutiveFailures > :zero",
                ExpressionAttributeValues={":zero": 0, ":false": False},
            )
        except ClientError as error:
            if not _lost_race(error):
                raise

    # --- orders -------------------------------------------------------------------------------------

    def create_order(self, order: Order) -> bool:
        order = replace(order, revision=secrets.token_hex(8))
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": oi.order_to_item(order),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {"Put": {"TableName": self._table.name, "Item": oi.external_id_item(order)}},
                ]
            )
        except ClientError as error:
            if _lost_race(error):
                return _written_by(self._stored(order), order)  # True: this write, its answer lost
            raise
        return True

    def _stored(self, order: Order) -> Order | None:
        return self.get_order(order.client_id, order.run_id, order.run_created_at)

    def get_order(self, client_id: str, run_id: str, run_created_at: datetime) -> Order | None:
        key = oi.order_key(client_id, run_id, run_created_at)
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return oi.item_to_order(item) if item else None

    def get_orders(self, run: OrderRun, client_ids: Sequence[str]) -> dict[str, Order]:
        found: dict[str, Order] = {}
        keys = [oi.order_key(c, run.run_id, run.created_at) for c in dict.fromkeys(client_ids)]
        for start in range(0, len(keys), _BATCH_GET):
            request: dict[str, Any] = {
                self._table.name: {"Keys": keys[start : start + _BATCH_GET], "ConsistentRead": True}
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table.name, []):
                    order = oi.item_to_order(item)
                    found[order.client_id] = order
                request = response.get("UnprocessedKeys") or {}
        return found

    def save_order(self, order: Order, *, expected_version: int, events: Sequence[DomainEvent] = ()) -> Order:
        saved = replace(order, version=expected_version + 1, revision=secrets.token_hex(8))
        put = {
            "TableName": self._table.name,
            "Item": oi.order_to_item(saved),
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": expected_version},
        }
        try:
            if events:
                outbox = [
                    {"Put": {"TableName": self._table.name, "Item": it.event_to_item(e)}} for e in events
                ]
                self._client.transact_write_items(TransactItems=[{"Put": put}, *outbox])
            else:
                self._client.put_item(**put)
        except ClientError as error:
            if _lost_race(error) and _written_by(self._stored(saved), saved):
                return saved  # this write, applied and its answer lost
            if _lost_race(error):
                raise ConcurrentUpdate("the order changed meanwhile") from error
            raise
        return saved

    def find_order_by_external_id(self, client_id: str, external_id: str) -> Order | None:
        key = oi.external_id_key(client_id, external_id)
        pointer = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        if not pointer:
            return None
        item = self._table.get_item(
            Key={PK: it.client_pk(client_id), SK: str(pointer["orderSk"])}, ConsistentRead=True
        ).get("Item")
        return oi.item_to_order(item) if item else None

    def list_orders(self, client_id: str, *, limit: int = 20, cursor: str | None = None) -> OrderPage:
        """Newest run first."""
        upper = decode_cursor(client_id, cursor, oi.ORDER_PREFIX) if cursor else oi.ORDER_PREFIX_END
        response = self._table.query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :from AND :to",
            ExpressionAttributeValues={
                ":pk": it.client_pk(client_id),
                ":from": oi.ORDER_PREFIX,
                ":to": upper,
            },
            ScanIndexForward=False,
            Limit=limit + (2 if cursor else 1),  # the cursor's own item comes back first: dropped below
        )
        found = [i for i in it.as_items(response.get("Items")) if i[SK] != upper]
        page = found[:limit]
        more = len(found) > limit or ("LastEvaluatedKey" in response and len(page) == limit)
        next_cursor = encode_cursor(client_id, str(page[-1][SK]), oi.ORDER_PREFIX) if more and page else None
        return OrderPage([oi.item_to_order(i) for i in page], next_cursor)

    def iter_client_orders(self, client_id: str, *, runs_since: datetime) -> Iterator[Order]:
        items = iter_pages(
            self._table.query,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :from AND :to",
            ExpressionAttributeValues={
                ":pk": it.client_pk(client_id),
                ":from": oi.ORDER_PREFIX + it.iso(runs_since),
                ":to": oi.ORDER_PREFIX_END,
            },
            ConsistentRead=True,
        )
        return (oi.item_to_order(i) for i in items)

    def iter_run_orders(self, run_id: str) -> Iterator[Order]:
        items = iter_pages(
            self._table.query,
            IndexName=GSI1,
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": oi.run_gsi1(run_id)},
        )
        return (oi.item_to_order(i) for i in items)

    def iter_open_orders(self) -> Iterator[Order]:
        items = iter_pages(
            self._table.query,
            IndexName=GSI2,
            KeyConditionExpression=f"{GSI2_PK} = :q",
            ExpressionAttributeValues={":q": oi.OPEN_ORDERS_QUEUE},
        )
        return (oi.item_to_order(i) for i in items)
