"""Trading: mandates, order runs and orders (DESIGN.md §4 "Trading and order runs"), as domain models.

A **mandate** is a client's standing trading authorisation: move ``amount_per_run`` of an asset to an
exchange's deposit address on every order run. The deposit address goes through the destination
approval flow; the mandate is ``pending_approval`` until compliance approves it, then ``active``.

An **order run** has a run id; it has one **order** (a leg) per planned mandate, keyed by run id and
client id. Each order ends in exactly one Dfns transfer at most: its ``externalId`` is derived from the
run id and the client id, so a re-run, a redelivered message or a crash never pays twice.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from managed_accounts.domain.addresses import normalize_address
from managed_accounts.errors import InvalidInput

MandateStatus = Literal["pending_approval", "active", "rejected", "revoked"]
# Mandates the planner enqueues a leg for: the ones a client wants traded (a pending one is reported as
# skipped until compliance decides, so operations see who waits).
PLANNED_MANDATE_STATUSES: frozenset[str] = frozenset({"pending_approval", "active"})

AssetKind = Literal["Native", "Erc20"]
OrderStatus = Literal[
    "planned",  # enqueued, not processed yet
    "claimed",  # a worker is submitting it (a lease: a crashed worker's claim is taken over)
    "skipped",  # no transfer this run; ``reason`` says why
    "submitted",  # Dfns has the transfer (Pending, possibly waiting for an approval)
    "executing",
    "broadcasted",
    "confirmed",
    "failed",
    "rejected",
]
TERMINAL_ORDER_STATUSES: frozenset[str] = frozenset({"confirmed", "failed", "rejected"})
# Orders a Dfns transfer exists for and whose outcome is still to come (the reconciler's queue).
OPEN_ORDER_STATUSES: frozenset[str] = frozenset({"submitted", "executing", "broadcasted"})

# Forward-only: a transfer's status can only move an order to a later stage.
ORDER_STAGE: dict[str, int] = {
    "planned": 0,
    "claimed": 1,
    "skipped": 1,
    "submitted": 2,
    "executing": 3,
    "broadcasted": 4,
    "confirmed": 5,
    "failed": 5,
    "rejected": 5,
}
ORDER_STATUS_OF_TRANSFER: dict[str, OrderStatus] = {
    "Pending": "submitted",
    "Executing": "executing",
    "Broadcasted": "broadcasted",
    "Confirmed": "confirmed",
    "Failed": "failed",
    "Rejected": "rejected",
}

# Why an order was skipped (no Dfns call was made for it).
SkipReason = Literal[
    "account_not_active",
    "mandate_missing",
    "mandate_revoked",
    "destination_pending",
    "destination_rejected",
    "mandate_changed",
    "deposit_address_changed",
    "destination_not_approved",
    "count_budget_spent",
    "circuit_open",
]
# Skips a replay of the run re-drives: the breaker's, not a decision about the mandate.
RETRYABLE_SKIPS: frozenset[str] = frozenset({"circuit_open"})

# A claim older than this was left by a worker that died: another may take the order over. Shorter than
# the queue's visibility timeout, so the redelivered message finds the claim stale.
ORDER_CLAIM_LEASE = timedelta(seconds=60)
# How far back the count budget looks for runs (Dfns velocity windows are at most 30 days).
BUDGET_LOOKBACK = timedelta(days=31)

_RUN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# ASCII digits only: Python's \d (and int()) also take other scripts' digits, "١" or "１".
_AMOUNT = re.compile(r"([0-9]{1,30})(?:\.([0-9]{1,36}))?")
EXTERNAL_ID_PREFIX = "ord-"


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id):
        raise InvalidInput("runId must be 1-64 characters of letters, digits, '.', '_', ':' or '-'")
    return run_id


def new_run_id(now: datetime) -> str:
    """A run started by an operator without a run id: sortable by time, unique."""
    return f"run-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def scheduled_run_id(scheduled_at: datetime) -> str:
    """The run id of the schedule's slot: a schedule invocation delivered twice plans the same run."""
    return f"sched-{scheduled_at.astimezone(UTC):%Y%m%dT%H%MZ}"


def order_external_id(run_id: str, client_id: str) -> str:
    """The transfer's Dfns ``externalId`` for this run and client: 44 characters (Dfns allows 50),
    the same on every attempt, different for every (run, client) pair."""
    digest = hashlib.sha256(f"{run_id}\n{client_id}".encode()).hexdigest()
    return EXTERNAL_ID_PREFIX + digest[:40]


def to_minimum_units(amount: str, decimals: int) -> int:
    """A decimal amount as a whole number of minimum units (wei, …), exactly: no float is involved, and
    an amount finer than the asset's decimals is refused rather than rounded."""
    match = _AMOUNT.fullmatch(amount)
    if match is None:
        raise InvalidInput('amountPerRun must be a decimal number written as a string, e.g. "0.05"')
    whole, fraction = match.group(1), match.group(2) or ""
    if fraction.rstrip("0") and len(fraction.rstrip("0")) > decimals:
        raise InvalidInput(f"amountPerRun has more than {decimals} decimal places for this asset")
    scale: int = 10**decimals
    units = int(whole) * scale + int((fraction + "0" * decimals)[:decimals] or "0")
    if units <= 0:
        raise InvalidInput("amountPerRun must be more than zero")
    return units


def format_units(units: int, decimals: int) -> str:
    """The canonical decimal text of ``units`` minimum units (no trailing zeros)."""
    scale: int = 10**decimals
    whole, fraction = divmod(units, scale)
    if decimals == 0 or fraction == 0:
        return str(whole)
    return f"{whole}.{str(fraction).rjust(decimals, '0').rstrip('0')}"


@dataclass(frozen=True, slots=True)
class TradableAsset:
    """One asset an exchange takes on one network, with the deposit address it is paid to."""

    exchange: str
    network: str
    symbol: str
    kind: AssetKind
    decimals: int
    deposit_address: str
    contract: str | None = None


def _normalised(asset: TradableAsset) -> TradableAsset:
    """The asset with its deposit address as it is sent to Dfns; a configured address that is not a
    valid one for its network is a configuration error (not the client's input)."""
    try:
        address = normalize_address(asset.network, asset.deposit_address)
    except InvalidInput as error:
        raise ValueError(f"EXCHANGES: {asset.exchange} on {asset.network}: {error.message}") from error
    contract = asset.contract.lower() if asset.contract else None
    return TradableAsset(
        asset.exchange, asset.network, asset.symbol, asset.kind, asset.decimals, address, contract
    )


@dataclass(frozen=True, slots=True)
class CountBudget:
    """A limit profile's ``TransactionCountVelocity``: at most ``limit`` transfers per ``window``."""

    limit: int
    window: timedelta


class ExchangeCatalog:
    """The configured exchanges (``Settings.exchanges``), as the domain sees them. Deposit addresses are
    normalised as they are sent to Dfns (EVM lowercase)."""

    def __init__(self, assets: list[TradableAsset]) -> None:
        assets = [_normalised(a) for a in assets]
        self._assets = {(a.exchange, a.network, a.symbol.upper()): a for a in assets}
        self._deposits = {(a.exchange, a.network): a.deposit_address for a in assets}
        self._exchanges = frozenset(a.exchange for a in assets)

    def resolve(self, exchange: str, network: str, symbol: str) -> TradableAsset:
        if exchange not in self._exchanges:
            raise InvalidInput(f"unknown exchange {exchange[:40]!r}")
        if (exchange, network) not in self._deposits:
            raise InvalidInput(f"{exchange} takes no deposits on {network}")
        asset = self._assets.get((exchange, network, symbol.upper()))
        if asset is None:
            raise InvalidInput(f"{exchange} takes no asset {symbol[:16]!r} on {network}")
        return asset

    def deposit_address(self, exchange: str, network: str) -> str | None:
        """The deposit address configured now (it may differ from the one a mandate was approved for)."""
        return self._deposits.get((exchange, network))


@dataclass(frozen=True, slots=True)
class Mandate:
    client_id: str
    exchange: str
    network: str
    asset: str
    asset_kind: AssetKind
    decimals: int
    amount_per_run: str  # canonical decimal text
    amount_units: int  # the same in minimum units
    deposit_address: str
    status: MandateStatus
    created_at: datetime
    updated_at: datetime
    version: int = 1
    revision: str = ""  # the random token of the write that stored this version (as ``Order.revision``)
    contract: str | None = None
    destination_request_id: str | None = None
    approval_id: str | None = None
    approved_at: datetime | None = None
    reason: str | None = None
    revoked_at: datetime | None = None

    def same_destination(self, asset: TradableAsset) -> bool:
        return (self.exchange, self.network, self.deposit_address) == (
            asset.exchange,
            asset.network,
            asset.deposit_address,
        )


@dataclass(frozen=True, slots=True)
class MandatePage:
    items: list[Mandate] = field(default_factory=list)
    next_cursor: str | None = None


RunStatus = Literal["planning", "planned"]


@dataclass(frozen=True, slots=True)
class OrderRun:
    run_id: str
    created_at: datetime
    updated_at: datetime
    trigger: str  # "schedule" or "operator:<clientId>"
    status: RunStatus = "planning"
    planned: int = 0  # legs the last planning pass found (an upper bound while planning)
    planned_at: datetime | None = None
    replays: int = 0
    breaker_open: bool = False
    breaker_opened_at: datetime | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True, slots=True)
class Order:
    """One leg of a run: what to pay (fixed when planned, so every attempt sends the same body) and
    what happened."""

    client_id: str
    run_id: str
    run_created_at: datetime  # part of the key: a client's orders sort by their run's time
    external_id: str
    status: OrderStatus
    exchange: str
    network: str
    asset: str
    asset_kind: AssetKind
    decimals: int
    amount: str
    amount_units: int
    to: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    # A random token of the write that stored this version: a write whose answer was lost is told from
    # a rival's identical-looking one by it (see ``data/orders_repository.py``).
    revision: str = ""
    contract: str | None = None
    reason: str | None = None  # the skip reason code, or Dfns's reason for a rejection or failure
    attempts: int = 0  # claims so far: more than one means an earlier attempt may have reached Dfns
    claimed_at: datetime | None = None
    wallet_id: str | None = None
    transfer_id: str | None = None
    transfer_status: str | None = None
    approval_id: str | None = None
    tx_hash: str | None = None
    submitted_at: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_ORDER_STATUSES


@dataclass(frozen=True, slots=True)
class OrderPage:
    items: list[Order] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class RunReport:
    """What a run did, counted from its orders (never from counters that could drift)."""

    run: OrderRun
    breaker_threshold: int
    by_status: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    transfers: int = 0  # orders a Dfns transfer exists for
    last_change: datetime | None = None  # the latest change to any of the run's orders

    def count(self, *statuses: str) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)

    @property
    def legs(self) -> int:
        return sum(self.by_status.values())
