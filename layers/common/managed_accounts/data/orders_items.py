"""DynamoDB item layout of trading (mandates, order runs, orders) on the main table.

- ``PK = CLIENT#<clientId>, SK = MANDATE``: the client's trading mandate. While it is planned
  (``pending_approval`` or ``active``) it sits in the GSI2 queue ``MANDATES`` (sort key: client id),
  the index the planner pages.
- ``PK = RUN#<runId>, SK = RUN``: an order run (its breaker and planning state).
- ``PK = CLIENT#<clientId>, SK = ORDER#<run createdAt>#<runId>``: one order (a leg of a run). The
  client's orders sort by their run's time (newest-first listing from the base table); GSI1
  ``RUN#<runId>`` / ``CLIENT#<clientId>`` lists a run's orders (its report); while a transfer awaits its
  outcome the order sits in the GSI2 queue ``ORDERS#OPEN`` (the reconciler's).
- ``PK = CLIENT#<clientId>, SK = ORDERXID#<externalId>``: finds an order from its transfer's
  ``externalId`` (webhooks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from managed_accounts.data.items import Item, client_pk, iso, parse_iso
from managed_accounts.data.schema import GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, PK, SK
from managed_accounts.domain.trading import (
    OPEN_ORDER_STATUSES,
    PLANNED_MANDATE_STATUSES,
    AssetKind,
    Mandate,
    MandateStatus,
    Order,
    OrderRun,
    OrderStatus,
    RunStatus,
)

MANDATE_SK = "MANDATE"
MANDATES_QUEUE = "MANDATES"
RUN_SK = "RUN"
ORDER_PREFIX = "ORDER#"
ORDER_PREFIX_END = "ORDER$"  # sorts right after every ORDER# key ('$' follows '#')
EXTERNAL_ID_PREFIX = "ORDERXID#"
OPEN_ORDERS_QUEUE = "ORDERS#OPEN"


def _opt(value: Any) -> str | None:
    return str(value) if value is not None else None


def _opt_dt(value: Any) -> datetime | None:
    return parse_iso(value) if value else None


def _compact(item: Item) -> Item:
    return {k: v for k, v in item.items() if v is not None}


# --- mandates ---------------------------------------------------------------------------------------


def mandate_key(client_id: str) -> Item:
    return {PK: client_pk(client_id), SK: MANDATE_SK}


def mandate_to_item(mandate: Mandate) -> Item:
    item: Item = {
        **mandate_key(mandate.client_id),
        "type": "mandate",
        "clientId": mandate.client_id,
        "exchange": mandate.exchange,
        "network": mandate.network,
        "asset": mandate.asset,
        "assetKind": mandate.asset_kind,
        "decimals": mandate.decimals,
        "contract": mandate.contract,
        "amountPerRun": mandate.amount_per_run,
        "amountUnits": str(mandate.amount_units),
        "depositAddress": mandate.deposit_address,
        "status": mandate.status,
        "createdAt": iso(mandate.created_at),
        "updatedAt": iso(mandate.updated_at),
        "version": mandate.version,
        "revision": mandate.revision,
        "destinationRequestId": mandate.destination_request_id,
        "approvalId": mandate.approval_id,
        "approvedAt": iso(mandate.approved_at) if mandate.approved_at else None,
        "reason": mandate.reason,
        "revokedAt": iso(mandate.revoked_at) if mandate.revoked_at else None,
    }
    if mandate.status in PLANNED_MANDATE_STATUSES:
        item[GSI2_PK], item[GSI2_SK] = MANDATES_QUEUE, mandate.client_id
    return _compact(item)


def item_to_mandate(item: Item) -> Mandate:
    return Mandate(
        client_id=str(item["clientId"]),
        exchange=str(item["exchange"]),
        network=str(item["network"]),
        asset=str(item["asset"]),
        asset_kind=cast(AssetKind, item["assetKind"]),
        decimals=int(item["decimals"]),
        contract=_opt(item.get("contract")),
        amount_per_run=str(item["amountPerRun"]),
        amount_units=int(str(item["amountUnits"])),
        deposit_address=str(item["depositAddress"]),
        status=cast(MandateStatus, item["status"]),
        created_at=parse_iso(item["createdAt"]),
        updated_at=parse_iso(item["updatedAt"]),
        version=int(item["version"]),
        revision=str(item.get("revision", "")),
        destination_request_id=_opt(item.get("destinationRequestId")),
        approval_id=_opt(item.get("approvalId")),
        approved_at=_opt_dt(item.get("approvedAt")),
        reason=_opt(item.get("reason")),
        revoked_at=_opt_dt(item.get("revokedAt")),
    )


# --- runs -------------------------------------------------------------------------------------------


def run_key(run_id: str) -> Item:
    return {PK: f"RUN#{run_id}", SK: RUN_SK}


def run_to_item(run: OrderRun) -> Item:
    return _compact(
        {
            **run_key(run.run_id),
            "type": "orderRun",
            "runId": run.run_id,
            "createdAt": iso(run.created_at),
            "updatedAt": iso(run.updated_at),
            "trigger": run.trigger,
            "status": run.status,
            "planned": run.planned,
            "plannedAt": iso(run.planned_at) if run.planned_at else None,
            "replays": run.replays,
            "breakerOpen": run.breaker_open,
            "breakerOpenedAt": iso(run.breaker_opened_at) if run.breaker_opened_at else None,
            "consecutiveFailures": run.consecutive_failures,
        }
    )


def item_to_run(item: Item) -> OrderRun:
    return OrderRun(
        run_id=str(item["runId"]),
        created_at=parse_iso(item["createdAt"]),
        updated_at=parse_iso(item["updatedAt"]),
        trigger=str(item["trigger"]),
        status=cast(RunStatus, item["status"]),
        planned=int(item.get("planned", 0)),
        planned_at=_opt_dt(item.get("plannedAt")),
        replays=int(item.get("replays", 0)),
        breaker_open=bool(item.get("breakerOpen", False)),
        breaker_opened_at=_opt_dt(item.get("breakerOpenedAt")),
        consecutive_failures=int(item.get("consecutiveFailures", 0)),
    )


# --- orders -----------------------------------------------------------------------------------------


def order_sk(run_id: str, run_created_at: datetime) -> str:
    return f"{ORDER_PREFIX}{iso(run_created_at)}#{run_id}"


def order_key(client_id: str, run_id: str, run_created_at: datetime) -> Item:
    return {PK: client_pk(client_id), SK: order_sk(run_id, run_created_at)}


def run_gsi1(run_id: str) -> str:
    return f"RUN#{run_id}"


def external_id_key(client_id: str, external_id: str) -> Item:
    return {PK: client_pk(client_id), SK: EXTERNAL_ID_PREFIX + external_id}


def external_id_item(order: Order) -> Item:
    return {
        **external_id_key(order.client_id, order.external_id),
        "type": "orderExternalId",
        "orderSk": order_sk(order.run_id, order.run_created_at),
    }


def order_to_item(order: Order) -> Item:
    item: Item = {
        **order_key(order.client_id, order.run_id, order.run_created_at),
        "type": "order",
        GSI1_PK: run_gsi1(order.run_id),
        GSI1_SK: client_pk(order.client_id),
        "clientId": order.client_id,
        "runId": order.run_id,
        "runCreatedAt": iso(order.run_created_at),
        "externalId": order.external_id,
        "status": order.status,
        "exchange": order.exchange,
        "network": order.network,
        "asset": order.asset,
        "assetKind": order.asset_kind,
        "decimals": order.decimals,
        "contract": order.contract,
        "amount": order.amount,
        "amountUnits": str(order.amount_units),
        "to": order.to,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "version": order.version,
        "revision": order.revision,
        "reason": order.reason,
        "attempts": order.attempts,
        "claimedAt": iso(order.claimed_at) if order.claimed_at else None,
        "walletId": order.wallet_id,
        "transferId": order.transfer_id,
        "transferStatus": order.transfer_status,
        "approvalId": order.approval_id,
        "txHash": order.tx_hash,
        "submittedAt": iso(order.submitted_at) if order.submitted_at else None,
        "resolvedAt": iso(order.resolved_at) if order.resolved_at else None,
    }
    if order.status in OPEN_ORDER_STATUSES:
        since = order.submitted_at or order.updated_at
        item[GSI2_PK] = OPEN_ORDERS_QUEUE
        item[GSI2_SK] = f"{iso(since)}#{order.client_id}#{order.run_id}"
    return _compact(item)


def item_to_order(item: Item) -> Order:
    return Order(
        client_id=str(item["clientId"]),
        run_id=str(item["runId"]),
        run_created_at=parse_iso(item["runCreatedAt"]),
        external_id=str(item["externalId"]),
        status=cast(OrderStatus, item["status"]),
        exchange=str(item["exchange"]),
        network=str(item["network"]),
        asset=str(item["asset"]),
        asset_kind=cast(AssetKind, item["assetKind"]),
        decimals=int(item["decimals"]),
        contract=_opt(item.get("contract")),
        amount=str(item["amount"]),
        amount_units=int(str(item["amountUnits"])),
        to=str(item["to"]),
        created_at=parse_iso(item["createdAt"]),
        updated_at=parse_iso(item["updatedAt"]),
        version=int(item["version"]),
        revision=str(item.get("revision", "")),
        reason=_opt(item.get("reason")),
        attempts=int(item.get("attempts", 0)),
        claimed_at=_opt_dt(item.get("claimedAt")),
        wallet_id=_opt(item.get("walletId")),
        transfer_id=_opt(item.get("transferId")),
        transfer_status=_opt(item.get("transferStatus")),
        approval_id=_opt(item.get("approvalId")),
        tx_hash=_opt(item.get("txHash")),
        submitted_at=_opt_dt(item.get("submittedAt")),
        resolved_at=_opt_dt(item.get("resolvedAt")),
    )
