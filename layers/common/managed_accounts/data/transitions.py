"""The destination-request state changes, each one DynamoDB transaction (all items or none).

A transaction holds at most 100 items; a batch of N requests needs at most 4N + 1 (request, pending
guard, mirror, outbox event; client record), which is why the domain caps a batch (``MAX_BATCH``);
the writes here check that cap rather than trust it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from managed_accounts.data import items as it
from managed_accounts.data.schema import GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK
from managed_accounts.domain.destination_batches import MAX_BATCH
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.models import ApprovedDestination, DestinationRequest
from managed_accounts.errors import (
    AccountNotReady,
    AlreadyPending,
    ConcurrentUpdate,
    Conflict,
    DomainError,
    NotFound,
)


def _cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


def _is_cancelled(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "TransactionCanceledException"


def _create_refusal(request: DestinationRequest, codes: list[str]) -> DomainError:
    """Why ``create``'s transaction was refused, from the position of the failed condition."""
    failed = {i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"}
    if 3 in failed:
        return AccountNotReady("the account is not active yet")
    if 1 in failed:
        return AlreadyPending(f"{request.address} already has a pending request")
    if 2 in failed and request.action == "add":
        return Conflict(f"{request.address} is already an approved destination")
    if 2 in failed:
        return NotFound(f"{request.address} is not an approved destination")
    return ConcurrentUpdate("the request could not be stored; retry")


class RequestTransitions:
    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def outbox_puts(self, events: Sequence[DomainEvent]) -> list[dict[str, Any]]:
        """The events a transaction commits with its state change (published afterwards)."""
        return [{"Put": {"TableName": self._table, "Item": it.event_to_item(e)}} for e in events]

    def _write(self, items: list[dict[str, Any]], events: Sequence[DomainEvent] = ()) -> None:
        items = [*items, *self.outbox_puts(events)]
        if len(items) > 4 * MAX_BATCH + 1:
            raise ValueError(f"a batch is capped at {MAX_BATCH} requests ({len(items)} writes asked)")
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _is_cancelled(error):
                raise ConcurrentUpdate("the destination requests changed meanwhile") from error
            raise

    def create(self, request: DestinationRequest, events: Sequence[DomainEvent] = ()) -> None:
        """The request, its pending guard, and the checks that make a duplicate a 409, in one transaction."""
        destination_condition = (
            "attribute_not_exists(PK)" if request.action == "add" else "attribute_exists(PK)"
        )
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": it.request_to_item(request),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": it.pending_to_item(request),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": it.destination_key(request.client_id, request.address),
                    "ConditionExpression": destination_condition,
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": it.account_key(request.client_id),
                    "ConditionExpression": "#status = :active",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":active": "active"},
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=[*items, *self.outbox_puts(events)])
        except ClientError as error:
            if not _is_cancelled(error):
                raise
            raise _create_refusal(request, _cancellation_codes(error)) from error

    def submit(
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
        """queued -> submitted for the batch, and the claim records which approval it waits for."""
        stamp = it.iso(now)
        items: list[dict[str, Any]] = []
        for request in requests:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": it.request_key(client_id, request.request_id),
                        "UpdateExpression": "SET #status = :submitted, changeRequestId = :cr, "
                        "approvalId = :ap, submittedAt = :now, updatedAt = :now, "
                        f"{GSI1_PK} = :g1pk, {GSI1_SK} = :g1sk, {GSI2_PK} = :g2pk, {GSI2_SK} = :g2sk",
                        "ConditionExpression": "#status = :queued",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":submitted": "submitted",
                            ":queued": "queued",
                            ":cr": change_request_id,
                            ":ap": approval_id,
                            ":now": stamp,
                            ":g1pk": it.approval_gsi1(approval_id),
                            ":g1sk": it.REQUEST_PREFIX + request.request_id,
                            ":g2pk": it.SUBMITTED_QUEUE,
                            ":g2sk": f"{stamp}#{request.request_id}",
                        },
                    }
                }
            )
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": it.pending_key(client_id, request.address),
                        "UpdateExpression": "SET #state = :submitted",
                        "ConditionExpression": "requestId = :rid",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {":submitted": "submitted", ":rid": request.request_id},
                    }
                }
            )
        items.append(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": it.account_key(client_id),
                    "UpdateExpression": "SET claimApprovalId = :ap, claimChangeRequestId = :cr, "
                    "version = version + :one",
                    "ConditionExpression": "claimBatchId = :b",
                    "ExpressionAttributeValues": {
                        ":ap": approval_id,
                        ":cr": change_request_id,
                        ":b": batch_id,
                        ":one": 1,
                    },
                }
            }
        )
        try:
            self._write(items, events)
        except ConcurrentUpdate:
            # The SDK retries a transaction DynamoDB applied but answered with an error; the retry is then
            # cancelled by the first attempt's own writes. The claim tells: it waits for this approval.
            if self._claim_of(client_id) != (batch_id, approval_id):
                raise

    def _claim_of(self, client_id: str) -> tuple[Any, Any]:
        item = self._client.get_item(
            TableName=self._table,
            Key=it.account_key(client_id),  # the table's client (de)serialises plain values
            ConsistentRead=True,
            ProjectionExpression="claimBatchId, claimApprovalId",
        ).get("Item", {})
        return item.get("claimBatchId"), item.get("claimApprovalId")

    def resolve(
        self,
        client_id: str,
        requests: Sequence[DestinationRequest],
        *,
        outcome: Literal["approved", "rejected", "failed"],
        now: datetime,
        reason: str | None,
        ungoverned: bool,
        release_batch_id: str | None,
        events: Sequence[DomainEvent] = (),
    ) -> None:
        """Each request moves from its current state (queued or submitted) to ``outcome``; its pending guard
        goes; an approval updates the mirror; the claim is released when asked."""
        stamp = it.iso(now)
        items: list[dict[str, Any]] = []
        for request in requests:
            values: dict[str, Any] = {
                ":outcome": outcome,
                ":from": request.status,
                ":now": stamp,
                ":ungoverned": ungoverned,
            }
            expression = (
                "SET #status = :outcome, resolvedAt = :now, updatedAt = :now, ungoverned = :ungoverned"
            )
            if reason:
                expression += ", reason = :reason"
                values[":reason"] = reason
            condition = "#status = :from"
            if request.approval_id:
                condition += " AND approvalId = :ap"
                values[":ap"] = request.approval_id
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": it.request_key(client_id, request.request_id),
                        "UpdateExpression": f"{expression} REMOVE {GSI2_PK}, {GSI2_SK}",
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": values,
                    }
                }
            )
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": it.pending_key(client_id, request.address),
                        "ConditionExpression": "requestId = :rid",
                        "ExpressionAttributeValues": {":rid": request.request_id},
                    }
                }
            )
            if outcome == "approved":
                items.append(self._mirror_change(request, now))
        if release_batch_id:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": it.account_key(client_id),
                        "UpdateExpression": "SET version = version + :one "
                        "REMOVE claimBatchId, claimedAt, claimApprovalId, claimChangeRequestId",
                        "ConditionExpression": "claimBatchId = :b",
                        "ExpressionAttributeValues": {":b": release_batch_id, ":one": 1},
                    }
                }
            )
        self._write(items, events)

    def _mirror_change(self, request: DestinationRequest, now: datetime) -> dict[str, Any]:
        if request.action == "remove":
            return {
                "Delete": {
                    "TableName": self._table,
                    "Key": it.destination_key(request.client_id, request.address),
                }
            }
        destination = ApprovedDestination(
            client_id=request.client_id,
            address=request.address,
            network=request.network,
            approved_at=now,
            request_id=request.request_id,
            label=request.label,
            approval_id=request.approval_id,
        )
        return {"Put": {"TableName": self._table, "Item": it.destination_to_item(destination)}}
