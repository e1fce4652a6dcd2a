"""The Dfns client's reads for the reports: single pages with their tokens, the audit-log export with its
truncation flag (header or trailing line), and one audit log's signature material in either shape."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
from managed_accounts.dfns.audit import marks_truncation
from managed_accounts.dfns.client import DfnsClient

from tests.unit.dfns.fake_dfns import FakeDfns

HEADER = "Date Performed,Audit Log ID,User ID,Username,Primary Credential ID,Action Path,Summary\r\n"
ROW = "2026-11-20T10:00:00.000Z,al-1,us-sa,svc,cr-1,POST /wallets,POST /wallets -> 200 wa-1\r\n"
START, END = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)


def test_history_and_transfer_pages_pass_the_token_and_return_the_next(
    fake: FakeDfns, client: DfnsClient
) -> None:
    history = {
        "walletId": "wa-1",
        "network": "EthereumSepolia",
        "items": [
            {
                "walletId": "wa-1",
                "kind": "NativeTransfer",
                "direction": "In",
                "value": "5",
                "fee": "1",
                "metadata": {"asset": {"symbol": "ETH", "decimals": 18}},
            }
        ],
        "nextPageToken": "h2",
    }
    transfers = {
        "items": [
            {"id": "xfr-1", "walletId": "wa-1", "status": "Pending", "metadata": {"asset": {"decimals": 18}}}
        ]
    }
    fake.script("GET", "/wallets/wa-1/history", httpx.Response(200, json=history))
    fake.script("GET", "/wallets/wa-1/transfers", httpx.Response(200, json=transfers))

    page = client.wallet_history_page("wa-1", limit=100, token="h1", direction="In")
    moves = client.transfers_page("wa-1", limit=1000)

    assert page.next_page_token == "h2"
    assert page.items[0].metadata
    assert page.items[0].metadata.asset
    assert (page.items[0].metadata.asset.symbol, page.items[0].fee) == ("ETH", "1")
    assert moves.next_page_token is None
    assert moves.items[0].metadata
    assert moves.items[0].metadata.asset
    assert moves.items[0].metadata.asset.decimals == 18
    assert parse_qs(fake.seen[0].query) == {"limit": ["100"], "paginationToken": ["h1"], "direction": ["In"]}
    assert parse_qs(fake.seen[1].query) == {"limit": ["500"]}


def test_an_export_is_truncated_when_dfns_says_so_in_the_header_or_the_last_line(
    fake: FakeDfns, client: DfnsClient
) -> None:
    fake.script(
        "GET",
        "/auth/action/logs",
        httpx.Response(200, text=HEADER + ROW, headers={"X-Dfns-Result-Truncated": "true"}),
        httpx.Response(200, text=HEADER + ROW + "# TRUNCATED at 100000 rows\r\n"),
        httpx.Response(200, text=HEADER + ROW),
    )

    flagged, trailed, whole = (client.audit_log_export(START, END) for _ in range(3))

    assert (flagged.truncated, trailed.truncated, whole.truncated) == (True, True, False)
    assert [r.audit_log_id for r in whole.rows] == ["al-1"]
    assert parse_qs(fake.seen[0].query) == {
        "startTime": ["2026-11-20T00:00:00Z"],
        "endTime": ["2026-11-21T00:00:00Z"],
    }
    assert not marks_truncation("")
    assert marks_truncation(HEADER + "# truncated\n\n")


def test_an_audit_log_detail_reads_the_flat_and_the_nested_signature_material(
    fake: FakeDfns, client: DfnsClient
) -> None:
    flat = {
        "id": "al-1",
        "userId": "us-co",
        "challenge": "ch-1",
        "firstFactorCredential": {
            "credId": "cr-1",
            "kind": "Key",
            "publicKey": "PEM",
            "signature": "s",
            "clientData": "c",
        },
    }
    nested = {
        "id": "al-2",
        "action": "POST /v2/policy-approvals/ap-1/decisions",
        "firstFactorCredential": {
            "id": "cr-2",
            "kind": "Fido2",
            "publicKey": "PEM2",
            "assertion": {"clientData": "c2", "signature": "s2", "authenticatorData": "a2"},
        },
    }
    fake.script("GET", "/auth/action/logs/al-1", httpx.Response(200, json=flat))
    fake.script("GET", "/auth/action/logs/al-2", httpx.Response(200, json=nested))

    one, two = client.get_audit_log("al-1"), client.get_audit_log("al-2")

    assert one.challenge == "ch-1"
    assert one.first_factor_credential is not None
    assert (one.first_factor_credential.cred_id, one.first_factor_credential.signature) == ("cr-1", "s")
    credential = two.first_factor_credential
    assert credential is not None
    assert (credential.cred_id, credential.kind, credential.client_data, credential.authenticator_data) == (
        "cr-2",
        "Fido2",
        "c2",
        "a2",
    )
