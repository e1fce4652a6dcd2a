"""Roles and permissions: every Dfns route needs its operation; the product's service-account role has no
tag removal, no votes, no policy deletion and no Permissions:*; an account can read its own roles."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dfns_sandbox.app import ALL_ROUTES
from dfns_sandbox.permissions import OPERATIONS, SERVICE_ACCOUNT_ROLE

from tests.contract.dfns_helpers import DfnsUser, new_key, public_pem

MakeAccount = Callable[..., DfnsUser]
# The signing flow itself needs no permission (DFNS.md §1.4): only a valid token.
UNGUARDED = {"POST /auth/action/init", "POST /auth/action"}


def _forbidden(response: httpx.Response, *missing: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["status"] == 403
    assert isinstance(error["id"], str)
    assert error["id"]
    assert isinstance(error["message"], str)
    assert error["details"]["missingPermissions"] == list(missing)


def test_every_dfns_route_declares_the_permission_it_needs():
    dfns_routes = [r for r in ALL_ROUTES if not r.admin]
    unguarded = {r.name for r in dfns_routes if not r.permissions}
    assert unguarded == UNGUARDED
    declared = {p for r in dfns_routes for p in r.permissions}
    assert declared <= set(OPERATIONS)


def test_the_default_role_is_the_products_and_nothing_dangerous():
    assert "Wallets:Tags:Remove" not in SERVICE_ACCOUNT_ROLE
    assert not [op for op in SERVICE_ACCOUNT_ROLE if op.startswith("Permissions:")]
    assert not [op for op in SERVICE_ACCOUNT_ROLE if op.endswith((":Vote", ":Approve"))]
    assert not {"Policies:Delete", "Policies:Archive"} & set(SERVICE_ACCOUNT_ROLE)


def test_the_products_service_account_cannot_untag(svc: DfnsUser, wallet: dict[str, Any]):
    path = f"/wallets/{wallet['id']}/tags"
    _forbidden(svc.signed("DELETE", path, {"tags": ["client:c1"]}), "Wallets:Tags:Remove")
    assert svc.get(f"/wallets/{wallet['id']}").json()["tags"] == ["client:c1"]


def test_a_custom_role_with_tag_removal_can_untag(
    svc: DfnsUser, make_service_account: MakeAccount, wallet: dict[str, Any]
):
    untagger = make_service_account(name="untagger", permissions=["Wallets:Read", "Wallets:Tags:Remove"])
    path = f"/wallets/{wallet['id']}/tags"
    assert untagger.signed("DELETE", path, {"tags": ["client:c1"]}).status_code == 200
    assert svc.get(f"/wallets/{wallet['id']}").json()["tags"] == []
    _forbidden(untagger.signed("PUT", path, {"tags": ["x"]}), "Wallets:Tags:Add")


def test_deprecated_operation_names_grant_the_current_ones(
    make_service_account: MakeAccount, svc: DfnsUser, wallet: dict[str, Any]
):
    old_names = make_service_account(
        name="old", permissions=["Wallets:Tags:Delete", "Policies:Archive", "Policies:Create"]
    )
    assert old_names.signed(
        "DELETE", f"/wallets/{wallet['id']}/tags", {"tags": ["client:c1"]}
    ).status_code == (200)
    policy = {
        "name": "p",
        "activityKind": "Wallets:Sign",
        "rule": {"kind": "AlwaysTrigger", "configuration": {}},
        "action": {"kind": "Block"},
    }
    created = old_names.signed("POST", "/v2/policies", policy).json()
    assert old_names.signed("DELETE", f"/v2/policies/{created['id']}").json()["status"] == "Archived"


def test_a_service_account_with_the_vote_permission_still_never_votes(
    make_service_account: MakeAccount, svc: DfnsUser, officer: DfnsUser, wallet: dict[str, Any]
):
    voter = make_service_account(name="voter", permissions=["Policies:Approvals:Approve"])
    whitelist = {
        "name": "review",
        "activityKind": "Wallets:Sign",
        "rule": {"kind": "AlwaysTrigger", "configuration": {}},
        "action": {
            "kind": "RequestApproval",
            "approvalGroups": [{"quorum": 1, "approvers": {}}],
        },
    }
    assert svc.signed("POST", "/v2/policies", whitelist).status_code == 200
    transfer = svc.signed(
        "POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", "to": "0x" + "a" * 40, "amount": "1"}
    ).json()
    decision = voter.signed(
        "POST", f"/v2/policy-approvals/{transfer['approvalId']}/decisions", {"value": "Approved"}
    )
    assert decision.status_code == 403  # past the permission check, but service accounts never vote
    assert "service accounts" in decision.json()["error"]["message"]
    _forbidden(
        svc.signed("POST", f"/v2/policy-approvals/{transfer['approvalId']}/decisions", {"value": "Approved"}),
        "Policies:Evaluations:Vote",
    )


def test_wallets_sign_is_an_activity_kind_not_an_operation(http: httpx.Client):
    body = {"name": "x", "publicKey": public_pem(new_key()), "permissions": ["Wallets:Sign"]}
    response = http.post("/sandbox/service-accounts", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["unknown"] == ["Wallets:Sign"]


def test_a_role_without_a_routes_permission_is_refused_everywhere(
    make_service_account: MakeAccount, wallet: dict[str, Any]
):
    nobody = make_service_account(name="nobody", permissions=[])
    wallet_id = wallet["id"]
    _forbidden(nobody.get("/wallets"), "Wallets:Read")
    _forbidden(nobody.get(f"/wallets/{wallet_id}/history"), "Wallets:Read")
    _forbidden(nobody.get(f"/wallets/{wallet_id}/transfers"), "Wallets:Transfers:Read")
    _forbidden(nobody.get("/v2/policies"), "Policies:Read")
    _forbidden(nobody.get("/v2/policy-approvals"), "Policies:Evaluations:Read")
    _forbidden(nobody.get("/webhooks"), "Webhooks:Read")
    _forbidden(nobody.get("/permissions"), "Permissions:Read")
    _forbidden(
        nobody.get("/auth/action/logs", startTime="2020-01-01", endTime="2030-01-01"), "Auth:Logs:Read"
    )
    _forbidden(
        nobody.signed("POST", "/wallets", {"network": "EthereumSepolia"}), "Keys:Create", "Wallets:Create"
    )
    _forbidden(
        nobody.signed(
            "POST",
            f"/wallets/{wallet_id}/transfers",
            {"kind": "Native", "to": "0x" + "b" * 40, "amount": "1"},
        ),
        "Wallets:Transfers:Create",
    )
    _forbidden(
        nobody.signed("POST", "/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["*"]}),
        "Webhooks:Create",
    )


def test_tags_on_a_new_wallet_need_tags_add(make_service_account: MakeAccount):
    creator = make_service_account(name="creator", permissions=["Wallets:Create", "Keys:Create"])
    assert creator.signed("POST", "/wallets", {"network": "EthereumSepolia"}).status_code == 200
    _forbidden(
        creator.signed("POST", "/wallets", {"network": "EthereumSepolia", "tags": ["client:c1"]}),
        "Wallets:Tags:Add",
    )


def test_officers_keep_full_rights(officer: DfnsUser, svc: DfnsUser, wallet: dict[str, Any]):
    assert (
        officer.signed("DELETE", f"/wallets/{wallet['id']}/tags", {"tags": ["client:c1"]}).status_code == 200
    )
    assert officer.get("/permissions").status_code == 200


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def test_a_service_account_reads_its_own_role(svc: DfnsUser, officer: DfnsUser):
    # Its token is a JWT naming its user, as Dfns's tokens do.
    assert _claims(svc.token)["https://custom/app_metadata"]["userId"] == svc.user_id

    account = svc.get(f"/auth/service-accounts/{svc.user_id}")
    assert account.status_code == 200, account.text
    info = account.json()["userInfo"]
    assert info["userId"] == svc.user_id
    assert info["isServiceAccount"] is True
    [assignment] = info["permissionAssignments"]
    assert assignment["permissionId"].startswith("pm-")
    assert assignment["assignmentId"].startswith("as-")
    assert assignment["permissionName"] == "ManagedAccountsServiceAccount"
    assert sorted(assignment["operations"]) == sorted(SERVICE_ACCOUNT_ROLE)
    [token] = account.json()["accessTokens"]
    assert token["kind"] == "ServiceAccount"
    assert token["permissionAssignments"] == [assignment]

    # The role itself: GET /permissions/{id} needs Permissions:Read, which the service account lacks.
    _forbidden(svc.get(f"/permissions/{assignment['permissionId']}"), "Permissions:Read")
    role = officer.get(f"/permissions/{assignment['permissionId']}").json()
    assert role["id"] == assignment["permissionId"]
    assert role["name"] == "ManagedAccountsServiceAccount"
    assert role["operations"] == assignment["operations"]
    assert role["status"] == "Active"
    assert officer.get("/permissions/pm-unknown").status_code == 404
    assert svc.get("/auth/service-accounts/us-unknown").status_code == 404


def test_the_role_can_be_chosen_at_registration(make_service_account: MakeAccount, http: httpx.Client):
    reader = make_service_account(name="reader", permissions=["Auth:ServiceAccounts:Read", "Wallets:Read"])
    [assignment] = reader.get(f"/auth/service-accounts/{reader.user_id}").json()["userInfo"][
        "permissionAssignments"
    ]
    assert assignment["operations"] == ["Auth:ServiceAccounts:Read", "Wallets:Read"]
    assert assignment["permissionName"] == "reader-role"
    assert (
        http.post(
            "/sandbox/service-accounts",
            json={"name": "x", "publicKey": public_pem(new_key()), "permissions": "all"},
        ).status_code
        == 400
    )


@pytest.mark.parametrize("permissions", [["Auth:ServiceAccounts:Read"], list(OPERATIONS)])
def test_reading_its_roles_needs_service_accounts_read(
    make_service_account: MakeAccount, permissions: list[str]
):
    account = make_service_account(name="a", permissions=permissions)
    assert account.get(f"/auth/service-accounts/{account.user_id}").status_code == 200
    blind = make_service_account(name="b", permissions=["Wallets:Read"])
    _forbidden(blind.get(f"/auth/service-accounts/{blind.user_id}"), "Auth:ServiceAccounts:Read")
