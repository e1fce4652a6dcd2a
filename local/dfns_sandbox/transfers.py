"""Transfers (DFNS.md §3): validation, externalId idempotency, the policy outcome and the lifecycle
Pending → Executing → Broadcasted → Confirmed (or Failed / Rejected) on the sandbox clock.

Decision on the UNCONFIRMED Block outcome (§3.3): the call answers 200 with ``status: "Rejected"`` and
``reason: "Blocked by policy: <name>"``.
"""

from __future__ import annotations

import heapq
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dfns_sandbox.approvals import announce_pending, create_approval
from dfns_sandbox.assets import asset_meta, record_history
from dfns_sandbox.clock import iso, parse_iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.engine import evaluate
from dfns_sandbox.errors import bad_request, conflict, not_found, reject_unknown
from dfns_sandbox.prices import NETWORKS, new_tx_hash, normalise_address, random_id
from dfns_sandbox.store import Approval, Json, Transfer, page_body, paginate
from dfns_sandbox.wallets import get_wallet

if TYPE_CHECKING:
    from dfns_sandbox.core import Sandbox

EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
AMOUNT = re.compile(r"^\d+$")
_COMMON = {"kind", "to", "amount", "priority", "externalId", "travelRule", "feeSponsorId"}
_FIELDS = {
    "Native": _COMMON | {"memo", "createDestinationAccount", "offer", "expiresAt", "useDurableNonce"},
    "Erc20": _COMMON | {"contract"},
}


def render_transfer(transfer: Transfer) -> Json:
    body: Json = {
        "id": transfer.id,
        "walletId": transfer.wallet_id,
        "network": transfer.network,
        "requester": transfer.requester,
        "requestBody": transfer.request_body,
        "metadata": {"asset": transfer.asset},
        "status": transfer.status,
        "dateRequested": iso(transfer.date_requested),
    }
    optional = {
        "reason": transfer.reason,
        "txHash": transfer.tx_hash,
        "fee": None if transfer.fee is None else str(transfer.fee),
        "approvalId": transfer.approval_id,
        "externalId": transfer.external_id,
        "datePolicyResolved": transfer.date_policy_resolved and iso(transfer.date_policy_resolved),
        "dateBroadcasted": transfer.date_broadcasted and iso(transfer.date_broadcasted),
        "dateConfirmed": transfer.date_confirmed and iso(transfer.date_confirmed),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _validate(body: Json, network: str) -> None:
    kind = body.get("kind")
    if kind not in _FIELDS:
        raise bad_request("kind must be Native or Erc20 in the sandbox", field="kind")
    reject_unknown(body, _FIELDS[kind])
    _validate_required(body, kind)
    _validate_addresses(body, kind, NETWORKS[network].evm)
    _validate_options(body)


def _validate_required(body: Json, kind: str) -> None:
    for key in ("to", "amount", *(["contract"] if kind == "Erc20" else [])):
        if not isinstance(body.get(key), str) or not body[key]:
            raise bad_request(f"{key} is required", field=key)
    if not AMOUNT.match(body["amount"]):
        raise bad_request("amount must be an integer string in the smallest unit (^\\d+$)", field="amount")


def _validate_addresses(body: Json, kind: str, evm: bool) -> None:
    if kind == "Erc20" and not evm:
        raise bad_request("Erc20 transfers need an EVM wallet", field="kind")
    for key in ("to", "contract"):
        if key in body and evm and not EVM_ADDRESS.match(body[key]):
            raise bad_request(f"{key} must be an EVM address ^0x[0-9a-fA-F]{{40}}$", field=key)


def _validate_options(body: Json) -> None:
    if "priority" in body and body["priority"] not in {"Slow", "Standard", "Fast"}:
        raise bad_request("priority must be Slow, Standard or Fast", field="priority")
    for flag in ("offer", "useDurableNonce", "createDestinationAccount"):
        if flag in body and not isinstance(body[flag], bool):
            raise bad_request(f"{flag} must be a boolean", field=flag)
    if "expiresAt" in body and not _is_iso(body["expiresAt"]):
        raise bad_request("expiresAt must be an ISO 8601 date", field="expiresAt")
    _validate_external_id(body)


def _validate_external_id(body: Json) -> None:
    external_id = body.get("externalId")
    if external_id is not None and not (isinstance(external_id, str) and 1 <= len(external_id) <= 50):
        raise bad_request("externalId must be a string of 1 to 50 characters", field="externalId")


def _is_iso(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_iso(value)
    except ValueError:
        return False
    return True


def create_transfer(ctx: Ctx) -> Reply:
    sb = ctx.sb
    wallet = get_wallet(sb, ctx.params["walletId"])
    body = ctx.body()
    _validate(body, wallet.network)
    external_id = body.get("externalId")
    if external_id is not None and external_id in sb.store.transfer_external_ids:
        existing = sb.store.transfers[sb.store.transfer_external_ids[external_id]]
        if existing.wallet_id == wallet.id and existing.request_body == body:
            return ok(render_transfer(existing))
        raise conflict(
            "Conflicting transfer with same externalId",
            duplicate={"id": existing.id, "externalId": external_id},
        )
    asset_key = "native" if body["kind"] == "Native" else body["contract"].lower()
    symbol, decimals = asset_meta(sb, wallet.network, asset_key)
    amount, now = int(body["amount"]), sb.clock.now()
    usd = sb.prices.usd(symbol, amount, decimals)
    unit = sb.prices.usd(symbol, 10**decimals, decimals)
    transfer = Transfer(
        id=random_id("xfr"),
        wallet_id=wallet.id,
        network=wallet.network,
        requester=ctx.requester,
        request_body=body,
        asset={
            "symbol": symbol,
            "decimals": decimals,
            "verified": True,
            "quotes": {} if unit is None else {"USD": float(unit)},
        },
        asset_key=asset_key,
        amount=amount,
        to=body["to"],
        date_requested=now,
        external_id=external_id,
        usd=usd,
    )
    outcome = evaluate(sb, wallet, transfer)  # before storing: velocity windows hold earlier transfers
    sb.store.transfers[transfer.id] = transfer
    sb.store.transfers_by_wallet.setdefault(wallet.id, []).append(transfer)
    if external_id is not None:
        sb.store.transfer_external_ids[external_id] = transfer.id
    sb.emit("wallet.transfer.requested", {"transferRequest": render_transfer(transfer)})
    if outcome.blocked_by is not None:
        _reject(sb, transfer, f"Blocked by policy: {outcome.blocked_by.name}", now)
    elif outcome.needs_approval:
        approval = create_approval(
            sb,
            initiator_id=ctx.me.user_id,
            activity_kind="Wallets:Sign",
            evaluations=outcome.evaluations,
            triggered=outcome.needs_approval,
            transfer_id=transfer.id,
        )
        transfer.approval_id = approval.id
        announce_pending(sb, approval)
    else:
        _clear(sb, transfer, now)
    return ok(render_transfer(transfer))


def _clear(sb: Sandbox, transfer: Transfer, when: datetime) -> None:
    transfer.date_policy_resolved = when
    _schedule(sb, transfer, when + timedelta(seconds=sb.config.executing_after_s))


def _schedule(sb: Sandbox, transfer: Transfer, at: datetime) -> None:
    transfer.next_step_at = at
    heapq.heappush(sb.store.schedule, (at, next(sb.store.sequence), transfer.id))


def _reject(sb: Sandbox, transfer: Transfer, reason: str, when: datetime) -> None:
    transfer.status, transfer.reason, transfer.date_policy_resolved = "Rejected", reason, when
    sb.emit("wallet.transfer.rejected", {"transferRequest": render_transfer(transfer)})


def on_approval_resolved(sb: Sandbox, approval: Approval) -> None:
    assert approval.transfer_id is not None
    transfer = sb.store.transfers[approval.transfer_id]
    when = approval.date_resolved or sb.clock.now()
    if transfer.status != "Pending":
        return
    if approval.status == "Approved":
        _clear(sb, transfer, when)
    else:
        _reject(sb, transfer, f"Approval {approval.status.lower()} ({approval.id})", when)


def _step(sb: Sandbox, transfer: Transfer, when: datetime) -> None:
    """One lifecycle step at ``when`` (the time it was due, so dates stay consistent after a clock jump)."""
    config = sb.config
    if transfer.status == "Pending":
        transfer.status = "Executing"
        _schedule(sb, transfer, when + timedelta(seconds=config.broadcast_after_s))
        return
    wallet = sb.store.wallets[transfer.wallet_id]
    if transfer.status == "Executing":
        fee = NETWORKS[transfer.network].fee
        native_needed = fee + (transfer.amount if transfer.asset_key == "native" else 0)
        token_short = (
            transfer.asset_key != "native" and wallet.balances.get(transfer.asset_key, 0) < transfer.amount
        )
        if wallet.balances.get("native", 0) < native_needed or token_short:
            transfer.status, transfer.next_step_at = "Failed", None
            transfer.reason = "Insufficient balance to cover the amount and the network fee"
            sb.emit("wallet.transfer.failed", {"transferRequest": render_transfer(transfer)})
            return
        wallet.balances["native"] = wallet.balances.get("native", 0) - native_needed
        if transfer.asset_key != "native":
            wallet.balances[transfer.asset_key] -= transfer.amount
        transfer.status, transfer.fee, transfer.date_broadcasted = "Broadcasted", fee, when
        transfer.tx_hash = new_tx_hash(transfer.network)
        _schedule(sb, transfer, when + timedelta(seconds=config.confirm_after_s))
        sb.emit("wallet.transfer.broadcasted", {"transferRequest": render_transfer(transfer)})
        return
    transfer.status, transfer.date_confirmed, transfer.next_step_at = "Confirmed", when, None
    tx_hash = transfer.tx_hash or new_tx_hash(transfer.network)
    record_history(
        sb,
        wallet,
        direction="Out",
        sender=wallet.address,
        recipient=transfer.to,
        amount=transfer.amount,
        asset_key=transfer.asset_key,
        tx_hash=tx_hash,
        when=when,
        fee=transfer.fee,
    )
    other = sb.store.wallets_by_address.get(
        (transfer.network, normalise_address(transfer.network, transfer.to))
    )
    if other is not None:  # a transfer between two sandbox wallets credits the recipient
        other.balances[transfer.asset_key] = other.balances.get(transfer.asset_key, 0) + transfer.amount
        record_history(
            sb,
            other,
            direction="In",
            sender=wallet.address,
            recipient=other.address,
            amount=transfer.amount,
            asset_key=transfer.asset_key,
            tx_hash=tx_hash,
            when=when,
        )
    sb.emit("wallet.transfer.confirmed", {"transferRequest": render_transfer(transfer)})


def advance(sb: Sandbox, now: datetime) -> None:
    """Run every lifecycle step due by ``now``, earliest first."""
    schedule = sb.store.schedule
    while schedule and schedule[0][0] <= now:
        due, _, transfer_id = heapq.heappop(schedule)
        transfer = sb.store.transfers[transfer_id]
        if transfer.next_step_at == due:  # otherwise a stale entry
            transfer.next_step_at = None
            _step(sb, transfer, due)


def _get(ctx: Ctx) -> Transfer:
    wallet = get_wallet(ctx.sb, ctx.params["walletId"])
    transfer = ctx.sb.store.transfers.get(ctx.params["transferId"])
    if transfer is None or transfer.wallet_id != wallet.id:
        raise not_found("Transfer", ctx.params["transferId"])
    return transfer


def get_transfer(ctx: Ctx) -> Reply:
    return ok(render_transfer(_get(ctx)))


def list_transfers(ctx: Ctx) -> Reply:
    wallet = get_wallet(ctx.sb, ctx.params["walletId"])
    mine = ctx.sb.store.transfers_by_wallet.get(wallet.id, [])
    items, token = paginate(mine, ctx.args, render_transfer, newest_first=True)
    return ok(page_body(items, token, walletId=wallet.id))


ROUTES = [
    Route(
        "POST",
        "/wallets/{walletId}/transfers",
        create_transfer,
        permissions=("Wallets:Transfers:Create",),
        audit_safe=True,
    ),
    Route("GET", "/wallets/{walletId}/transfers", list_transfers, permissions=("Wallets:Transfers:Read",)),
    Route(
        "GET",
        "/wallets/{walletId}/transfers/{transferId}",
        get_transfer,
        permissions=("Wallets:Transfers:Read",),
    ),
]
