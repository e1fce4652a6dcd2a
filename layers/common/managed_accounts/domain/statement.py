"""GET /accounts/me/statement: balances per asset for a period and every movement in it, each outflow
linked to the provenance of its destination.

Movements are the wallet's confirmed on-chain history (DFNS.md §2). Balances are derived from the live
balance (``GET /wallets/{id}/assets``) by undoing the confirmed movements after the period (closing
balance), then those within it (opening balance), so that for every asset
``opening + in − out = closing``, where ``out`` counts the network fees the wallet paid in that asset.

An outflow's provenance is the destination request that made its address an approved destination at
the time the transfer was requested (when asked, the approval id, who approved and when, from the
audit trail's decisions). An outflow to an address with no approval on record then is flagged
``unapproved_destination``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.models import AssetBalance, HistoryEvent, TransferRequest
from managed_accounts.domain.addresses import address_key
from managed_accounts.domain.models import Account, DestinationRequest
from managed_accounts.domain.movements import NATIVE, Asset, Movement, from_history, parse_raw
from managed_accounts.domain.ports import AccountsRepository, AuditRepository, Clock, ReportsDfnsGateway
from managed_accounts.domain.report_accounts import DestinationLabels, client_account
from managed_accounts.domain.report_models import ReportPeriod
from managed_accounts.errors import from_dfns

HISTORY_PAGE = 500
TRANSFER_PAGE = 100
# Transfers requested this long before the period may confirm within it: enough to link them.
TRANSFER_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class AssetSummary:
    asset: Asset
    opening_raw: int
    in_raw: int
    out_raw: int  # amounts sent plus network fees paid in this asset
    fees_raw: int
    closing_raw: int


@dataclass(frozen=True, slots=True)
class Approver:
    user_id: str | None
    name: str | None
    decided_at: datetime
    value: str | None


@dataclass(frozen=True, slots=True)
class Provenance:
    request_id: str
    requested_at: datetime
    approval_id: str | None
    approved_at: datetime | None
    approved_by: list[Approver]
    ungoverned: bool
    label: str | None


@dataclass(frozen=True, slots=True)
class StatementLine:
    movement: Movement
    counterparty_label: str | None
    provenance: Provenance | None = None
    unapproved_destination: bool = False


@dataclass(frozen=True, slots=True)
class Statement:
    client_id: str
    wallet_id: str
    address: str | None
    network: str
    period: ReportPeriod
    generated_at: datetime
    balances: list[AssetSummary]
    lines: list[StatementLine] = field(default_factory=list)


def _effects(event: Movement) -> dict[str, int]:
    sign = 1 if event.direction == "In" else -1
    effects = {event.asset.key: sign * event.amount_raw}
    if event.direction == "Out" and event.fee_raw:
        effects[NATIVE] = effects.get(NATIVE, 0) - event.fee_raw
    return effects


@dataclass(slots=True)
class _Totals:
    after: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    inflow: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    outflow: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fees: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, movement: Movement, period: ReportPeriod) -> None:
        if movement.occurred_at >= period.end:
            for key, delta in _effects(movement).items():
                self.after[key] += delta
            return
        if movement.direction == "In":
            self.inflow[movement.asset.key] += movement.amount_raw
            return
        self.outflow[movement.asset.key] += movement.amount_raw
        if movement.fee_raw:
            self.outflow[NATIVE] += movement.fee_raw
            self.fees[NATIVE] += movement.fee_raw


@dataclass(frozen=True, slots=True)
class _Ledger:
    """What Dfns says: live balances, confirmed movements back to the period, recent transfers."""

    balances: dict[str, tuple[AssetBalance, int]]
    movements: list[Movement]
    transfers: dict[str, TransferRequest]

    def summaries(self, period: ReportPeriod) -> list[AssetSummary]:
        totals = _Totals()
        for movement in self.movements:
            totals.add(movement, period)
        assets = {m.asset.key: m.asset for m in self.movements}
        for key, (asset, _) in self.balances.items():
            assets[key] = Asset(key, asset.symbol, asset.decimals)
        return [self._summary(asset, totals) for _, asset in sorted(assets.items())]

    def _summary(self, asset: Asset, totals: _Totals) -> AssetSummary:
        current = self.balances[asset.key][1] if asset.key in self.balances else 0
        closing = current - totals.after[asset.key]
        opening = closing - totals.inflow[asset.key] + totals.outflow[asset.key]
        return AssetSummary(
            asset=asset,
            opening_raw=opening,
            in_raw=totals.inflow[asset.key],
            out_raw=totals.outflow[asset.key],
            fees_raw=totals.fees[asset.key],
            closing_raw=closing,
        )


def provenance_request(
    requests: Sequence[DestinationRequest], network: str, address: str, at: datetime
) -> DestinationRequest | None:
    """The approved addition that made ``address`` a destination at ``at`` (none if removed since)."""
    key = address_key(network, address)
    resolved = sorted(
        (
            r
            for r in requests
            if r.status == "approved"
            and r.resolved_at is not None
            and r.resolved_at <= at
            and address_key(network, r.address) == key
        ),
        key=lambda r: (r.resolved_at, r.request_id),
    )
    current: DestinationRequest | None = None
    for request in resolved:
        current = request if request.action == "add" else None
    return current


class StatementService:
    def __init__(
        self, accounts: AccountsRepository, dfns: ReportsDfnsGateway, audit: AuditRepository, clock: Clock
    ) -> None:
        self._accounts = accounts
        self._dfns = dfns
        self._audit = audit
        self._clock = clock

    def statement(self, client_id: str, period: ReportPeriod) -> Statement:
        account = client_account(self._accounts, client_id)
        wallet_id = str(account.wallet_id)
        try:
            ledger = self._read(wallet_id, period)
        except DfnsError as error:
            raise from_dfns(error) from error
        within = sorted(
            (m for m in ledger.movements if m.occurred_at < period.end), key=lambda m: m.occurred_at
        )
        return Statement(
            client_id=client_id,
            wallet_id=wallet_id,
            address=account.address,
            network=account.network,
            period=period,
            generated_at=self._clock.now(),
            balances=ledger.summaries(period),
            lines=self._lines(account, within, ledger.transfers),
        )

    def _read(self, wallet_id: str, period: ReportPeriod) -> _Ledger:
        balances = {
            (a.contract.lower() if a.contract else NATIVE): (a, parse_raw(a.balance))
            for a in self._dfns.get_wallet_assets(wallet_id).assets
        }
        movements = [from_history(e) for e in self._history_since(wallet_id, period.start)]
        transfers = self._transfers_by_hash(wallet_id, period.start - TRANSFER_LOOKBACK)
        return _Ledger(balances, movements, transfers)

    def _history_since(self, wallet_id: str, start: datetime) -> Iterator[HistoryEvent]:
        """Newest first, down to the first event before ``start``."""
        token: str | None = None
        while True:
            page = self._dfns.wallet_history_page(wallet_id, limit=HISTORY_PAGE, token=token)
            for event in page.items:
                if event.timestamp is not None and event.timestamp < start:
                    return
                yield event
            if not page.next_page_token:
                return
            token = page.next_page_token

    def _transfers_by_hash(self, wallet_id: str, since: datetime) -> dict[str, TransferRequest]:
        found: dict[str, TransferRequest] = {}
        token: str | None = None
        while True:
            page = self._dfns.transfers_page(wallet_id, limit=TRANSFER_PAGE, token=token)
            for transfer in page.items:
                if transfer.date_requested is not None and transfer.date_requested < since:
                    return found
                if transfer.tx_hash:
                    found[transfer.tx_hash.lower()] = transfer
            if not page.next_page_token:
                return found
            token = page.next_page_token

    def _lines(
        self, account: Account, movements: list[Movement], transfers: dict[str, TransferRequest]
    ) -> list[StatementLine]:
        labels = DestinationLabels(self._accounts, account)
        requests = self._all_requests(account.client_id)
        lines: list[StatementLine] = []
        for confirmed in movements:
            transfer = transfers.get((confirmed.tx_hash or "").lower())
            movement = _with_transfer(confirmed, transfer) if transfer is not None else confirmed
            if movement.direction == "In" or movement.counterparty is None:
                lines.append(StatementLine(movement, labels.label(movement.counterparty)))
            else:
                lines.append(self._outflow(account, movement, transfer, requests, labels))
        return lines

    def _outflow(
        self,
        account: Account,
        movement: Movement,
        transfer: TransferRequest | None,
        requests: Sequence[DestinationRequest],
        labels: DestinationLabels,
    ) -> StatementLine:
        """An outflow with the provenance of its destination as of when the transfer was asked for."""
        assert movement.counterparty is not None
        asked_at = transfer.date_requested if transfer and transfer.date_requested else movement.occurred_at
        request = provenance_request(requests, account.network, movement.counterparty, asked_at)
        provenance = self._provenance(account.client_id, request) if request else None
        return StatementLine(
            movement,
            labels.label(movement.counterparty) or (request.label if request else None),
            provenance,
            unapproved_destination=provenance is None,
        )

    def _all_requests(self, client_id: str) -> list[DestinationRequest]:
        found: list[DestinationRequest] = []
        cursor: str | None = None
        while True:
            page = self._accounts.list_requests(client_id, limit=100, cursor=cursor)
            found.extend(page.items)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    def _provenance(self, client_id: str, request: DestinationRequest) -> Provenance:
        decisions = self._audit.decisions_for(client_id, request.approval_id) if request.approval_id else []
        return Provenance(
            request_id=request.request_id,
            requested_at=request.created_at,
            approval_id=request.approval_id,
            approved_at=request.resolved_at,
            approved_by=[
                Approver(d.actor_id, d.actor_name, d.occurred_at, str(d.details.get("value") or "") or None)
                for d in decisions
            ],
            ungoverned=request.ungoverned,
            label=request.label,
        )


def _with_transfer(movement: Movement, transfer: TransferRequest) -> Movement:
    return replace(
        movement,
        transfer_id=transfer.id,
        transfer_approval_id=transfer.approval_id,
        external_id=transfer.external_id,
    )
