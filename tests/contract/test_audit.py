"""Audit log: one CSV row per signed user action (columns of DFNS.md §6), and one log in JSON with the
real signature material of the user action."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.contract.dfns_helpers import DfnsUser, compact, public_pem

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
    assert rows[1]["Action Path"] == f"PUT /wallets/{wallet['id']}/tags"  # concrete: the wallet is named
    assert "400" in rows[2]["Summary"]
    assert [r["User ID"] for r in _rows(svc, userId=officer.user_id)] == [officer.user_id]


def test_time_range_is_required_and_filters(svc: DfnsUser):
    assert svc.get("/auth/action/logs").status_code == 400
    svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    assert _rows(svc, startTime="2000-01-01T00:00:00Z", endTime="2000-01-02T00:00:00Z") == []


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_one_audit_log_carries_the_real_signature_of_the_officers_decision(
    svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any]
):
    review = {
        "name": "review",
        "activityKind": "Wallets:Sign",
        "rule": {"kind": "AlwaysTrigger", "configuration": {}},
        "action": {"kind": "RequestApproval", "approvalGroups": [{"quorum": 1, "approvers": {}}]},
    }
    assert svc.signed("POST", "/v2/policies", review).status_code == 200
    transfer = svc.signed(
        "POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", "to": "0x" + "a" * 40, "amount": "1"}
    ).json()
    path = f"/v2/policy-approvals/{transfer['approvalId']}/decisions"
    assert officer.signed("POST", path, {"value": "Approved", "reason": "ok"}).status_code == 200
    [row] = _rows(svc, userId=officer.user_id)

    response = svc.get(f"/auth/action/logs/{row['Audit Log ID']}")  # Auth:Logs:Read is in its role

    assert response.status_code == 200, response.text
    log = response.json()
    assert log["id"] == row["Audit Log ID"]
    assert log["action"] == f"POST {path}" == row["Action Path"]  # the concrete request, not the route
    assert log["actionToken"]
    assert (log["userId"], log["username"]) == (officer.user_id, "compliance-officer-1")
    assert log["responseStatus"] == 200
    assert log["responseError"] is None
    assert log["dateSigned"] <= log["datePerformed"] <= log["dateResolved"]
    credential = log["firstFactorCredential"]
    assert (credential["credId"], credential["kind"]) == (officer.cred_id, "Key")
    assert credential["publicKey"] == public_pem(officer.key)
    client_data = _b64url_decode(credential["clientData"])
    assert json.loads(client_data)["type"] == "key.get"
    assert json.loads(client_data)["challenge"] == log["challenge"]  # the one init issued for this action
    public_key = serialization.load_pem_public_key(credential["publicKey"].encode())
    assert isinstance(public_key, ed25519.Ed25519PublicKey)
    public_key.verify(_b64url_decode(credential["signature"]), client_data)  # raises if not genuine
    with pytest.raises(InvalidSignature):
        public_key.verify(_b64url_decode(credential["signature"]), client_data + b" ")


def test_the_action_path_names_the_object_acted_on_and_the_log_the_challenge_issued_for_it(
    svc: DfnsUser, wallet: dict[str, Any]
):
    tags_path = f"/wallets/{wallet['id']}/tags"
    content = compact({"tags": ["limits:standard"]})
    challenge = svc.challenge("PUT", tags_path, content.decode())
    signed = svc.http.post("/auth/action", json=svc.assertion(challenge), headers=svc.auth)
    assert svc.send("PUT", tags_path, content, str(signed.json()["userAction"])).status_code == 200
    transfer = svc.signed(
        "POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", "to": "0x" + "b" * 40, "amount": "1"}
    )
    assert transfer.status_code in (200, 201), transfer.text

    tags_row, transfer_row = _rows(svc)[-2:]  # the wallet fixture's own creation comes first

    # A tag change answers no id: only a concrete path lets an audit reader tell which wallet it touched.
    assert tags_row["Action Path"] == f"PUT {tags_path}"
    assert transfer_row["Action Path"] == f"POST /wallets/{wallet['id']}/transfers"
    log = svc.get(f"/auth/action/logs/{tags_row['Audit Log ID']}").json()
    assert log["action"] == f"PUT {tags_path}"
    assert log["challenge"] == challenge["challenge"]  # what /auth/action/init issued for this action
    client_data = json.loads(_b64url_decode(log["firstFactorCredential"]["clientData"]))
    assert client_data["challenge"] == challenge["challenge"]


def test_a_refused_action_is_logged_with_its_error(svc: DfnsUser):
    svc.signed("POST", "/wallets", {"network": "Nowhere"})
    [row] = _rows(svc)
    log = svc.get(f"/auth/action/logs/{row['Audit Log ID']}").json()
    assert log["responseStatus"] == 400
    assert "network" in log["responseError"]


def test_audit_logs_of_routes_not_marked_safe_are_403_and_unknown_ids_404(svc: DfnsUser):
    svc.signed("POST", "/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]})
    [row] = _rows(svc)
    assert row["Action Path"] == "POST /webhooks"
    refused = svc.get(f"/auth/action/logs/{row['Audit Log ID']}")
    assert refused.status_code == 403
    assert refused.json()["error"]["status"] == 403
    assert svc.get("/auth/action/logs/al-unknown").status_code == 404
