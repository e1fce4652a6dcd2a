"""Policies v2: CRUD, validation and Policies:Modify change requests (DFNS.md §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.contract.dfns_helpers import DfnsUser

WHITELIST = {
    "name": "whitelist client:c1",
    "activityKind": "Wallets:Sign",
    "rule": {"kind": "TransactionRecipientWhitelist", "configuration": {"addresses": ["0x" + "a" * 40]}},
    "action": {"kind": "Block"},
    "filters": {"walletTags": {"hasAny": ["client:c1"]}},
}


def governance(
    officer_id: str, policy_ids: list[str] | None = None, timeout: int | None = None
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "kind": "RequestApproval",
        "approvalGroups": [
            {"name": "compliance", "quorum": 1, "approvers": {"userId": {"in": [officer_id]}}}
        ],
    }
    if timeout is not None:
        action["autoRejectTimeout"] = timeout
    body: dict[str, Any] = {
        "name": "governance",
        "activityKind": "Policies:Modify",
        "rule": {"kind": "AlwaysTrigger", "configuration": {}},
        "action": action,
    }
    if policy_ids:
        body["filters"] = {"policyId": {"in": policy_ids}}
    return body


def with_addresses(addresses: list[str]) -> dict[str, Any]:
    rule = {"kind": "TransactionRecipientWhitelist", "configuration": {"addresses": addresses}}
    return {**WHITELIST, "rule": rule}


def test_create_get_list_update_archive_without_governance(svc: DfnsUser, admin: DfnsUser):
    created = svc.signed("POST", "/v2/policies", WHITELIST)
    assert created.status_code == 200, created.text
    policy = created.json()
    assert policy["id"].startswith("plc-")
    assert policy["status"] == "Active"
    assert svc.get(f"/v2/policies/{policy['id']}").json() == policy
    updated = svc.signed("PUT", f"/v2/policies/{policy['id']}", with_addresses(["0x" + "b" * 40]))
    assert updated.status_code == 200
    assert updated.json()["rule"]["configuration"]["addresses"] == ["0x" + "b" * 40]
    refused = svc.signed("DELETE", f"/v2/policies/{policy['id']}")
    assert refused.status_code == 403  # the product's role has no Policies:Delete
    assert refused.json()["error"]["details"]["missingPermissions"] == ["Policies:Delete"]
    archived = admin.signed("DELETE", f"/v2/policies/{policy['id']}")
    assert archived.status_code == 200
    assert archived.json()["status"] == "Archived"
    assert svc.get("/v2/policies", status="Active").json()["items"] == []
    assert [p["id"] for p in svc.get("/v2/policies", status="Archived").json()["items"]] == [policy["id"]]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"status": "Active"}, "unknown top-level field"),
        ({"activityKind": None}, "activityKind required"),
        (
            {
                "rule": {
                    "kind": "TransactionAmountLimit",
                    "configuration": {"limit": "100", "currency": "USD"},
                }
            },
            "limit string",
        ),
        (
            {"rule": {"kind": "TransactionAmountVelocity", "configuration": {"limit": 1, "currency": "USD"}}},
            "timeframe",
        ),
        (
            {"rule": {"kind": "TransactionCountVelocity", "configuration": {"limit": 1, "timeframe": 0}}},
            "timeframe 0",
        ),
        (
            {"rule": {"kind": "TransactionAmountLimit", "configuration": {"limit": 1, "currency": "EUR"}}},
            "currency",
        ),
        ({"filters": {"walletTags": {"hasNone": ["x"]}}}, "hasNone does not exist"),
        ({"action": {"kind": "RequestApproval", "approvalGroups": []}}, "no approval groups"),
        ({"action": {"kind": "RequestApproval", "approvalGroups": [{"quorum": 1}]}}, "approvers required"),
        ({"action": {"kind": "Block", "reason": "x"}}, "unknown action field"),
        ({"action": {"kind": "NoAction", "reason": "x"}}, "unknown NoAction field"),
    ],
)
def test_invalid_bodies_are_400(svc: DfnsUser, change: dict[str, Any], why: str):
    body = {k: v for k, v in {**WHITELIST, **change}.items() if v is not None}
    response = svc.signed("POST", "/v2/policies", body)
    assert response.status_code == 400, why
    assert svc.get("/v2/policies").json()["items"] == []


def test_policies_modify_allows_only_request_approval_and_needs_policy_id_filter(
    svc: DfnsUser, officer: DfnsUser
):
    block = {**governance(officer.user_id), "action": {"kind": "Block"}}
    assert svc.signed("POST", "/v2/policies", block).status_code == 400
    no_policy_id = {**governance(officer.user_id), "filters": {"walletId": {"in": ["wa-1"]}}}
    assert svc.signed("POST", "/v2/policies", no_policy_id).status_code == 400
    assert (
        svc.signed("POST", "/v2/policies", {**governance(officer.user_id), "filters": {}}).status_code == 400
    )
    assert svc.signed("POST", "/v2/policies", governance(officer.user_id, ["plc-x"])).status_code == 200


def _governed_whitelist(svc: DfnsUser, officer: DfnsUser, timeout: int | None = None) -> str:
    policy_id = str(svc.signed("POST", "/v2/policies", WHITELIST).json()["id"])
    assert (
        svc.signed("POST", "/v2/policies", governance(officer.user_id, [policy_id], timeout)).status_code
        == 200
    )
    return policy_id


def test_governed_update_is_a_202_change_request_applied_on_approval(svc: DfnsUser, officer: DfnsUser):
    policy_id = _governed_whitelist(svc, officer)
    response = svc.signed("PUT", f"/v2/policies/{policy_id}", with_addresses(["0x" + "c" * 40]))
    assert response.status_code == 202
    change = response.json()
    assert change["id"].startswith("cr-")
    assert (change["kind"], change["operationKind"], change["status"]) == ("Policy", "Update", "Pending")
    assert change["entityId"] == policy_id
    assert change["requester"]["userId"] == svc.user_id
    assert change["body"]["rule"]["configuration"]["addresses"] == ["0x" + "c" * 40]

    live = svc.get(f"/v2/policies/{policy_id}").json()
    assert live["rule"] == WHITELIST["rule"]
    assert live["pendingChangeRequest"]["id"] == change["id"]

    approval = svc.get(f"/v2/policy-approvals/{change['approvalId']}").json()
    assert approval["activity"]["kind"] == "Policies:Modify"
    assert approval["activity"]["changeRequest"]["id"] == change["id"]
    decided = officer.signed(
        "POST", f"/v2/policy-approvals/{change['approvalId']}/decisions", {"value": "Approved"}
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "Approved"

    applied = svc.get(f"/v2/policies/{policy_id}").json()
    assert applied["rule"]["configuration"]["addresses"] == ["0x" + "c" * 40]
    assert "pendingChangeRequest" not in applied


def test_second_change_request_on_a_policy_is_409(svc: DfnsUser, officer: DfnsUser, admin: DfnsUser):
    policy_id = _governed_whitelist(svc, officer)
    first = svc.signed("PUT", f"/v2/policies/{policy_id}", with_addresses(["0x" + "c" * 40]))
    assert first.status_code == 202
    second = svc.signed("PUT", f"/v2/policies/{policy_id}", with_addresses(["0x" + "d" * 40]))
    assert second.status_code == 409
    assert second.json()["error"]["details"]["pendingChangeRequestId"] == first.json()["id"]
    assert admin.signed("DELETE", f"/v2/policies/{policy_id}").status_code == 409


def test_denied_change_request_leaves_the_policy_unchanged(svc: DfnsUser, officer: DfnsUser):
    policy_id = _governed_whitelist(svc, officer)
    change = svc.signed("PUT", f"/v2/policies/{policy_id}", with_addresses(["0x" + "c" * 40])).json()
    path = f"/v2/policy-approvals/{change['approvalId']}/decisions"
    assert (
        officer.signed("POST", path, {"value": "Denied", "reason": "unknown address"}).json()["status"]
        == "Denied"
    )
    policy = svc.get(f"/v2/policies/{policy_id}").json()
    assert policy["rule"] == WHITELIST["rule"]
    assert "pendingChangeRequest" not in policy
    # the slot is free again: a new change request can be made
    assert (
        svc.signed("PUT", f"/v2/policies/{policy_id}", with_addresses(["0x" + "e" * 40])).status_code == 202
    )


def test_change_request_expires_with_auto_reject_timeout(
    svc: DfnsUser, officer: DfnsUser, advance: Callable[[float], None]
):
    policy_id = _governed_whitelist(svc, officer, timeout=30)
    change = svc.signed("PUT", f"/v2/policies/{policy_id}", with_addresses(["0x" + "c" * 40])).json()
    advance(29 * 60)
    assert svc.get(f"/v2/policy-approvals/{change['approvalId']}").json()["status"] == "Pending"
    advance(61)
    assert svc.get(f"/v2/policy-approvals/{change['approvalId']}").json()["status"] == "Expired"
    assert svc.get(f"/v2/policies/{policy_id}").json()["rule"] == WHITELIST["rule"]
    late = officer.signed(
        "POST", f"/v2/policy-approvals/{change['approvalId']}/decisions", {"value": "Approved"}
    )
    assert late.status_code == 422


def test_governed_archive_is_an_update_change_request_to_status_archived(
    svc: DfnsUser, officer: DfnsUser, admin: DfnsUser
):
    policy_id = _governed_whitelist(svc, officer)
    live = svc.get(f"/v2/policies/{policy_id}").json()
    change = admin.signed("DELETE", f"/v2/policies/{policy_id}")
    assert change.status_code == 202
    assert change.json()["operationKind"] == "Update"  # as Dfns's archive-policy example shows
    assert change.json()["body"] == {**live, "status": "Archived"}  # the full policy, archived
    assert svc.get(f"/v2/policies/{policy_id}").json()["status"] == "Active"  # until approved
    officer.signed(
        "POST", f"/v2/policy-approvals/{change.json()['approvalId']}/decisions", {"value": "Approved"}
    )
    assert svc.get(f"/v2/policies/{policy_id}").json()["status"] == "Archived"


def test_a_change_request_body_is_the_full_proposed_policy(svc: DfnsUser, officer: DfnsUser):
    policy_id = _governed_whitelist(svc, officer)
    live = svc.get(f"/v2/policies/{policy_id}").json()
    proposed = with_addresses(["0x" + "c" * 40])
    change = svc.signed("PUT", f"/v2/policies/{policy_id}", proposed).json()
    assert change["body"] == {
        **proposed,
        "id": policy_id,
        "status": "Active",
        "dateCreated": live["dateCreated"],
        "dateUpdated": live["dateUpdated"],
    }
    pending = svc.get(f"/v2/policies/{policy_id}").json()["pendingChangeRequest"]
    assert pending["body"] == change["body"]


def test_ungoverned_policies_are_not_gated_by_a_filtered_governance_policy(svc: DfnsUser, officer: DfnsUser):
    _governed_whitelist(svc, officer)
    other = svc.signed("POST", "/v2/policies", {**WHITELIST, "name": "other"}).json()
    assert (
        svc.signed("PUT", f"/v2/policies/{other['id']}", {**WHITELIST, "name": "renamed"}).status_code == 200
    )
