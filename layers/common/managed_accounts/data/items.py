"""DynamoDB item layout of the accounts table and the mapping to domain models.

Per client, under ``PK = CLIENT#<clientId>``:
- ``SK = ACCOUNT``: the client record (GSI1 ``WALLET#<walletId>`` once the wallet exists); it also holds
  the claim on the one destination change in flight (``claim*`` attributes).
- ``SK = REQ#<requestId>``: a destination request; request ids sort by creation time. GSI1
  ``APPROVAL#<approvalId>`` once submitted; GSI2 ``QUEUED`` / ``SUBMITTED`` while in those states.
- ``SK = PENDING#<address>``: one per address with a request in flight, so an address cannot be pending
  twice (written in the same transaction as the request); also the client's work queue.
- ``SK = DEST#<address>``: the mirror of an approved destination.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from managed_accounts.data.schema import GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, PK, SK
from managed_accounts.domain.events import DomainEvent, DomainEventType
from managed_accounts.domain.models import (
    Account,
    ApprovedDestination,
    Claim,
    DestinationRequest,
    PendingEntry,
)

ACCOUNT_SK = "ACCOUNT"
REQUEST_PREFIX = "REQ#"
PENDING_PREFIX = "PENDING#"
DEST_PREFIX = "DEST#"
QUEUED_QUEUE = "QUEUED"
SUBMITTED_QUEUE = "SUBMITTED"
# Domain events committed with the state change they report, until published (one partition: a
# handful of rows at any time, each deleted once EventBridge took it).
OUTBOX_PK = "OUTBOX"

Item = dict[str, Any]


def iso(moment: datetime) -> str:
    """One fixed UTC format, so stored timestamps also compare correctly as strings."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _opt_dt(value: Any) -> datetime | None:
    return parse_iso(value) if value else None


def _opt_str(value: Any) -> str | None:
    return str(value) if value is not None else None


def client_pk(client_id: str) -> str:
    return f"CLIENT#{client_id}"


def account_key(client_id: str) -> Item:
    return {PK: client_pk(client_id), SK: ACCOUNT_SK}


def request_key(client_id: str, request_id: str) -> Item:
    return {PK: client_pk(client_id), SK: REQUEST_PREFIX + request_id}


def pending_key(client_id: str, address: str) -> Item:
    return {PK: client_pk(client_id), SK: PENDING_PREFIX + address}


def destination_key(client_id: str, address: str) -> Item:
    return {PK: client_pk(client_id), SK: DEST_PREFIX + address}


def wallet_gsi1(wallet_id: str) -> str:
    return f"WALLET#{wallet_id}"


def approval_gsi1(approval_id: str) -> str:
    return f"APPROVAL#{approval_id}"


# --- accounts ---------------------------------------------------------------------------------------


def account_to_item(account: Account) -> Item:
    item: Item = {
        **account_key(account.client_id),
        "type": "account",
        "clientId": account.client_id,
        "status": account.status,
        "network": account.network,
        "limitProfile": account.limit_profile,
        "createdAt": iso(account.created_at),
        "updatedAt": iso(account.updated_at),
        "version": account.version,
        "walletCreateStarted": account.wallet_create_started,
        "policyCreateStarted": account.policy_create_started,
    }
    optional = {
        "walletId": account.wallet_id,
        "address": account.address,
        "whitelistPolicyId": account.whitelist_policy_id,
    }
    item.update({k: v for k, v in optional.items() if v is not None})
    if account.wallet_id:
        item[GSI1_PK], item[GSI1_SK] = wallet_gsi1(account.wallet_id), ACCOUNT_SK
    if account.onboarding_lease_until:
        item["onboardingLeaseUntil"] = iso(account.onboarding_lease_until)
    return item


def item_to_account(item: Item) -> Account:
    claim = None
    if item.get("claimBatchId"):
        claim = Claim(
            batch_id=str(item["claimBatchId"]),
            claimed_at=parse_iso(item["claimedAt"]),
            approval_id=_opt_str(item.get("claimApprovalId")),
            change_request_id=_opt_str(item.get("claimChangeRequestId")),
        )
    return Account(
        client_id=str(item["clientId"]),
        status=item["status"],
        network=str(item["network"]),
        limit_profile=str(item["limitProfile"]),
        created_at=parse_iso(item["createdAt"]),
        updated_at=parse_iso(item["updatedAt"]),
        version=int(item["version"]),
        wallet_id=_opt_str(item.get("walletId")),
        address=_opt_str(item.get("address")),
        whitelist_policy_id=_opt_str(item.get("whitelistPolicyId")),
        wallet_create_started=bool(item.get("walletCreateStarted", False)),
        policy_create_started=bool(item.get("policyCreateStarted", False)),
        onboarding_lease_until=_opt_dt(item.get("onboardingLeaseUntil")),
        claim=claim,
    )


# --- destination requests ---------------------------------------------------------------------------


def request_to_item(request: DestinationRequest) -> Item:
    item: Item = {
        **request_key(request.client_id, request.request_id),
        "type": "destinationRequest",
        "requestId": request.request_id,
        "clientId": request.client_id,
        "action": request.action,
        "address": request.address,
        "network": request.network,
        "status": request.status,
        "createdAt": iso(request.created_at),
        "updatedAt": iso(request.updated_at),
        "ungoverned": request.ungoverned,
    }
    optional = {"label": request.label, "reason": request.reason}
    item.update({k: v for k, v in optional.items() if v is not None})
    if request.status == "queued":
        item[GSI2_PK], item[GSI2_SK] = QUEUED_QUEUE, f"{iso(request.created_at)}#{request.request_id}"
    return item


def item_to_request(item: Item) -> DestinationRequest:
    return DestinationRequest(
        request_id=str(item["requestId"]),
        client_id=str(item["clientId"]),
        action=item["action"],
        address=str(item["address"]),
        network=str(item["network"]),
        status=item["status"],
        created_at=parse_iso(item["createdAt"]),
        updated_at=parse_iso(item["updatedAt"]),
        label=_opt_str(item.get("label")),
        change_request_id=_opt_str(item.get("changeRequestId")),
        approval_id=_opt_str(item.get("approvalId")),
        ungoverned=bool(item.get("ungoverned", False)),
        reason=_opt_str(item.get("reason")),
        submitted_at=_opt_dt(item.get("submittedAt")),
        resolved_at=_opt_dt(item.get("resolvedAt")),
    )


def pending_to_item(request: DestinationRequest) -> Item:
    return {
        **pending_key(request.client_id, request.address),
        "type": "pending",
        "address": request.address,
        "requestId": request.request_id,
        "action": request.action,
        "state": "queued",
        "createdAt": iso(request.created_at),
    }


def item_to_pending(item: Item) -> PendingEntry:
    return PendingEntry(
        address=str(item["address"]),
        request_id=str(item["requestId"]),
        action=item["action"],
        state=item["state"],
        created_at=parse_iso(item["createdAt"]),
    )


# --- approved destinations (mirror) -----------------------------------------------------------------


def destination_to_item(destination: ApprovedDestination) -> Item:
    item: Item = {
        **destination_key(destination.client_id, destination.address),
        "type": "destination",
        "clientId": destination.client_id,
        "address": destination.address,
        "network": destination.network,
        "approvedAt": iso(destination.approved_at),
        "requestId": destination.request_id,
    }
    optional = {"label": destination.label, "approvalId": destination.approval_id}
    item.update({k: v for k, v in optional.items() if v is not None})
    return item


def item_to_destination(item: Item) -> ApprovedDestination:
    return ApprovedDestination(
        client_id=str(item["clientId"]),
        address=str(item["address"]),
        network=str(item["network"]),
        approved_at=parse_iso(item["approvedAt"]),
        request_id=str(item["requestId"]),
        label=_opt_str(item.get("label")),
        approval_id=_opt_str(item.get("approvalId")),
    )


def as_items(raw: Any) -> list[Item]:
    return cast(list[Item], raw or [])


def outbox_key(event: DomainEvent) -> Item:
    return {PK: OUTBOX_PK, SK: f"{iso(event.occurred_at)}#{event.event_id}"}


def event_to_item(event: DomainEvent) -> Item:
    return {
        **outbox_key(event),
        "eventId": event.event_id,
        "type": event.type,
        "clientId": event.client_id,
        "detail": json.dumps(event.detail, separators=(",", ":"), default=str),
        "occurredAt": iso(event.occurred_at),
    }


def item_to_event(item: Item) -> DomainEvent:
    return DomainEvent(
        type=cast(DomainEventType, item["type"]),
        client_id=_opt_str(item.get("clientId")),
        detail=json.loads(str(item["detail"])),
        occurred_at=parse_iso(item["occurredAt"]),
        event_id=str(item["eventId"]),
    )
