"""Balances, assets, on-chain history and sandbox deposits (DFNS.md §2 "Assets item", "History event").

History holds confirmed on-chain activity only: deposits and confirmed transfers, both directions.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import bad_request, reject_unknown
from dfns_sandbox.prices import NETWORKS, new_address, new_tx_hash
from dfns_sandbox.store import Json, Wallet, page_body, paginate
from dfns_sandbox.wallets import get_wallet

if TYPE_CHECKING:
    from dfns_sandbox.core import Sandbox


def asset_meta(sb: Sandbox, network: str, asset_key: str) -> tuple[str, int]:
    """(symbol, decimals) of the native asset (``"native"``) or of an ERC-20 contract."""
    if asset_key == "native":
        info = NETWORKS[network]
        return info.symbol, info.decimals
    token = sb.prices.token(asset_key)
    return token.symbol, token.decimals


def _quote(sb: Sandbox, symbol: str, amount: int, decimals: int) -> dict[str, float]:
    usd = sb.prices.usd(symbol, amount, decimals)
    return {} if usd is None else {"USD": float(round(usd, 2))}


def wallet_assets(ctx: Ctx) -> Reply:
    wallet = get_wallet(ctx.sb, ctx.params["walletId"])
    assets: list[Json] = []
    total = 0.0
    for key in ["native", *sorted(k for k in wallet.balances if k != "native")]:
        symbol, decimals = asset_meta(ctx.sb, wallet.network, key)
        balance = wallet.balances.get(key, 0)
        quotes = _quote(ctx.sb, symbol, balance, decimals)
        total += quotes.get("USD", 0.0)
        asset: Json = {
            "kind": "Native" if key == "native" else "Erc20",
            "symbol": symbol,
            "decimals": decimals,
        }
        if key != "native":
            asset["contract"] = key
        assets.append({**asset, "verified": True, "balance": str(balance), "quotes": quotes})
    body: Json = {"walletId": wallet.id, "network": wallet.network, "assets": assets}
    if ctx.args.get("netWorth") == "true":
        body["netWorth"] = {"USD": round(total, 2)}
    return ok(body)


def wallet_history(ctx: Ctx) -> Reply:
    wallet = get_wallet(ctx.sb, ctx.params["walletId"])
    direction, kind = ctx.args.get("direction"), ctx.args.get("kind")

    def keep(event: Json) -> bool:
        return (direction is None or event["direction"] == direction) and (
            kind is None or event["kind"] == kind
        )

    items, token = paginate(wallet.history, ctx.args, dict, keep=keep, newest_first=True)
    return ok(page_body(items, token, walletId=wallet.id, network=wallet.network))


def record_history(
    sb: Sandbox,
    wallet: Wallet,
    *,
    direction: str,
    sender: str,
    recipient: str,
    amount: int,
    asset_key: str,
    tx_hash: str,
    when: datetime,
    fee: int | None = None,
) -> Json:
    """Append a confirmed on-chain event to the wallet's history and announce it by webhook."""
    symbol, decimals = asset_meta(sb, wallet.network, asset_key)
    event: Json = {
        "walletId": wallet.id,
        "direction": direction,
        "network": wallet.network,
        "blockNumber": int(when.timestamp()) // 12,
        "txHash": tx_hash,
        "index": "0",
        "timestamp": iso(when),
        "status": "Confirmed",
        "kind": "NativeTransfer" if asset_key == "native" else "Erc20Transfer",
        "from": sender,
        "to": recipient,
        "value": str(amount),
        "metadata": {
            "asset": {
                "symbol": symbol,
                "decimals": decimals,
                "verified": True,
                "quotes": _quote(sb, symbol, 10**decimals, decimals),
            }
        },
    }
    if asset_key == "native":
        event.update(symbol=symbol, decimals=decimals, verified=True)
    else:
        event["contract"] = asset_key
    if fee is not None:
        event["fee"] = str(fee)
    wallet.history.append(event)
    sb.emit("wallet.blockchainevent.detected", {"walletId": wallet.id, "blockchainEvent": event})
    return event


def deposit(ctx: Ctx) -> Reply:
    """Sandbox-only: fund a wallet as if someone sent it coins (``contract`` for ERC-20)."""
    body = ctx.body()
    reject_unknown(body, {"walletId", "amount", "contract", "from"})
    amount: Any = body.get("amount")
    if not isinstance(amount, str) or not amount.isdigit():
        raise bad_request("amount must be an integer string in the smallest unit", field="amount")
    wallet = get_wallet(ctx.sb, str(body.get("walletId")))
    contract = body.get("contract")
    asset_key = contract.lower() if isinstance(contract, str) else "native"
    wallet.balances[asset_key] = wallet.balances.get(asset_key, 0) + int(amount)
    sender = body.get("from") if isinstance(body.get("from"), str) else new_address(wallet.network)
    event = record_history(
        ctx.sb,
        wallet,
        direction="In",
        sender=str(sender),
        recipient=wallet.address,
        amount=int(amount),
        asset_key=asset_key,
        tx_hash=new_tx_hash(wallet.network),
        when=ctx.sb.clock.now(),
    )
    return ok(event)


ROUTES = [
    Route("GET", "/wallets/{walletId}/assets", wallet_assets, permissions=("Wallets:Read",)),
    Route("GET", "/wallets/{walletId}/history", wallet_history, permissions=("Wallets:Read",)),
    Route("POST", "/sandbox/deposits", deposit, admin=True),
]
