"""Movements of a client's wallet, from Dfns's two lists (DFNS.md §2 history, §3 transfers).

Incoming funds are the wallet history's ``In`` events (confirmed on-chain). Outgoing movements are the
wallet's transfers, whatever their status (a transfer blocked by policy shows, with Dfns's reason); the
confirmed ones are the history's ``Out`` events. Amounts stay integers in the asset's minimum unit
and are shown as exact decimal strings in asset units: never floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # annotations only: the reports handler imports this module at cold start
    from managed_accounts.dfns.models import HistoryEvent, TransferRequest

Direction = Literal["In", "Out"]
NATIVE = "native"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_units(raw: int, decimals: int) -> str:
    """``raw`` minimum units as an exact decimal string in asset units (``1500000000000000000``, 18 →
    ``"1.5"``)."""
    sign = "-" if raw < 0 else ""
    digits = str(abs(raw))
    if decimals <= 0:
        return f"{sign}{digits}"
    digits = digits.rjust(decimals + 1, "0")
    whole, fraction = digits[:-decimals], digits[-decimals:].rstrip("0")
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def parse_raw(text: str | None) -> int:
    """A Dfns amount (a decimal-integer string in the minimum unit); 0 when absent or malformed."""
    raw = (text or "").strip()
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is true, and int() refuses it
        return 0
    return int(raw)


@dataclass(frozen=True, slots=True)
class Asset:
    key: str  # "native" or the token contract, lowercase
    symbol: str | None
    decimals: int | None


@dataclass(frozen=True, slots=True)
class Movement:
    direction: Direction
    occurred_at: datetime
    asset: Asset
    amount_raw: int
    status: str
    counterparty: str | None
    tx_hash: str | None = None
    fee_raw: int | None = None
    transfer_id: str | None = None
    wallet_id: str | None = None
    transfer_approval_id: str | None = None  # a policy approval the transfer itself waited for
    external_id: str | None = None
    reason: str | None = None
    order_id: str | None = None  # filled once orders link their transfers (issue: orders)
    kind: str | None = None

    @property
    def amount(self) -> str | None:
        if self.asset.decimals is None:
            return None
        return format_units(self.amount_raw, self.asset.decimals)


def _asset_of_event(event: HistoryEvent) -> Asset:
    info = event.metadata.asset if event.metadata else None
    symbol = (info.symbol if info else None) or event.symbol
    decimals = info.decimals if info and info.decimals is not None else event.decimals
    key = event.contract.lower() if event.contract else NATIVE
    return Asset(key=key, symbol=symbol, decimals=decimals)


def from_history(event: HistoryEvent) -> Movement:
    incoming = event.direction == "In"
    return Movement(
        direction="In" if incoming else "Out",
        occurred_at=event.timestamp or _EPOCH,
        asset=_asset_of_event(event),
        amount_raw=parse_raw(event.value),
        status=event.status or "Confirmed",
        counterparty=event.from_ if incoming else event.to,
        tx_hash=event.tx_hash,
        fee_raw=parse_raw(event.fee) if event.fee is not None else None,
        wallet_id=event.wallet_id,
        kind=event.kind,
    )


def _text(body: dict[str, object], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def _asset_of_transfer(transfer: TransferRequest) -> Asset:
    contract = _text(transfer.request_body, "contract")
    info = transfer.metadata.asset if transfer.metadata else None
    return Asset(
        key=contract.lower() if contract else NATIVE,
        symbol=info.symbol if info else None,
        decimals=info.decimals if info else None,
    )


def from_transfer(transfer: TransferRequest) -> Movement:
    body = transfer.request_body
    return Movement(
        direction="Out",
        occurred_at=transfer.date_requested or _EPOCH,
        asset=_asset_of_transfer(transfer),
        amount_raw=parse_raw(_text(body, "amount")),
        status=str(transfer.status),
        counterparty=_text(body, "to"),
        tx_hash=transfer.tx_hash,
        fee_raw=parse_raw(transfer.fee) if transfer.fee is not None else None,
        transfer_id=transfer.id,
        wallet_id=transfer.wallet_id,
        transfer_approval_id=transfer.approval_id,
        external_id=transfer.external_id or _text(body, "externalId"),
        reason=transfer.reason,
        kind=_text(body, "kind") or "Native",
    )
