"""Paging over list endpoints and reading the audit-log CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
from managed_accounts.dfns.audit import AuditLogFormatError, parse_audit_csv
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.pagination import PaginationLoop, iter_items, page_size_param

from tests.unit.dfns.fake_dfns import FakeDfns


def _wallets(*ids: str, next_token: str | None = None) -> httpx.Response:
    page: dict[str, object] = {"items": [{"id": i, "network": "EthereumSepolia"} for i in ids]}
    if next_token:
        page["nextPageToken"] = next_token
    return httpx.Response(200, json=page)


def test_iterating_follows_tokens_until_the_last_page(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script(
        "GET",
        "/wallets",
        _wallets("wa-1", "wa-2", next_token="t1"),
        _wallets("wa-3", next_token="t2"),
        _wallets(),
    )

    ids = [w.id for w in client.iter_wallets(page_size=2)]

    assert ids == ["wa-1", "wa-2", "wa-3"]
    queries = [parse_qs(s.query) for s in fake.seen]
    assert queries == [
        {"limit": ["2"]},
        {"limit": ["2"], "paginationToken": ["t1"]},
        {"limit": ["2"], "paginationToken": ["t2"]},
    ]


def test_iteration_is_lazy(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("GET", "/wallets", _wallets("wa-1", next_token="t1"), _wallets("wa-2"))
    first = next(iter(client.iter_wallets()))
    assert first.id == "wa-1"
    assert len(fake.seen) == 1


def test_a_repeated_token_raises_instead_of_looping(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("GET", "/wallets", _wallets("wa-1", next_token="t1"), _wallets("wa-2", next_token="t1"))
    with pytest.raises(PaginationLoop):
        list(client.iter_wallets())
    assert len(fake.seen) == 2


def test_filters_are_passed_as_query_parameters(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script(
        "GET",
        "/v2/policy-approvals",
        httpx.Response(200, json={"items": [{"id": "ap-1", "status": "Pending"}]}),
    )
    fake.script(
        "GET", "/webhooks/wh-1/events", httpx.Response(200, json={"items": [{"id": "whe-1", "kind": "x"}]})
    )

    assert [a.id for a in client.iter_approvals(status="Pending")] == ["ap-1"]
    assert [e.id for e in client.iter_webhook_events("wh-1", delivery_failed=True)] == ["whe-1"]

    assert parse_qs(fake.seen[0].query) == {"limit": ["100"], "status": ["Pending"]}
    assert parse_qs(fake.seen[1].query) == {"limit": ["100"], "deliveryFailed": ["true"]}


def test_page_sizes_are_clamped_to_what_dfns_accepts() -> None:
    assert page_size_param(0) == 1
    assert page_size_param(10_000) == 500
    pages = iter([{"items": [{"id": 1}, "junk"], "nextPageToken": None}])
    assert list(iter_items(lambda _token: next(pages))) == [{"id": 1}]


AUDIT_CSV = (
    "Date Performed,Audit Log ID,User ID,Username,Primary Credential ID,Action Path,Summary\r\n"
    "2026-11-20T10:00:00.000Z,al-1,us-sa,managed-accounts,cr-1,POST /wallets,"
    '"Created wallet wa-1, tagged client:c-1"\r\n'
    '2026-11-20T11:30:00Z,al-2,us-co,Jane "CO" Doe,cr-2,POST /v2/policy-approvals/ap-1/decisions,'
    '"Approved, ""ok"""\r\n'
    "# TRUNCATED at 100000 rows\r\n"
)


def test_audit_csv_rows_keep_quoted_commas_and_drop_the_truncation_line() -> None:
    rows = parse_audit_csv(AUDIT_CSV)

    assert [r.audit_log_id for r in rows] == ["al-1", "al-2"]
    assert rows[0].summary == "Created wallet wa-1, tagged client:c-1"
    assert rows[0].date_performed == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert rows[1].username == 'Jane "CO" Doe'
    assert rows[1].summary == 'Approved, "ok"'
    assert rows[1].action_path == "POST /v2/policy-approvals/ap-1/decisions"


def test_audit_csv_edge_cases() -> None:
    assert parse_audit_csv("") == []
    header_only = (
        "Date Performed, Audit Log ID, User ID, Username, Primary Credential ID, Action Path, Summary\n"
    )
    assert parse_audit_csv(header_only) == []
    with pytest.raises(AuditLogFormatError):
        parse_audit_csv("When,What\n2026-11-20T10:00:00Z,x\n")


def test_audit_logs_query_the_range_and_parse_csv(fake: FakeDfns, client: DfnsClient) -> None:
    response = httpx.Response(
        200, text=AUDIT_CSV, headers={"Content-Type": "text/csv", "X-Dfns-Result-Truncated": "true"}
    )
    fake.script("GET", "/auth/action/logs", response)
    start = datetime(2026, 11, 20, tzinfo=UTC)

    rows = client.audit_logs(start, datetime(2026, 11, 21, tzinfo=UTC), user_id="us-sa")

    assert len(rows) == 2
    assert parse_qs(fake.seen[0].query) == {
        "startTime": ["2026-11-20T00:00:00Z"],
        "endTime": ["2026-11-21T00:00:00Z"],
        "userId": ["us-sa"],
    }
    with pytest.raises(ValueError, match="timezone"):
        client.audit_logs(datetime(2026, 11, 20), datetime(2026, 11, 21))
