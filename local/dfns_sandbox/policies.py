"""Policies v2 (DFNS.md §4): create, get, list, full-replacement update, archive, and change requests.

An update or archive of a policy matched by an active ``Policies:Modify`` policy answers 202 with a change
request (§4.6), applied by the sandbox itself once approved. Its ``body`` is the FULL proposed policy
(``id``, ``name``, ``status``, ``activityKind``, ``rule``, ``action``, ``filters?``, dates). Decisions on the
UNCONFIRMED points:
- a second change request while one is pending on the same policy → 409 (details.pendingChangeRequestId);
- archive's change request is ``operationKind: "Update"`` with the full policy and ``status: "Archived"``
  in ``body`` (what Dfns's own archive-policy example shows).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from dfns_sandbox.approvals import announce_pending, create_approval
from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import ApiError, bad_request, conflict, not_found
from dfns_sandbox.prices import random_id
from dfns_sandbox.reserialize import policy_parts, reorder
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


def _policy_json(policy: Policy, *, status: str | None = None, parts: Json | None = None) -> Json:
    """The policy object; ``parts`` (name, activityKind, rule, action, filters?) replace the live ones."""
    parts = parts or {
        "name": policy.name,
        "activityKind": policy.activity_kind,
        "rule": policy.rule,
        "action": policy.action,
        **({"filters": policy.filters} if policy.filters is not None else {}),
    }
    return {
        "id": policy.id,
        "name": parts["name"],
        "status": status or policy.status,
        "activityKind": parts["activityKind"],
        "rule": parts["rule"],
        "action": parts["action"],
        **({"filters": parts["filters"]} if parts.get("filters") is not None else {}),
        "dateCreated": iso(policy.date_created),
        "dateUpdated": iso(policy.date_updated),
    }


def render_policy(sb: Sandbox, policy: Policy) -> Json:
    body = _policy_json(policy)
    if policy.pending_change_request_id is not None:
        body["pendingChangeRequest"] = render_change_request(
            sb.store.change_requests[policy.pending_change_request_id]
        )
    return reorder(body) if sb.faults.reserialize else body


def _get(ctx: Ctx) -> Policy:
    policy = ctx.sb.store.policies.get(ctx.params["policyId"])
    if policy is None:
        raise not_found("Policy", ctx.params["policyId"])
    return policy


def _stored(sb: Sandbox, body: Json) -> Json:
    """A validated body as the sandbox keeps it (re-serialised in that mode)."""
    if not sb.faults.reserialize:
        return body
    rule, action, filters = policy_parts(body["rule"], body["action"], body.get("filters"))
    return {**body, "rule": rule, "action": action, **({"filters": filters} if filters is not None else {})}


def _apply(policy: Policy, body: Json, when: datetime) -> None:
    policy.name, policy.activity_kind = body["name"], body["activityKind"]
    policy.rule, policy.action, policy.filters = body["rule"], body["action"], body.get("filters")
    policy.date_updated = when


def create_policy(ctx: Ctx) -> Reply:
    body = _stored(ctx.sb, validate_policy_body(ctx.body()))
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
    items, token = paginate(
        list(ctx.sb.store.policies.values()),
        ctx.args,
        lambda p: render_policy(ctx.sb, p),
        keep=lambda p: status is None or p.status == status,
    )
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


def _change(ctx: Ctx, policy: Policy, body: Json | None) -> Reply:
    """``body`` None archives the policy; otherwise it is the validated replacement."""
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
    proposed = _policy_json(policy, status="Archived") if body is None else _policy_json(policy, parts=body)
    if sb.faults.reserialize:
        proposed = reorder(proposed)
    change = ChangeRequest(random_id("cr"), "Update", ctx.requester, policy.id, now, proposed)
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
    body = _stored(ctx.sb, validate_policy_body(ctx.body()))
    return _change(ctx, policy, body)


def archive_policy(ctx: Ctx) -> Reply:
    policy = _get(ctx)
    ctx.body(allow_empty=True)
    return _change(ctx, policy, None)


def on_approval_resolved(sb: Sandbox, approval: Approval) -> None:
    """Apply an approved change request; reject it on denial or expiry (the policy stays as it was)."""
    assert approval.change_request_id is not None
    change = sb.store.change_requests[approval.change_request_id]
    policy = sb.store.policies[change.entity_id]
    when = approval.date_resolved or sb.clock.now()
    if approval.status == "Approved" and policy.status == "Active":
        assert change.body is not None
        if change.body["status"] == "Archived":
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
    Route("POST", "/v2/policies", create_policy, permissions=("Policies:Create",), audit_safe=True),
    Route("GET", "/v2/policies", list_policies, permissions=("Policies:Read",)),
    Route("GET", "/v2/policies/{policyId}", get_policy, permissions=("Policies:Read",)),
    Route("PUT", "/v2/policies/{policyId}", update_policy, permissions=("Policies:Update",), audit_safe=True),
    Route(
        "DELETE", "/v2/policies/{policyId}", archive_policy, permissions=("Policies:Delete",), audit_safe=True
    ),
]
