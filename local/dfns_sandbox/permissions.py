"""Roles and permissions: every Dfns route requires its operation(s), like Dfns's permission checks.

In the Dfns API a role is called a *permission* (``pm-…``: a name and a list of *operations*), and an
*assignment* (``as-…``) gives it to a user or service account. The operation names are Dfns's enum
(dfns-sdk-python 1.0.4 / API sync v1.993); the deprecated names Dfns still accepts count as the
current ones (``Policies:Archive`` = ``Policies:Delete``, ``Policies:Approvals:Approve`` =
``Policies:Evaluations:Vote``, ``Wallets:Tags:Delete`` = ``Wallets:Tags:Remove``, …).

Choices (documented in the README):
- ``Wallets:Sign`` is a policy *activity kind*, not an operation: a role listing it is refused (400) and
  a transfer needs ``Wallets:Transfers:Create``.
- Reading one's own service account needs ``Auth:ServiceAccounts:Read`` like any other (no self-read
  exemption is documented).
- Compliance officers (human users) hold ``ManagedFullAdminAccess``: every operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import bad_request, forbidden, not_found
from dfns_sandbox.prices import random_id
from dfns_sandbox.store import Assignment, Json, PermissionRecord, Store, User, page_body, paginate

if TYPE_CHECKING:
    from datetime import datetime

OPERATIONS: tuple[str, ...] = (
    "Auth:Logs:Read",
    "Auth:Users:Create",
    "Auth:Users:Read",
    "Auth:Users:Update",
    "Auth:Users:Activate",
    "Auth:Users:Deactivate",
    "Auth:Users:Delete",
    "Auth:ServiceAccounts:Create",
    "Auth:ServiceAccounts:Read",
    "Auth:ServiceAccounts:Update",
    "Auth:ServiceAccounts:Activate",
    "Auth:ServiceAccounts:Deactivate",
    "Auth:ServiceAccounts:Delete",
    "Auth:Pats:Create",
    "Auth:Delegated:Register",
    "Auth:Delegated:Login",
    "Auth:Delegated:Recover",
    "Agreements:Read",
    "Agreements:Accept",
    "Exchanges:Create",
    "Exchanges:Read",
    "Exchanges:Delete",
    "Exchanges:Deposits:Create",
    "Exchanges:Withdrawals:Create",
    "FeeSponsors:Create",
    "FeeSponsors:Read",
    "FeeSponsors:Update",
    "FeeSponsors:Delete",
    "FeeSponsors:Use",
    "Orgs:Read",
    "Orgs:Update",
    "Orgs:Settings:Read",
    "Orgs:Settings:Update",
    "Permissions:Create",
    "Permissions:Read",
    "Permissions:Update",
    "Permissions:Assign",
    "Permissions:Revoke",
    "Permissions:Delete",
    "Permissions:Assignments:Read",
    "Policies:Create",
    "Policies:Read",
    "Policies:Update",
    "Policies:Delete",
    "Policies:Evaluations:Read",
    "Policies:Evaluations:Vote",
    "Keys:Create",
    "Keys:Read",
    "Keys:Update",
    "Keys:Reuse",
    "Keys:Delegate",
    "Keys:Import",
    "Keys:Export",
    "Keys:Delete",
    "Keys:Signatures:Create",
    "Keys:Signatures:Read",
    "Wallets:Create",
    "Wallets:Read",
    "Wallets:Update",
    "Wallets:Tags:Add",
    "Wallets:Tags:Remove",
    "Wallets:Transactions:Create",
    "Wallets:Transactions:Read",
    "Wallets:Transactions:Abort",
    "Wallets:Transfers:Create",
    "Wallets:Transfers:Read",
    "Wallets:Transfers:Abort",
    "Wallets:Offers:Read",
    "Wallets:Offers:Settle",
    "AddressWatches:Create",
    "AddressWatches:Read",
    "Vaults:Create",
    "Vaults:Read",
    "Vaults:Update",
    "Vaults:Tags:Add",
    "Vaults:Tags:Remove",
    "Vaults:Transfers:Create",
    "Webhooks:Create",
    "Webhooks:Read",
    "Webhooks:Update",
    "Webhooks:Delete",
    "Webhooks:Ping",
    "Webhooks:Events:Read",
)
# Deprecated names Dfns still accepts in a role → the operation they stand for.
ALIASES: dict[str, str] = {
    "Policies:Archive": "Policies:Delete",
    "Policies:Approvals:Read": "Policies:Evaluations:Read",
    "Policies:Approvals:Approve": "Policies:Evaluations:Vote",
    "Wallets:Tags:Delete": "Wallets:Tags:Remove",
    "Permissions:Archive": "Permissions:Delete",
    "Vaults:Tags:Delete": "Vaults:Tags:Remove",
}
KNOWN = frozenset(OPERATIONS) | frozenset(ALIASES)

# The product's service-account role (docs/DEPLOY.md §3, plus what the sandbox's routes require to do
# the same work: ``Keys:Create`` for a wallet's new key, ``Auth:ServiceAccounts:Read`` for the
# bootstrap's check of its own role). Never tag removal, approval votes, policy deletion, Permissions:*.
SERVICE_ACCOUNT_ROLE: tuple[str, ...] = (
    "Auth:Logs:Read",
    "Auth:ServiceAccounts:Read",
    "Keys:Create",
    "Policies:Create",
    "Policies:Evaluations:Read",
    "Policies:Read",
    "Policies:Update",
    "Wallets:Create",
    "Wallets:Read",
    "Wallets:Tags:Add",
    "Wallets:Transfers:Create",
    "Wallets:Transfers:Read",
    "Webhooks:Create",
    "Webhooks:Delete",
    "Webhooks:Events:Read",
    "Webhooks:Ping",
    "Webhooks:Read",
    "Webhooks:Update",
)
SERVICE_ACCOUNT_ROLE_NAME = "ManagedAccountsServiceAccount"
FULL_ADMIN_ROLE_NAME = "ManagedFullAdminAccess"
MISSING_PERMISSION = "Forbidden: the caller lacks a permission this request requires"


def validate_operations(operations: object) -> list[str]:
    """A role's operations: known names only (400 otherwise, ``Wallets:Sign`` included), no duplicates."""
    if not isinstance(operations, list) or not all(isinstance(op, str) for op in operations):
        raise bad_request("permissions must be a list of operation names", field="permissions")
    unknown = sorted(set(operations) - KNOWN)
    if unknown:
        raise bad_request(f"unknown operations: {', '.join(unknown)}", field="permissions", unknown=unknown)
    return list(dict.fromkeys(operations))


def create_role(
    store: Store, name: str, operations: list[str], now: datetime, *, immutable: bool = False
) -> PermissionRecord:
    role = PermissionRecord(random_id("pm"), name, list(operations), now, is_immutable=immutable)
    store.permissions[role.id] = role
    return role


def role_named(store: Store, name: str) -> PermissionRecord | None:
    return next((p for p in store.permissions.values() if p.name == name and not p.is_archived), None)


def assign(store: Store, role: PermissionRecord, user: User, now: datetime) -> Assignment:
    assignment = Assignment(random_id("as"), role.id, user.user_id, now)
    store.assignments[assignment.id] = assignment
    user.assignment_ids.append(assignment.id)
    return assignment


def roles_of(store: Store, user: User) -> list[tuple[Assignment, PermissionRecord]]:
    found = []
    for assignment_id in user.assignment_ids:
        assignment = store.assignments[assignment_id]
        role = store.permissions[assignment.permission_id]
        if not role.is_archived:
            found.append((assignment, role))
    return found


def granted(store: Store, user: User) -> set[str]:
    """The operations a user holds, deprecated names resolved to the current ones."""
    held: set[str] = set()
    for _, role in roles_of(store, user):
        held.update(ALIASES.get(op, op) for op in role.operations)
    return held


def require(store: Store, user: User, *operations: str) -> None:
    """403 in Dfns's error shape unless the user holds every operation."""
    missing = sorted(set(operations) - granted(store, user))
    if missing:
        raise forbidden(MISSING_PERMISSION, requiredPermissions=list(operations), missingPermissions=missing)


# --- read routes: a role, and a service account with its roles --------------------------------------


def render_role(role: PermissionRecord) -> Json:
    return {
        "id": role.id,
        "name": role.name,
        "operations": list(role.operations),
        "status": "Active",
        "isImmutable": role.is_immutable,
        "isArchived": role.is_archived,
        "dateCreated": iso(role.date_created),
        "dateUpdated": iso(role.date_created),
    }


def _assignments_json(store: Store, user: User) -> list[Json]:
    return [
        {
            "permissionId": role.id,
            "permissionName": role.name,
            "assignmentId": assignment.id,
            "operations": list(role.operations),
        }
        for assignment, role in roles_of(store, user)
    ]


def render_service_account(store: Store, user: User) -> Json:
    """``{userInfo, accessTokens}`` as ``GET /auth/service-accounts/{id}`` answers (OpenAPI 2.0.155)."""
    credential = next(iter(user.credentials.values()), None)
    assignments = _assignments_json(store, user)
    created = iso(user.date_created) if user.date_created is not None else None
    token: Json = {
        "tokenId": user.token_id,
        "credId": credential.cred_id if credential else "",
        "publicKey": credential.public_key_pem if credential else "",
        "kind": "ServiceAccount",
        "isActive": True,
        "linkedUserId": user.user_id,
        "name": user.username,
        "orgId": store.org_id,
        "dateCreated": created,
        "permissionAssignments": assignments,
    }
    return {
        "userInfo": {
            "username": user.username,
            "name": user.username,
            "userId": user.user_id,
            "kind": "CustomerEmployee",
            "credentialUuid": credential.cred_id if credential else "",
            "orgId": store.org_id,
            "permissions": sorted(granted(store, user)),
            "isActive": True,
            "isServiceAccount": True,
            "isRegistered": True,
            "permissionAssignments": assignments,
        },
        "accessTokens": [token],
    }


def get_role(ctx: Ctx) -> Reply:
    role = ctx.sb.store.permissions.get(ctx.params["permissionId"])
    if role is None:
        raise not_found("Permission", ctx.params["permissionId"])
    return ok(render_role(role))


def list_roles(ctx: Ctx) -> Reply:
    items, token = paginate(list(ctx.sb.store.permissions.values()), ctx.args, render_role)
    return ok(page_body(items, token))


def _service_accounts(store: Store) -> list[User]:
    return [u for u in store.users.values() if u.is_service_account]


def get_service_account(ctx: Ctx) -> Reply:
    user = ctx.sb.store.users.get(ctx.params["serviceAccountId"])
    if user is None or not user.is_service_account:
        raise not_found("Service account", ctx.params["serviceAccountId"])
    return ok(render_service_account(ctx.sb.store, user))


def list_service_accounts(ctx: Ctx) -> Reply:
    store = ctx.sb.store
    items, token = paginate(_service_accounts(store), ctx.args, lambda u: render_service_account(store, u))
    return ok(page_body(items, token))


ROUTES = [
    Route("GET", "/permissions", list_roles, permissions=("Permissions:Read",)),
    Route("GET", "/permissions/{permissionId}", get_role, permissions=("Permissions:Read",)),
    Route("GET", "/auth/service-accounts", list_service_accounts, permissions=("Auth:ServiceAccounts:Read",)),
    Route(
        "GET",
        "/auth/service-accounts/{serviceAccountId}",
        get_service_account,
        permissions=("Auth:ServiceAccounts:Read",),
    ),
]
