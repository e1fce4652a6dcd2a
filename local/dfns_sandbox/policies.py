"""Policies v2 (DFNS.md §4): create, get, list, full-replacement update, archive, and change requests.

An update or archive of a policy matched by an active ``Policies:Modify`` policy answers 202 with a change
request (§4.6), applied by the sandbox itself once approved. Decisions on the UNCONFIRMED points:
- a second change request while one is pending on the same policy → 409 (details.pendingChangeRequestId);
- archive's change request says ``operationKind: "Delete"`` (an update says ``"Update"``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from dfns_sandbox.approvals import announce_pending, create_approval
from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import ApiError, bad_request, conflict, not_found
from dfns_sandbox.prices import random_id
from dfns_sandbox.store import Approval, ChangeRequest, Json, Policy, page_body, paginate
from dfns_sandbox.validation import validate_policy_body

if TYPE_CHECKING:
    from dfns_sandbox.core import Sandbox


def render_change_request(change: ChangeRequest) -> Json:
    body: Json = {
        "id": change.id,
        "kind": "Policy",
        "operationKind": change.operation_kind,
        "status": change.status,
        "requester": change.requester,
        "entityId": change.entity_id,
        "dateCreated": iso(change.date_created),
    }
    if change.body is not None:
        body["body"] = change.body
    if change.approval_id is not None:
        body["approvalId"] = change.approval_id
    if change.date_resolved is not None:
        body["dateResolved"] = iso(change.date_resolved)
    return body


def render_policy(sb: Sandbox, policy: Policy) -> Json:
    body: Json = {
        "id": policy.id,
        "name": policy.name,
        "status": policy.status,
        "activityKind": policy.activity_kind,
        "rule": policy.rule,
        "action": policy.action,
        "dateCreated": iso(policy.date_created),
        "dateUpdated": iso(policy.date_updated),
    }
    if policy.filters is not None:
        body["filters"] = policy.filters
    if policy.pending_change_request_id is not None:
        body["pendingChangeRequest"] = render_change_request(
            sb.store.change_requests[policy.pending_change_request_id]
        )
    return body


def _get(ctx: Ctx) -> Policy:
    policy = ctx.sb.store.policies.get(ctx.params["policyId"])
    if policy is None:
        raise not_found("Policy", ctx.params["policyId"])
    return policy


def _apply(policy: Policy, body: Json, when: datetime) -> None:
    policy.name, policy.activity_kind = body["name"], body["activityKind"]
    policy.rule, policy.action, policy.filters = body["rule"], body["action"], body.get("filters")
    policy.date_updated = when


def create_policy(ctx: Ctx) -> Reply:
    body = validate_policy_body(ctx.body())
    now = ctx.sb.clock.now()
    policy = Policy(random_id("plc"), "", "", {}, {}, None, now, now)
    _apply(policy, body, now)
    ctx.sb.store.policies[policy.id] = policy
    ctx.sb.store.policy_version += 1
    return ok(render_policy(ctx.sb, policy))


def get_policy(ctx: Ctx) -> Reply:
    return ok(render_policy(ctx.sb, _get(ctx)))


def list_policies(ctx: Ctx) -> Reply:
    status = ctx.args.get("status")
    if status is not None and status not in {"Active", "Archived"}:
        raise bad_request("status must be Active or Archived", field="status")
    matches = [p for p in ctx.sb.store.policies.values() if status is None or p.status == status]
    items, token = paginate(matches, ctx.args, lambda p: render_policy(ctx.sb, p))
    return ok(page_body(items, token))


def _governing(sb: Sandbox, policy: Policy) -> list[Policy]:
    """Active Policies:Modify policies whose filters cover this policy (no filters = every policy)."""
    return [
        p
        for p in sb.store.policies.values()
        if p.status == "Active"
        and p.activity_kind == "Policies:Modify"
        and (p.filters is None or policy.id in p.filters["policyId"]["in"])
    ]


def _change(ctx: Ctx, policy: Policy, operation: str, body: Json | None) -> Reply:
    if policy.status == "Archived":
        raise ApiError(422, "policy is archived", {"policyId": policy.id})
    if policy.pending_change_request_id is not None:
        raise conflict(
            "policy already has a pending change request",
            pendingChangeRequestId=policy.pending_change_request_id,
        )
    sb, now = ctx.sb, ctx.sb.clock.now()
    governing = _governing(sb, policy)
    if not governing:
        sb.store.policy_version += 1
        if body is None:
            policy.status, policy.date_updated = "Archived", now
        else:
            _apply(policy, body, now)
        return ok(render_policy(sb, policy))
    change = ChangeRequest(random_id("cr"), operation, ctx.requester, policy.id, now, body)
    sb.store.change_requests[change.id] = change
    evaluations = [{"policyId": p.id, "triggered": True, "reason": "AlwaysTrigger"} for p in governing]
    approval = create_approval(
        sb,
        initiator_id=ctx.me.user_id,
        activity_kind="Policies:Modify",
        evaluations=evaluations,
        triggered=governing,
        change_request_id=change.id,
    )
    change.approval_id = approval.id
    policy.pending_change_request_id = change.id
    announce_pending(sb, approval)
    return ok(render_change_request(change), status=202)


def update_policy(ctx: Ctx) -> Reply:
    policy = _get(ctx)
    body = validate_policy_body(ctx.body())
    return _change(ctx, policy, "Update", body)


def archive_policy(ctx: Ctx) -> Reply:
    policy = _get(ctx)
    ctx.body(allow_empty=True)
    return _change(ctx, policy, "Delete", None)


def on_approval_resolved(sb: Sandbox, approval: Approval) -> None:
    """Apply an approved change request; reject it on denial or expiry (the policy stays as it was)."""
    assert approval.change_request_id is not None
    change = sb.store.change_requests[approval.change_request_id]
    policy = sb.store.policies[change.entity_id]
    when = approval.date_resolved or sb.clock.now()
    if approval.status == "Approved" and policy.status == "Active":
        if change.body is None:
            policy.status, policy.date_updated = "Archived", when
        else:
            _apply(policy, change.body, when)
        change.status = "Applied"
    else:
        change.status = "Rejected" if approval.status != "Approved" else "Failed"
    change.date_resolved = when
    policy.pending_change_request_id = None
    sb.store.policy_version += 1


ROUTES = [
    Route("POST", "/v2/policies", create_policy),
    Route("GET", "/v2/policies", list_policies),
    Route("GET", "/v2/policies/{policyId}", get_policy),
    Route("PUT", "/v2/policies/{policyId}", update_policy),
    Route("DELETE", "/v2/policies/{policyId}", archive_policy),
]
