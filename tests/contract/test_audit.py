"""Audit log: one CSV row per signed user action, columns of DFNS.md §6."""

from __future__ import annotations

import csv
import io

from tests.contract.dfns_helpers import DfnsUser

COLUMNS = [
    "Date Performed",
    "Audit Log ID",
    "User ID",
    "Username",
    "Primary Credential ID",
    "Action Path",
    "Summary",
]
RANGE = {"startTime": "2000-01-01T00:00:00Z", "endTime": "2100-01-01T00:00:00Z"}


def _rows(user: DfnsUser, **params: str) -> list[dict[str, str]]:
    response = user.get("/auth/action/logs", **{**RANGE, **params})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def test_each_signed_action_is_one_row(svc: DfnsUser, officer: DfnsUser):
    wallet = svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()
    svc.signed("PUT", f"/wallets/{wallet['id']}/tags", {"tags": ["a"]})
    svc.signed("POST", "/wallets", {"network": "Nowhere"})  # refused, still a signed action
    svc.get("/wallets")  # reads are not user actions
    officer.signed("POST", "/wallets", {"network": "Solana"})
    rows = _rows(svc)
    assert len(rows) == 4
    first = rows[0]
    assert first["User ID"] == svc.user_id
    assert first["Primary Credential ID"] == svc.cred_id
    assert first["Username"] == "svc"
    assert first["Action Path"] == "POST /wallets"
    assert wallet["id"] in first["Summary"]
    assert "400" in rows[2]["Summary"]
    assert [r["User ID"] for r in _rows(svc, userId=officer.user_id)] == [officer.user_id]


def test_time_range_is_required_and_filters(svc: DfnsUser):
    assert svc.get("/auth/action/logs").status_code == 400
    svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    assert _rows(svc, startTime="2000-01-01T00:00:00Z", endTime="2000-01-02T00:00:00Z") == []
