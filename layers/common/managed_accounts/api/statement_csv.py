"""The statement as CSV (RFC 4180): CRLF line ends, a header row, fields quoted when they need it,
ISO-8601 UTC times, amounts as decimal strings. One row per opening balance, per movement (oldest
first) and per closing balance, so the file alone shows that ``opening + in − out = closing``."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from managed_accounts.api.report_models import units
from managed_accounts.domain.statement import AssetSummary, Statement, StatementLine

COLUMNS = (
    "row",
    "time",
    "asset",
    "symbol",
    "direction",
    "amount",
    "amount_minimum_units",
    "fee",
    "fee_minimum_units",
    "counterparty",
    "counterparty_label",
    "status",
    "tx_hash",
    "transfer_id",
    "order_id",
    "request_id",
    "requested_at",
    "approval_id",
    "approved_by",
    "approved_at",
    "unapproved_destination",
)


def _time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _balance_row(kind: str, summary: AssetSummary, raw: int, at: datetime) -> dict[str, str]:
    asset = summary.asset
    return {
        "row": kind,
        "time": _time(at),
        "asset": asset.key,
        "symbol": asset.symbol or "",
        "amount": units(raw, asset) or "",
        "amount_minimum_units": str(raw),
    }


def _provenance_columns(line: StatementLine) -> dict[str, str]:
    provenance = line.provenance
    if provenance is None:
        return {}
    approvers = "; ".join(f"{a.name or a.user_id} ({_time(a.decided_at)})" for a in provenance.approved_by)
    return {
        "request_id": provenance.request_id,
        "requested_at": _time(provenance.requested_at),
        "approval_id": provenance.approval_id or "",
        "approved_by": approvers,
        "approved_at": _time(provenance.approved_at),
    }


def _fee(line: StatementLine) -> str:
    movement = line.movement
    if movement.asset.key != "native" or movement.fee_raw is None:
        return ""
    return units(movement.fee_raw, movement.asset) or ""


def _movement_row(line: StatementLine) -> dict[str, str]:
    movement = line.movement
    outflow = movement.direction == "Out"
    return {
        "row": "movement",
        "time": _time(movement.occurred_at),
        "asset": movement.asset.key,
        "symbol": movement.asset.symbol or "",
        "direction": movement.direction,
        "amount": units(movement.amount_raw, movement.asset) or "",
        "amount_minimum_units": str(movement.amount_raw),
        "fee": _fee(line),
        "fee_minimum_units": "" if movement.fee_raw is None else str(movement.fee_raw),
        "counterparty": movement.counterparty or "",
        "counterparty_label": line.counterparty_label or "",
        "status": movement.status,
        "tx_hash": movement.tx_hash or "",
        "transfer_id": movement.transfer_id or "",
        "order_id": movement.order_id or "",
        **_provenance_columns(line),
        "unapproved_destination": str(line.unapproved_destination).lower() if outflow else "",
    }


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"). Token symbols come from the
# token's contract, so anyone who sends the wallet a token writes one; labels and names are free text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def spreadsheet_safe(value: str) -> str:
    """``value``, led by an apostrophe if a spreadsheet would read it as a formula (numbers stay)."""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def render_csv(statement: Statement) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n", restval="")
    writer.writeheader()
    start, end = statement.period.start, statement.period.end
    rows = [
        *(_balance_row("opening_balance", s, s.opening_raw, start) for s in statement.balances),
        *(_movement_row(line) for line in statement.lines),
        *(_balance_row("closing_balance", s, s.closing_raw, end) for s in statement.balances),
    ]
    for row in rows:
        writer.writerow({name: spreadsheet_safe(value) for name, value in row.items()})
    return out.getvalue()


def filename(statement: Statement) -> str:
    """``statement-<client>-<from>-<to>.csv``, with only characters safe in a header parameter."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", statement.client_id)
    start, end = statement.period.start, statement.period.end
    return f"statement-{safe}-{start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}.csv"
