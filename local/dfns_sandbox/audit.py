"""Audit logs (DFNS.md §6): ``GET /auth/action/logs`` is one CSV row per signed user action;
``GET /auth/action/logs/{id}`` is one of them in JSON with the REAL signature material (the credential's
public key, the clientData and signature exactly as the user signed them), so anyone can verify who
signed. Only actions on routes marked ``audit_safe`` are shown (wallets, transfers, policies, approval
decisions); others (webhooks: their URL and secret management) answer 403, as Dfns does for routes it does
not mark safe to expose.
"""

from __future__ import annotations

import csv
import io

from dfns_sandbox.clock import iso, parse_iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import bad_request, forbidden, not_found
from dfns_sandbox.store import AuditRow, Json

COLUMNS = [
    "Date Performed",
    "Audit Log ID",
    "User ID",
    "Username",
    "Primary Credential ID",
    "Action Path",
    "Summary",
]


def audit_csv(ctx: Ctx) -> Reply:
    try:
        start, end = parse_iso(ctx.args["startTime"]), parse_iso(ctx.args["endTime"])
    except KeyError as exc:
        raise bad_request("startTime and endTime are required (ISO UTC)") from exc
    except ValueError as exc:
        raise bad_request("startTime and endTime must be ISO dates") from exc
    user_id = ctx.args.get("userId")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in ctx.sb.store.audit:
        if start <= row.date <= end and (user_id is None or row.user_id == user_id):
            writer.writerow(
                [iso(row.date), row.id, row.user_id, row.username, row.cred_id, row.action_path, row.summary]
            )
    return Reply(200, out.getvalue(), content_type="text/csv; charset=utf-8")


def render_log(row: AuditRow, public_key_pem: str | None) -> Json:
    """``GET /auth/action/logs/{id}``: ``firstFactorCredential`` holds what verifies the signature:
    ``signature`` over the bytes of ``clientData`` (both base64url, as sent to ``POST /auth/action``) with
    ``publicKey`` (PEM); ``clientData`` carries the challenge of that action, and ``challenge`` is the one
    ``/auth/action/init`` issued for it (so a verifier can tie the signature to this action). ``action``
    is the concrete request (``POST /v2/policy-approvals/ap-…/decisions``). Key credentials have no
    ``authenticatorData`` (WebAuthn ones do)."""
    action = row.action
    assert action is not None
    return {
        "id": row.id,
        "action": row.action_path,
        "actionToken": action.token,
        "userId": row.user_id,
        "username": row.username,
        "datePerformed": iso(row.date),
        "dateSigned": iso(action.date_signed) if action.date_signed else None,
        "dateResolved": iso(row.date_resolved) if row.date_resolved else None,
        "responseStatus": row.response_status,
        "responseError": row.response_error,
        "challenge": action.challenge,
        "firstFactorCredential": {
            "credId": row.cred_id,
            "kind": "Key",
            "publicKey": public_key_pem,
            "clientData": action.client_data,
            "signature": action.signature,
        },
    }


def audit_log(ctx: Ctx) -> Reply:
    row = ctx.sb.store.audit_by_id.get(ctx.params["id"])
    if row is None or row.action is None:
        raise not_found("Audit log", ctx.params["id"])
    if not row.safe:
        raise forbidden("the details of this audit log are not exposed", action=row.action_path)
    user = ctx.sb.store.users.get(row.user_id)
    credential = user.credentials.get(row.cred_id) if user is not None else None
    return ok(render_log(row, credential.public_key_pem if credential is not None else None))


ROUTES = [
    Route("GET", "/auth/action/logs", audit_csv, permissions=("Auth:Logs:Read",)),
    Route("GET", "/auth/action/logs/{id}", audit_log, permissions=("Auth:Logs:Read",)),
]
