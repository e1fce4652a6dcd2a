"""Data access for accounts, destination requests and the approved-destination mirror.

``AccountsRepository`` is the port the logic uses; ``DynamoAccountsRepository`` implements it on the
single table of ``data/schema.py`` (layout in ``data/items.py``). Every read-modify-write is a
conditional write or a transaction; a lost condition becomes a domain error (``ConcurrentUpdate``,
``Conflict``, ``NotFound``) so nothing is overwritten silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from managed_accounts.data import items as it
from managed_accounts.data.paging import decode_cursor, encode_cursor, iter_pages
from managed_accounts.data.schema import GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK
from managed_accounts.data.transitions import RequestTransitions
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.models import (
    Account,
    ApprovedDestination,
    DestinationRequest,
    PendingEntry,
    RequestPage,
)
from managed_accounts.domain.ports import AccountsRepository, Outcome
from managed_accounts.errors import ConcurrentUpdate

_MAX_PAGES_PER_LISTING = 10

__all__ = ["AccountsRepository", "DynamoAccountsRepository", "Outcome"]


def _is_cancelled(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "TransactionCanceledException"


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


_ONBOARDING_FIELDS = (
    "status",
    "network",
    "walletId",
    "address",
    "whitelistPolicyId",
    "walletCreateStarted",
    "policyCreateStarted",
    "onboardingLeaseUntil",
    GSI1_PK,
    GSI1_SK,
    "updatedAt",
)


def _set_or_remove(item: dict[str, Any], fields: Sequence[str]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """An update that sets each field present in ``item``, removes the others, and bumps the version."""
    sets = [f"#{i} = :{i}" for i, name in enumerate(fields) if name in item]
    removes = [f"#{i}" for i, name in enumerate(fields) if name not in item]
    names = {f"#{i}": name for i, name in enumerate(fields)}
    values = {f":{i}": item[name] for i, name in enumerate(fields) if name in item}
    expression = "SET " + ", ".join([*sets, "version = version + :one"])
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return expression, names, values


class DynamoAccountsRepository:
    """``table`` is a boto3 DynamoDB ``Table`` resource; its client serialises native Python values."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self._transitions = RequestTransitions(table.name, table.meta.client)

    # --- accounts -----------------------------------------------------------------------------------

    def get_account(self, client_id: str) -> Account | None:
        item = self._table.get_item(Key=it.account_key(client_id), ConsistentRead=True).get("Item")
        return it.item_to_account(item) if item else None

    def create_account(self, account: Account) -> bool:
        try:
            self._table.put_item(
                Item=it.account_to_item(account), ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def update_onboarding(self, account: Account, *, events: Sequence[DomainEvent] = ()) -> Account:
        """Writes the onboarding fields of ``account`` if the stored version is still ``account.version``
        (with ``events`` in the same transaction)."""
        expression, names, values = _set_or_remove(it.account_to_item(account), _ONBOARDING_FIELDS)
        update = {
            "Key": it.account_key(account.client_id),
            "UpdateExpression": expression,
            "ConditionExpression": "version = :expected",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {**values, ":one": 1, ":expected": account.version},
        }
        try:
            if events:
                update_item = {"Update": {"TableName": self._table.name, **update}}
                outbox = self._transitions.outbox_puts(events)
                self._client.transact_write_items(TransactItems=[update_item, *outbox])
            else:
                self._table.update_item(**update)
        except ClientError as error:
            if _is_condition_failure(error) or _is_cancelled(error):
                raise ConcurrentUpdate("the account changed meanwhile") from error
            raise
        return replace(account, version=account.version + 1)

    def get_account_by_wallet(self, wallet_id: str) -> Account | None:
        response = self._table.query(
            IndexName=GSI1,
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": it.wallet_gsi1(wallet_id)},
        )
        found = it.as_items(response.get("Items"))
        return it.item_to_account(found[0]) if found else None

    def iter_accounts(self) -> Iterator[Account]:
        items = iter_pages(
            self._table.scan, FilterExpression="SK = :sk", ExpressionAttributeValues={":sk": it.ACCOUNT_SK}
        )
        return (it.item_to_account(item) for item in items)

    # --- claim --------------------------------------------------------------------------------------

    def claim_change(self, client_id: str, batch_id: str, now: datetime, stale_before: datetime) -> bool:
        """Takes the change slot if free, or held by a never-submitted batch older than the lease. True
        too if ``batch_id`` holds it already: the SDK retries a write DynamoDB applied but answered with an
        error, and the retry's condition then fails on the claim the first attempt took."""
        try:
            self._table.update_item(
                Key=it.account_key(client_id),
                UpdateExpression="SET claimBatchId = :b, claimedAt = :now, version = version + :one "
                "REMOVE claimApprovalId, claimChangeRequestId",
                ConditionExpression="#status = :active AND (attribute_not_exists(claimBatchId) OR "
                "(attribute_not_exists(claimApprovalId) AND claimedAt < :stale))",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":b": batch_id,
                    ":now": it.iso(now),
                    ":one": 1,
                    ":active": "active",
                    ":stale": it.iso(stale_before),
                },
            )
        except ClientError as error:
            if _is_condition_failure(error):
                item = self._table.get_item(Key=it.account_key(client_id), ConsistentRead=True).get("Item")
                return bool(item and item.get("claimBatchId") == batch_id)
            raise
        return True

    def release_claim(self, client_id: str, batch_id: str) -> None:
        """Frees the slot if ``batch_id`` still holds it and was never submitted (a no-op otherwise): a
        submitted batch's claim goes only with its resolution, so that a failure after the submission
        (e.g. a write applied but answered with an error) never lets a second change go out beside it."""
        try:
            self._table.update_item(
                Key=it.account_key(client_id),
                UpdateExpression="SET version = version + :one "
                "REMOVE claimBatchId, claimedAt, claimApprovalId, claimChangeRequestId",
                ConditionExpression="claimBatchId = :b AND attribute_not_exists(claimApprovalId)",
                ExpressionAttributeValues={":b": batch_id, ":one": 1},
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    # --- requests -----------------------------------------------------------------------------------

    def create_request(self, request: DestinationRequest, *, events: Sequence[DomainEvent] = ()) -> None:
        self._transitions.create(request, events)

    def get_request(self, client_id: str, request_id: str) -> DestinationRequest | None:
        key = it.request_key(client_id, request_id)
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return it.item_to_request(item) if item else None

    def get_requests(self, client_id: str, request_ids: Sequence[str]) -> list[DestinationRequest]:
        found = [self.get_request(client_id, request_id) for request_id in request_ids]
        return [request for request in found if request is not None]

    def list_requests(
        self, client_id: str, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> RequestPage:
        """Newest first. The cursor is the sort key of the last item returned, so a status filter that
        skips items never loses or repeats one."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": it.client_pk(client_id), ":prefix": it.REQUEST_PREFIX},
            "ScanIndexForward": False,
            "Limit": max(limit + 1, 25),
        }
        if status:
            kwargs["FilterExpression"] = "#status = :status"
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
            kwargs["ExpressionAttributeValues"][":status"] = status
        if cursor:
            kwargs["ExclusiveStartKey"] = {PK: it.client_pk(client_id), SK: decode_cursor(client_id, cursor)}
        matches: list[it.Item] = []
        for _ in range(_MAX_PAGES_PER_LISTING):
            response = self._table.query(**kwargs)
            matches.extend(it.as_items(response.get("Items")))
            last = response.get("LastEvaluatedKey")
            if len(matches) > limit:
                page = matches[:limit]
                return RequestPage(
                    [it.item_to_request(i) for i in page], encode_cursor(client_id, page[-1][SK])
                )
            if not last:
                return RequestPage([it.item_to_request(i) for i in matches], None)
            kwargs["ExclusiveStartKey"] = last
        # Many filtered-out items: hand back what was found and a cursor to continue from.
        return RequestPage([it.item_to_request(i) for i in matches], encode_cursor(client_id, str(last[SK])))

    def list_pending(self, client_id: str) -> list[PendingEntry]:
        response = self._table.query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": it.client_pk(client_id), ":prefix": it.PENDING_PREFIX},
            ConsistentRead=True,
        )
        entries = [it.item_to_pending(item) for item in it.as_items(response.get("Items"))]
        return sorted(entries, key=lambda e: (e.created_at, e.request_id))

    def find_requests_by_approval(self, approval_id: str) -> list[DestinationRequest]:
        response = self._table.query(
            IndexName=GSI1,
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": it.approval_gsi1(approval_id)},
        )
        return [it.item_to_request(item) for item in it.as_items(response.get("Items"))]

    def mark_submitted(
        self,
        client_id: str,
        batch_id: str,
        requests: Sequence[DestinationRequest],
        *,
        change_request_id: str,
        approval_id: str,
        now: datetime,
        events: Sequence[DomainEvent] = (),
    ) -> None:
        self._transitions.submit(
            client_id,
            batch_id,
            requests,
            change_request_id=change_request_id,
            approval_id=approval_id,
            now=now,
            events=events,
        )

    def resolve_requests(
        self,
        client_id: str,
        requests: Sequence[DestinationRequest],
        *,
        outcome: Outcome,
        now: datetime,
        reason: str | None = None,
        ungoverned: bool = False,
        release_batch_id: str | None = None,
        events: Sequence[DomainEvent] = (),
    ) -> None:
        self._transitions.resolve(
            client_id,
            requests,
            outcome=outcome,
            now=now,
            reason=reason,
            ungoverned=ungoverned,
            release_batch_id=release_batch_id,
            events=events,
        )

    def iter_submitted_approval_ids(self) -> Iterator[tuple[str, str]]:
        """(clientId, approvalId) of every submitted batch, oldest first, each pair once."""
        seen: set[tuple[str, str]] = set()
        for item in self._iter_queue(it.SUBMITTED_QUEUE):
            pair = (str(item["clientId"]), str(item["approvalId"]))
            if pair not in seen:
                seen.add(pair)
                yield pair

    def iter_clients_with_queued_requests(self) -> Iterator[str]:
        """Clients with requests waiting to be submitted (e.g. after Dfns was down): each once."""
        seen: set[str] = set()
        for item in self._iter_queue(it.QUEUED_QUEUE):
            client_id = str(item["clientId"])
            if client_id not in seen:
                seen.add(client_id)
                yield client_id

    def _iter_queue(self, queue: str) -> Iterator[it.Item]:
        return iter_pages(
            self._table.query,
            IndexName=GSI2,
            KeyConditionExpression=f"{GSI2_PK} = :pk",
            ExpressionAttributeValues={":pk": queue},
            ProjectionExpression=f"clientId, approvalId, {GSI2_SK}",
        )

    # --- mirror -------------------------------------------------------------------------------------

    def list_destinations(self, client_id: str) -> list[ApprovedDestination]:
        items = iter_pages(
            self._table.query,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": it.client_pk(client_id), ":prefix": it.DEST_PREFIX},
        )
        return [it.item_to_destination(item) for item in items]

    def get_destination(self, client_id: str, address: str) -> ApprovedDestination | None:
        item = self._table.get_item(Key=it.destination_key(client_id, address)).get("Item")
        return it.item_to_destination(item) if item else None

    # --- the outbox of domain events ---------------------------------------------------------------

    def list_outbox(self, *, older_than: datetime, limit: int = 100) -> list[DomainEvent]:
        """Committed events not yet published, oldest first, written before ``older_than``."""
        response = self._table.query(
            KeyConditionExpression="PK = :pk AND SK < :before",
            ExpressionAttributeValues={":pk": it.OUTBOX_PK, ":before": it.iso(older_than)},
            Limit=limit,
            ConsistentRead=True,
        )
        return [it.item_to_event(item) for item in it.as_items(response.get("Items"))]

    def delete_outbox(self, events: Sequence[DomainEvent]) -> None:
        with self._table.batch_writer() as batch:
            for event in events:
                batch.delete_item(Key=it.outbox_key(event))
