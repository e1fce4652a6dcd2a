"""Wallets: create, get, list with paging, tags, assets, history, deposits (DFNS.md §2)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.contract.dfns_helpers import DfnsUser


def test_create_and_get_an_evm_wallet(svc: DfnsUser):
    body = {"network": "EthereumSepolia", "name": "Client 1", "tags": ["client:c1"], "externalId": "c1"}
    created = svc.signed("POST", "/wallets", body).json()
    assert re.fullmatch(r"wa-[a-z0-9]{5}-[a-z0-9]{5}-[a-z0-9]{16}", created["id"])
    assert re.fullmatch(r"0x[0-9a-f]{40}", created["address"])
    assert created["status"] == "Active"
    assert created["tags"] == ["client:c1"]
    assert created["externalId"] == "c1"
    assert svc.get(f"/wallets/{created['id']}").json() == created


def test_non_evm_addresses_are_plausible(svc: DfnsUser):
    bitcoin = svc.signed("POST", "/wallets", {"network": "Bitcoin"}).json()
    solana = svc.signed("POST", "/wallets", {"network": "Solana"}).json()
    assert bitcoin["address"].startswith("bc1q")
    assert re.fullmatch(r"[1-9A-HJ-NP-Za-km-z]{44}", solana["address"])


def test_repeated_external_id_is_a_409_naming_the_existing_wallet(svc: DfnsUser):
    first = svc.signed("POST", "/wallets", {"network": "EthereumSepolia", "externalId": "client-7"}).json()
    again = svc.signed("POST", "/wallets", {"network": "EthereumSepolia", "externalId": "client-7"})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["duplicate"] == {"id": first["id"], "externalId": "client-7"}
    assert len(svc.get("/wallets").json()["items"]) == 1


def test_create_rejects_unknown_fields_bad_networks_and_bad_tags(svc: DfnsUser):
    assert svc.signed("POST", "/wallets", {"network": "EthereumSepolia", "colour": "red"}).status_code == 400
    assert svc.signed("POST", "/wallets", {"network": "Atlantis"}).status_code == 400
    assert (
        svc.signed("POST", "/wallets", {"network": "EthereumSepolia", "tags": ["no spaces"]}).status_code
        == 400
    )
    assert svc.get("/wallets").json()["items"] == []


def test_unknown_wallet_is_404(svc: DfnsUser):
    response = svc.get("/wallets/wa-nope")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


def test_list_pages_with_limit_and_pagination_token(svc: DfnsUser):
    ids = [svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()["id"] for _ in range(5)]
    seen: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"paginationToken": token} if token else {})}
        page = svc.get("/wallets", **params).json()
        seen += [w["id"] for w in page["items"]]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert seen == ids
    assert svc.get("/wallets", limit=0).status_code == 400
    assert svc.get("/wallets", paginationToken="garbage!").status_code == 400


def test_tag_and_untag_with_a_json_body_on_delete(svc: DfnsUser, admin: DfnsUser, wallet: dict[str, Any]):
    path = f"/wallets/{wallet['id']}/tags"
    assert svc.signed("PUT", path, {"tags": ["limits:standard", "client:c1"]}).json() == {}
    assert svc.get(f"/wallets/{wallet['id']}").json()["tags"] == ["client:c1", "limits:standard"]
    assert admin.signed("DELETE", path, {"tags": ["client:c1"]}).status_code == 200
    assert svc.get(f"/wallets/{wallet['id']}").json()["tags"] == ["limits:standard"]
    assert svc.signed("PUT", path, {"tags": [f"t{i}" for i in range(10)]}).status_code == 400


def test_assets_and_history_reflect_a_deposit(svc: DfnsUser, http: httpx.Client, wallet: dict[str, Any]):
    assets = svc.get(f"/wallets/{wallet['id']}/assets", netWorth="true").json()
    native = assets["assets"][0]
    assert native["kind"] == "Native"
    assert native["balance"] == str(10 * 10**18)
    assert native["decimals"] == 18
    assert assets["netWorth"]["USD"] == 30000.0
    history = svc.get(f"/wallets/{wallet['id']}/history").json()
    assert history["walletId"] == wallet["id"]
    [event] = history["items"]
    assert event["direction"] == "In"
    assert event["kind"] == "NativeTransfer"
    assert event["value"] == str(10 * 10**18)
    assert event["to"] == wallet["address"]
    assert svc.get(f"/wallets/{wallet['id']}/history", direction="Out").json()["items"] == []


def test_deposit_to_unknown_wallet_is_404_and_amount_must_be_an_integer_string(http: httpx.Client):
    assert http.post("/sandbox/deposits", json={"walletId": "wa-x", "amount": "1"}).status_code == 404
    assert http.post("/sandbox/deposits", json={"walletId": "wa-x", "amount": 1}).status_code == 400


def test_update_name_and_external_id(admin: DfnsUser, wallet: dict[str, Any]):
    updated = admin.signed("PUT", f"/wallets/{wallet['id']}", {"name": "renamed", "externalId": "c9"}).json()
    assert (updated["name"], updated["externalId"]) == ("renamed", "c9")
    other = admin.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()
    assert admin.signed("PUT", f"/wallets/{other['id']}", {"externalId": "c9"}).status_code == 409
    assert admin.signed("PUT", f"/wallets/{other['id']}", {"network": "Bitcoin"}).status_code == 400


def test_networks_follow_the_dfns_enum(svc: DfnsUser):
    for network in ("BitcoinSignet", "BitcoinTestnet4"):
        created = svc.signed("POST", "/wallets", {"network": network})
        assert created.status_code == 200, created.text
        assert created.json()["address"].startswith("tb1q")
    assert svc.signed("POST", "/wallets", {"network": "BitcoinTestnet3"}).status_code == 400
