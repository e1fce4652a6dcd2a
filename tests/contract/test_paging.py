"""Paging over 1,000+ items (history, transfers): every item once, newest first, ``nextPageToken`` absent on
the last page, and items added while a client pages never shift or repeat what it sees.

The items are created in-process (the same WSGI app, without sockets, for speed); the pages are read over
real HTTP, with raw requests and with the product's client.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from dfns_sandbox import SandboxServer
from dfns_sandbox.app import SandboxApp
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.signing import UserActionSigner

from tests.contract.dfns_helpers import DfnsUser, new_key, public_pem

TRANSFERS = 1_001
DEPOSITS = 1_050


@dataclass
class Seeded:
    user: DfnsUser  # over real HTTP
    fast: DfnsUser  # in-process, for creating items quickly
    product: DfnsClient  # the product's client, over real HTTP
    wallet_id: str


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    """One sandbox for the module: a wallet with DEPOSITS history events and TRANSFERS transfers."""
    key = new_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with SandboxServer("127.0.0.1", 0) as sandbox:
        creds = sandbox.register_service_account(public_pem(key), "pager")
        transport = httpx.WSGITransport(app=SandboxApp(sandbox.sandbox), remote_addr="127.0.0.1")
        with (
            httpx.Client(base_url="http://sandbox", transport=transport) as in_process,
            httpx.Client(base_url=sandbox.url, timeout=30, verify=False) as http,
            DfnsClient(sandbox.url, creds.access_token, UserActionSigner(creds.cred_id, pem)) as product,
        ):
            fast = DfnsUser(in_process, creds.access_token, creds.cred_id, key, creds.user_id)
            wallet_id = fast.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()["id"]
            for _ in range(DEPOSITS):
                deposit = {"walletId": wallet_id, "amount": "1"}
                assert in_process.post("/sandbox/deposits", json=deposit).status_code == 200
            for n in range(TRANSFERS):
                body = {"kind": "Native", "to": "0x" + "a" * 40, "amount": str(n + 1)}
                assert fast.signed("POST", f"/wallets/{wallet_id}/transfers", body).status_code == 200
            user = DfnsUser(http, creds.access_token, creds.cred_id, key, creds.user_id)
            yield Seeded(user, fast, product, wallet_id)


def _pages(user: DfnsUser, path: str, limit: int, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    token: str | None = None
    while True:
        query = {**params, "limit": limit, **({"paginationToken": token} if token else {})}
        response = user.get(path, **query)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        token = response.json().get("nextPageToken")
        if token is None:
            return pages


def test_transfers_page_over_a_thousand_items_newest_first(seeded: Seeded):
    user, product, wallet_id = seeded.user, seeded.product, seeded.wallet_id
    pages = _pages(user, f"/wallets/{wallet_id}/transfers", 500)

    assert [len(p) for p in pages] == [500, 500, 1]
    amounts = [int(t["requestBody"]["amount"]) for page in pages for t in page]
    assert amounts == list(range(TRANSFERS, 0, -1))  # each once, newest first

    ids = [t.id for t in product.iter_transfers(wallet_id, page_size=200)]
    assert len(ids) == len(set(ids)) == TRANSFERS


def test_history_pages_over_a_thousand_items_with_default_and_custom_limits(seeded: Seeded):
    user, product, wallet_id = seeded.user, seeded.product, seeded.wallet_id
    default = user.get(f"/wallets/{wallet_id}/history").json()
    assert len(default["items"]) == 50
    assert "nextPageToken" in default

    pages = _pages(user, f"/wallets/{wallet_id}/history", 333, direction="In")
    assert [len(p) for p in pages] == [333, 333, 333, 51]
    hashes = [e["txHash"] for page in pages for e in page]
    assert len(set(hashes)) == DEPOSITS
    assert [e.direction for e in product.iter_wallet_history(wallet_id, page_size=500)] == ["In"] * DEPOSITS
    assert user.get(f"/wallets/{wallet_id}/history", direction="Out").json() == {
        "walletId": wallet_id,
        "network": "EthereumSepolia",
        "items": [],
    }


def test_items_added_while_paging_never_shift_the_pages(seeded: Seeded):
    """On a wallet of its own (the big one stays as seeded for the other tests)."""
    user, fast = seeded.user, seeded.fast
    wallet_id = fast.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()["id"]
    path = f"/wallets/{wallet_id}/transfers"
    for n in range(30):
        assert (
            fast.signed(
                "POST", path, {"kind": "Native", "to": "0x" + "a" * 40, "amount": str(n + 1)}
            ).status_code
            == 200
        )
    first = user.get(path, limit=7).json()
    for n in range(3):  # three newer transfers arrive between pages
        body = {"kind": "Native", "to": "0x" + "b" * 40, "amount": str(10_000 + n)}
        assert fast.signed("POST", path, body).status_code == 200
    rest: list[dict[str, Any]] = []
    token = first["nextPageToken"]
    while token:
        page = user.get(path, limit=7, paginationToken=token).json()
        rest += page["items"]
        token = page.get("nextPageToken")

    seen = [int(t["requestBody"]["amount"]) for t in [*first["items"], *rest]]
    assert seen == list(range(30, 0, -1))  # none repeated, none skipped
