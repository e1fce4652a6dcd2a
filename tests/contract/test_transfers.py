"""Transfers: validation, idempotency, lifecycle on the sandbox clock, the policy engine (DFNS.md §3, §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.contract.dfns_helpers import DfnsUser

ALLOWED = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
ETH = 10**18


def transfer(svc: DfnsUser, wallet: dict[str, Any], **body: Any) -> httpx.Response:
    return svc.signed("POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", **body})


def policy(
    svc: DfnsUser, rule: dict[str, Any], action: dict[str, Any], filters: dict[str, Any] | None = None
) -> str:
    body: dict[str, Any] = {
        "name": rule["kind"],
        "activityKind": "Wallets:Sign",
        "rule": rule,
        "action": action,
    }
    if filters is not None:
        body["filters"] = filters
    response = svc.signed("POST", "/v2/policies", body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def whitelist(addresses: list[str]) -> dict[str, Any]:
    return {"kind": "TransactionRecipientWhitelist", "configuration": {"addresses": addresses}}


def approval_by(user_id: str, timeout: int | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {
        "kind": "RequestApproval",
        "approvalGroups": [{"quorum": 1, "approvers": {"userId": {"in": [user_id]}}}],
    }
    if timeout:
        action["autoRejectTimeout"] = timeout
    return action


BLOCK = {"kind": "Block"}


def test_lifecycle_moves_on_the_sandbox_clock_and_updates_balances(
    svc: DfnsUser, wallet: dict[str, Any], advance: Callable[[float], None]
):
    created = transfer(svc, wallet, to=ALLOWED, amount=str(ETH))
    assert created.status_code == 200, created.text
    xfr = created.json()
    assert xfr["id"].startswith("xfr-")
    assert xfr["status"] == "Pending"
    assert xfr["requestBody"] == {"kind": "Native", "to": ALLOWED, "amount": str(ETH)}
    assert xfr["requester"]["userId"] == svc.user_id
    path = f"/wallets/{wallet['id']}/transfers/{xfr['id']}"
    statuses = []
    for seconds in (1, 2, 10):  # the default step delays (SandboxConfig)
        advance(seconds)
        statuses.append(svc.get(path).json()["status"])
    assert statuses == ["Executing", "Broadcasted", "Confirmed"]
    done = svc.get(path).json()
    assert done["status"] == "Confirmed"
    assert done["txHash"].startswith("0x")
    assert {"dateBroadcasted", "dateConfirmed", "datePolicyResolved", "fee"} <= set(done)
    balance = int(svc.get(f"/wallets/{wallet['id']}/assets").json()["assets"][0]["balance"])
    assert balance == 9 * ETH - int(done["fee"])
    out = svc.get(f"/wallets/{wallet['id']}/history", direction="Out").json()["items"]
    assert [(e["to"], e["value"], e["txHash"]) for e in out] == [(ALLOWED, str(ETH), done["txHash"])]
    listed = svc.get(f"/wallets/{wallet['id']}/transfers").json()
    assert [t["id"] for t in listed["items"]] == [xfr["id"]]


def test_insufficient_balance_fails_with_a_reason(
    svc: DfnsUser, wallet: dict[str, Any], advance: Callable[[float], None]
):
    xfr = transfer(svc, wallet, to=ALLOWED, amount=str(10 * ETH)).json()  # the fee makes it short
    advance(60)
    failed = svc.get(f"/wallets/{wallet['id']}/transfers/{xfr['id']}").json()
    assert failed["status"] == "Failed"
    assert "Insufficient balance" in failed["reason"]
    assert svc.get(f"/wallets/{wallet['id']}/assets").json()["assets"][0]["balance"] == str(10 * ETH)


def test_transfer_between_sandbox_wallets_credits_the_recipient(
    svc: DfnsUser, wallet: dict[str, Any], advance: Callable[[float], None]
):
    other = svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()
    transfer(svc, wallet, to=other["address"].upper().replace("0X", "0x"), amount="5")
    advance(60)
    assert svc.get(f"/wallets/{other['id']}/assets").json()["assets"][0]["balance"] == "5"
    assert svc.get(f"/wallets/{other['id']}/history").json()["items"][0]["direction"] == "In"


@pytest.mark.parametrize(
    "body",
    [
        {"to": ALLOWED, "amount": "1.5"},
        {"to": ALLOWED, "amount": 1},
        {"to": ALLOWED, "amount": "-1"},
        {"to": "not-an-address", "amount": "1"},
        {"to": ALLOWED, "amount": "1", "gasLimit": "21000"},
        {"to": ALLOWED, "amount": "1", "externalId": "x" * 51},
        {"to": ALLOWED, "amount": "1", "priority": "Turbo"},
        {"amount": "1"},
        {"to": ALLOWED, "amount": "1", "offer": "yes"},
        {"to": ALLOWED, "amount": "1", "expiresAt": "tomorrow"},
        {"to": ALLOWED, "amount": "1", "useDurableNonce": 1},
    ],
)
def test_invalid_transfer_bodies_are_400(svc: DfnsUser, wallet: dict[str, Any], body: dict[str, Any]):
    response = transfer(svc, wallet, **body)
    assert response.status_code == 400
    assert svc.get(f"/wallets/{wallet['id']}/transfers").json()["items"] == []


def test_external_id_idempotency(svc: DfnsUser, wallet: dict[str, Any], advance: Callable[[float], None]):
    first = transfer(svc, wallet, to=ALLOWED, amount="1", externalId="run1:c1").json()
    assert transfer(svc, wallet, to=ALLOWED, amount="1", externalId="run1:c1").json()["id"] == first["id"]
    conflict = transfer(svc, wallet, to=ALLOWED, amount="2", externalId="run1:c1")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["details"]["duplicate"] == {"id": first["id"], "externalId": "run1:c1"}
    other = svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()
    assert transfer(svc, other, to=ALLOWED, amount="1", externalId="run1:c1").status_code == 409
    advance(60)  # terminal: still bound, still the original
    again = transfer(svc, wallet, to=ALLOWED, amount="1", externalId="run1:c1").json()
    assert (again["id"], again["status"]) == (first["id"], "Confirmed")
    assert len(svc.get(f"/wallets/{wallet['id']}/transfers").json()["items"]) == 1


def test_whitelist_block_rejects_with_reason_and_evm_case_is_ignored(
    svc: DfnsUser, wallet: dict[str, Any], advance: Callable[[float], None]
):
    policy(
        svc,
        whitelist([ALLOWED.upper().replace("0X", "0x")]),
        BLOCK,
        {"walletTags": {"hasAny": ["client:c1"]}},
    )
    allowed = transfer(svc, wallet, to=ALLOWED, amount="1").json()
    blocked = transfer(svc, wallet, to=OTHER, amount="1")
    assert blocked.status_code == 200
    assert blocked.json()["status"] == "Rejected"
    assert blocked.json()["reason"] == "Blocked by policy: TransactionRecipientWhitelist"
    advance(60)
    assert svc.get(f"/wallets/{wallet['id']}/transfers/{allowed['id']}").json()["status"] == "Confirmed"
    assert svc.get(f"/wallets/{wallet['id']}/transfers/{blocked.json()['id']}").json()["status"] == "Rejected"


def test_non_evm_whitelist_compares_exactly(svc: DfnsUser, http: httpx.Client):
    sol = svc.signed("POST", "/wallets", {"network": "Solana"}).json()
    http.post("/sandbox/deposits", json={"walletId": sol["id"], "amount": "1000000000"})
    address = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
    policy(svc, whitelist([address]), BLOCK, {"walletId": {"in": [sol["id"]]}})
    assert transfer(svc, sol, to=address, amount="1").json()["status"] == "Pending"
    assert transfer(svc, sol, to=address.lower(), amount="1").json()["status"] == "Rejected"


def test_filters_scope_policies_by_tags_and_wallet_id(svc: DfnsUser, wallet: dict[str, Any]):
    policy(svc, whitelist([]), BLOCK, {"walletTags": {"hasAny": ["client:other"]}})
    policy(
        svc, whitelist([]), BLOCK, {"walletTags": {"hasAny": ["client:c1"], "hasAll": ["client:c1", "vip"]}}
    )
    policy(svc, whitelist([]), BLOCK, {"walletId": {"in": ["wa-someone-else"]}})
    assert transfer(svc, wallet, to=OTHER, amount="1").json()["status"] == "Pending"
    svc.signed("PUT", f"/wallets/{wallet['id']}/tags", {"tags": ["vip"]})
    assert transfer(svc, wallet, to=OTHER, amount="1").json()["status"] == "Rejected"


def test_amount_limit_in_usd_requests_approval_and_approval_releases_the_transfer(
    svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any], advance: Callable[[float], None]
):
    policy(
        svc,
        {"kind": "TransactionAmountLimit", "configuration": {"limit": 3000, "currency": "USD"}},
        approval_by(officer.user_id),
    )
    exactly_limit = transfer(svc, wallet, to=ALLOWED, amount=str(ETH)).json()  # 1 ETH = 3000 USD: not above
    assert "approvalId" not in exactly_limit
    above = transfer(svc, wallet, to=ALLOWED, amount=str(ETH + 1)).json()
    assert above["status"] == "Pending"
    approval = svc.get(f"/v2/policy-approvals/{above['approvalId']}").json()
    assert approval["activity"]["transferRequest"]["id"] == above["id"]
    assert approval["policyEvaluations"][0]["triggered"] is True
    advance(60)
    assert svc.get(f"/wallets/{wallet['id']}/transfers/{above['id']}").json()["status"] == "Pending"
    officer.signed("POST", f"/v2/policy-approvals/{above['approvalId']}/decisions", {"value": "Approved"})
    advance(60)
    assert svc.get(f"/wallets/{wallet['id']}/transfers/{above['id']}").json()["status"] == "Confirmed"


def test_denied_or_expired_approval_rejects_the_transfer(
    svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any], advance: Callable[[float], None]
):
    policy(svc, {"kind": "AlwaysTrigger", "configuration": {}}, approval_by(officer.user_id, timeout=10))
    denied = transfer(svc, wallet, to=ALLOWED, amount="1").json()
    expired = transfer(svc, wallet, to=ALLOWED, amount="2").json()
    officer.signed("POST", f"/v2/policy-approvals/{denied['approvalId']}/decisions", {"value": "Denied"})
    advance(11 * 60)
    for xfr, status in ((denied, "Denied"), (expired, "Expired")):
        assert svc.get(f"/v2/policy-approvals/{xfr['approvalId']}").json()["status"] == status
        after = svc.get(f"/wallets/{wallet['id']}/transfers/{xfr['id']}").json()
        assert after["status"] == "Rejected"
        assert after["reason"]


def test_block_wins_over_request_approval(svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any]):
    policy(svc, {"kind": "AlwaysTrigger", "configuration": {}}, approval_by(officer.user_id))
    policy(svc, whitelist([ALLOWED]), BLOCK)
    blocked = transfer(svc, wallet, to=OTHER, amount="1").json()
    assert blocked["status"] == "Rejected"
    assert "approvalId" not in blocked


def test_velocity_rules_count_over_a_window_on_the_sandbox_clock(
    svc: DfnsUser, wallet: dict[str, Any], advance: Callable[[float], None]
):
    policy(svc, {"kind": "TransactionCountVelocity", "configuration": {"limit": 2, "timeframe": 60}}, BLOCK)
    policy(
        svc,
        {
            "kind": "TransactionAmountVelocity",
            "configuration": {"limit": 6000, "currency": "USD", "timeframe": 60},
        },
        BLOCK,
    )
    assert transfer(svc, wallet, to=ALLOWED, amount=str(ETH)).json()["status"] == "Pending"
    third_eth = transfer(svc, wallet, to=ALLOWED, amount=str(ETH * 2)).json()  # 9000 USD in the window
    assert third_eth["status"] == "Rejected"
    assert transfer(svc, wallet, to=ALLOWED, amount="1").json()["status"] == "Pending"
    assert transfer(svc, wallet, to=ALLOWED, amount="1").json()["status"] == "Rejected"  # 3rd counted
    advance(61 * 60)
    assert transfer(svc, wallet, to=ALLOWED, amount="1").json()["status"] == "Pending"


def test_erc20_transfer_of_an_unpriced_token_trips_amount_limits(
    svc: DfnsUser, wallet: dict[str, Any], http: httpx.Client
):
    contract = "0x" + "12" * 20
    http.post("/sandbox/deposits", json={"walletId": wallet["id"], "amount": "500", "contract": contract})
    policy(
        svc, {"kind": "TransactionAmountLimit", "configuration": {"limit": 1000000, "currency": "USD"}}, BLOCK
    )
    body = {"kind": "Erc20", "contract": contract, "to": ALLOWED, "amount": "5"}
    assert svc.signed("POST", f"/wallets/{wallet['id']}/transfers", body).json()["status"] == "Rejected"
    native = transfer(svc, wallet, to=ALLOWED, amount="5").json()
    assert native["status"] == "Pending"


def test_concurrent_retries_with_one_external_id_make_one_transfer(svc: DfnsUser, wallet: dict[str, Any]):
    from concurrent.futures import ThreadPoolExecutor

    body = {"kind": "Native", "to": ALLOWED, "amount": "7", "externalId": "order-leg-1"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda _: svc.signed("POST", f"/wallets/{wallet['id']}/transfers", body), range(6))
        )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(svc.get(f"/wallets/{wallet['id']}/transfers").json()["items"]) == 1


def test_native_transfers_accept_offer_expires_at_and_durable_nonce(svc: DfnsUser, wallet: dict[str, Any]):
    extras = {"offer": True, "expiresAt": "2030-01-01T00:00:00.000Z", "useDurableNonce": False}
    created = transfer(svc, wallet, to=ALLOWED, amount="1", **extras)
    assert created.status_code == 200, created.text
    assert created.json()["requestBody"] == {"kind": "Native", "to": ALLOWED, "amount": "1", **extras}


def test_a_no_action_policy_is_evaluated_but_changes_nothing(svc: DfnsUser, wallet: dict[str, Any]):
    policy(svc, {"kind": "AlwaysTrigger", "configuration": {}}, {"kind": "NoAction"})
    created = transfer(svc, wallet, to=OTHER, amount="1").json()
    assert created["status"] == "Pending"
    assert "approvalId" not in created
    assert "reason" not in created
