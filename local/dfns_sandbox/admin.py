"""Sandbox-only admin routes for users: register service accounts, read or add compliance officers.

``POST /sandbox/service-accounts {name, publicKey, permissions?}``: without ``permissions`` the account gets
the product's service-account role (``permissions.SERVICE_ACCOUNT_ROLE``); with a list of operation names
it gets a role of its own holding exactly those. Officers hold ``ManagedFullAdminAccess``.
"""

from __future__ import annotations

from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import bad_request, reject_unknown


def create_service_account(ctx: Ctx) -> Reply:
    body = ctx.body()
    reject_unknown(body, {"name", "publicKey", "permissions"})
    name, public_key, permissions = body.get("name"), body.get("publicKey"), body.get("permissions")
    if not isinstance(name, str) or not name:
        raise bad_request("name is required", field="name")
    if not isinstance(public_key, str):
        raise bad_request("publicKey (PEM SPKI) is required", field="publicKey")
    if permissions is not None and not isinstance(permissions, list):
        raise bad_request("permissions must be a list of operation names", field="permissions")
    return ok(ctx.sb.register_service_account(public_key, name, permissions).as_json())


def list_officers(ctx: Ctx) -> Reply:
    return ok({"officers": [o.as_json() for o in ctx.sb.officers]})


def create_officer(ctx: Ctx) -> Reply:
    body = ctx.body(allow_empty=True)
    reject_unknown(body, {"name"})
    officer = ctx.sb.create_officer(str(body.get("name") or f"compliance-officer-{len(ctx.sb.officers) + 1}"))
    ctx.sb.officers.append(officer)
    return ok(officer.as_json())


ROUTES = [
    Route("POST", "/sandbox/service-accounts", create_service_account, admin=True),
    Route("GET", "/sandbox/officers", list_officers, admin=True),
    Route("POST", "/sandbox/officers", create_officer, admin=True),
]
