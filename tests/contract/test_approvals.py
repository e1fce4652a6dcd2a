"""Approvals: who may vote, quorum, listing filters (DFNS.md §5)."""

from __future__ import annotations

from typing import Any

import httpx
from dfns_sandbox import SandboxServer

from tests.contract.dfns_helpers import DfnsUser, load_private


def _officer(sandbox: SandboxServer, http: httpx.Client) -> DfnsUser:
    creds = http.post("/sandbox/officers", json={"name": "second officer"}).json()
    return DfnsUser(
        http, creds["token"], creds["credId"], load_private(creds["privateKeyPem"]), creds["userId"]
    )


def _pending(svc: DfnsUser, wallet: dict[str, Any], groups: list[dict[str, Any]]) -> str:
    body = {
        "name": "approve all",
        "activityKind": "Wallets:Sign",
        "rule": {"kind": "AlwaysTrigger"},
        "action": {"kind": "RequestApproval", "approvalGroups": groups},
    }
    assert svc.signed("POST", "/v2/policies", body).status_code == 200
    xfr = svc.signed(
        "POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", "to": "0x" + "1" * 40, "amount": "1"}
    )
    return str(xfr.json()["approvalId"])


def _vote(user: DfnsUser, approval_id: str, value: str) -> httpx.Response:
    return user.signed("POST", f"/v2/policy-approvals/{approval_id}/decisions", {"value": value})


def test_service_accounts_cannot_vote_even_when_listed(svc: DfnsUser, wallet: dict[str, Any]):
    group = {
        "quorum": 1,
        "approvers": {"userId": {"in": [svc.user_id]}},
        "serviceAccountsCanApprove": True,
        "initiatorCanApprove": True,
    }
    approval_id = _pending(svc, wallet, [group])
    for value in ("Approved", "Denied"):
        response = _vote(svc, approval_id, value)
        assert response.status_code == 403
    assert svc.get(f"/v2/policy-approvals/{approval_id}").json()["decisions"] == []


def test_quorum_of_two_needs_two_distinct_officers(
    sandbox: SandboxServer, http: httpx.Client, svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any]
):
    second = _officer(sandbox, http)
    approval_id = _pending(svc, wallet, [{"quorum": 2, "approvers": {}}])
    first_vote = _vote(officer, approval_id, "Approved").json()
    assert first_vote["status"] == "Pending"
    assert [d["userId"] for d in first_vote["decisions"]] == [officer.user_id]
    assert first_vote["decisions"][0]["date"]
    assert _vote(officer, approval_id, "Approved").status_code == 409  # one vote per user
    assert _vote(second, approval_id, "Approved").json()["status"] == "Approved"


def test_every_group_must_reach_quorum_and_one_denial_denies(
    sandbox: SandboxServer, http: httpx.Client, svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any]
):
    second = _officer(sandbox, http)
    groups = [
        {"quorum": 1, "approvers": {"userId": {"in": [officer.user_id]}}},
        {"quorum": 1, "approvers": {"userId": {"in": [second.user_id]}}},
    ]
    approval_id = _pending(svc, wallet, groups)
    assert _vote(officer, approval_id, "Approved").json()["status"] == "Pending"
    denied = _vote(second, approval_id, "Denied").json()
    assert denied["status"] == "Denied"
    assert denied["dateResolved"]


def test_users_outside_the_groups_cannot_vote(
    sandbox: SandboxServer, http: httpx.Client, svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any]
):
    outsider = _officer(sandbox, http)
    approval_id = _pending(svc, wallet, [{"quorum": 1, "approvers": {"userId": {"in": [officer.user_id]}}}])
    assert _vote(outsider, approval_id, "Approved").status_code == 403
    assert _vote(outsider, approval_id, "Denied").status_code == 403


def test_initiator_cannot_approve_without_initiator_can_approve(officer: DfnsUser, wallet: dict[str, Any]):
    # the officer initiates (signs the policy and the transfer) and then tries to approve their own request
    body = {
        "name": "p",
        "activityKind": "Wallets:Sign",
        "rule": {"kind": "AlwaysTrigger"},
        "action": {"kind": "RequestApproval", "approvalGroups": [{"quorum": 1, "approvers": {}}]},
    }
    officer.signed("POST", "/v2/policies", body)
    xfr = officer.signed(
        "POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", "to": "0x" + "1" * 40, "amount": "1"}
    )
    approval_id = xfr.json()["approvalId"]
    assert _vote(officer, approval_id, "Approved").status_code == 403
    assert _vote(officer, approval_id, "Denied").json()["status"] == "Denied"  # the initiator may cancel


def test_list_filters_and_paging(svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any]):
    ids = [_pending(svc, wallet, [{"quorum": 1, "approvers": {"userId": {"in": [officer.user_id]}}}])]
    xfr = svc.signed(
        "POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", "to": "0x" + "2" * 40, "amount": "1"}
    )
    ids.append(xfr.json()["approvalId"])
    _vote(officer, ids[0], "Approved")
    pending = svc.get("/v2/policy-approvals", status="Pending").json()["items"]
    assert [a["id"] for a in pending] == [ids[1]]
    mine = svc.get("/v2/policy-approvals", initiatorId=svc.user_id).json()["items"]
    assert {a["id"] for a in mine} == set(ids)
    assert svc.get("/v2/policy-approvals", initiatorId=officer.user_id).json()["items"] == []
    for_officer = svc.get("/v2/policy-approvals", approverId=officer.user_id).json()["items"]
    assert {a["id"] for a in for_officer} == set(ids)
    assert svc.get("/v2/policy-approvals", approverId=svc.user_id).json()["items"] == []
    page = svc.get("/v2/policy-approvals", limit=1).json()
    assert len(page["items"]) == 1
    assert svc.get("/v2/policy-approvals", limit=1, paginationToken=page["nextPageToken"]).json()["items"]
    assert svc.get("/v2/policy-approvals", status="Maybe").status_code == 400
    assert svc.get("/v2/policy-approvals/ap-nope").status_code == 404
