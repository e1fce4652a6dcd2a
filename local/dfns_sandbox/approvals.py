"""Policy approvals (DFNS.md §5): quorum per group of every triggered policy, one denial denies, expiry.

Decision on service-account votes (UNCONFIRMED whether our org could enable them): the sandbox refuses
every vote from a service account with 403, whatever ``serviceAccountsCanApprove`` says.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import ApiError, bad_request, conflict, forbidden, not_found, reject_unknown
from dfns_sandbox.prices import random_id
from dfns_sandbox.store import Approval, Json, Policy, User, page_body, paginate

if TYPE_CHECKING:
    from dfns_sandbox.core import Sandbox


def create_approval(
    sb: Sandbox,
    *,
    initiator_id: str,
    activity_kind: str,
    evaluations: list[Json],
    triggered: list[Policy],
    transfer_id: str | None = None,
    change_request_id: str | None = None,
) -> Approval:
    now = sb.clock.now()
    timeouts = [p.action["autoRejectTimeout"] for p in triggered if p.action.get("autoRejectTimeout")]
    approval = Approval(
        id=random_id("ap"),
        initiator_id=initiator_id,
        activity_kind=activity_kind,
        date_created=now,
        date_updated=now,
        evaluations=evaluations,
        groups_by_policy={p.id: list(p.action["approvalGroups"]) for p in triggered},
        transfer_id=transfer_id,
        change_request_id=change_request_id,
        expiration_date=now + timedelta(minutes=min(timeouts)) if timeouts else None,
    )
    sb.store.approvals[approval.id] = approval
    if approval.expiration_date is not None:
        sb.store.expiring[approval.id] = approval
    return approval


def announce_pending(sb: Sandbox, approval: Approval) -> None:
    sb.emit("policy.approval.pending", {"approval": render_approval(sb, approval)})


def render_approval(sb: Sandbox, approval: Approval) -> Json:
    from dfns_sandbox.policies import render_change_request
    from dfns_sandbox.transfers import render_transfer

    activity: Json = {"kind": approval.activity_kind}
    if approval.transfer_id is not None:
        activity["transferRequest"] = render_transfer(sb.store.transfers[approval.transfer_id])
    if approval.change_request_id is not None:
        activity["changeRequest"] = render_change_request(
            sb.store.change_requests[approval.change_request_id]
        )
    body: Json = {
        "id": approval.id,
        "initiatorId": approval.initiator_id,
        "activity": activity,
        "status": approval.status,
        "dateCreated": iso(approval.date_created),
        "dateUpdated": iso(approval.date_updated or approval.date_created),
        "policyEvaluations": list(approval.evaluations),
        "decisions": list(approval.decisions),
    }
    if approval.expiration_date is not None:
        body["expirationDate"] = iso(approval.expiration_date)
    if approval.date_resolved is not None:
        body["dateResolved"] = iso(approval.date_resolved)
    return body


def _groups_of(approval: Approval, user_id: str) -> list[Json]:
    """The approval groups that list this user (or accept anyone)."""
    found = []
    for groups in approval.groups_by_policy.values():
        for group in groups:
            listed: Any = (group.get("approvers") or {}).get("userId", {}).get("in")
            if listed is None or user_id in listed:
                found.append(group)
    return found


def _counts_for(approval: Approval, group: Json, user_id: str) -> bool:
    listed: Any = (group.get("approvers") or {}).get("userId", {}).get("in")
    in_group = listed is None or user_id in listed
    return in_group and (user_id != approval.initiator_id or bool(group.get("initiatorCanApprove")))


def _quorum_reached(approval: Approval) -> bool:
    approvers = [d["userId"] for d in approval.decisions if d["value"] == "Approved"]
    return all(
        sum(_counts_for(approval, group, user_id) for user_id in approvers) >= group["quorum"]
        for groups in approval.groups_by_policy.values()
        for group in groups
    )


def can_approve(approval: Approval, user: User) -> bool:
    return not user.is_service_account and any(
        _counts_for(approval, g, user.user_id) for g in _groups_of(approval, user.user_id)
    )


def finish(sb: Sandbox, approval: Approval, status: str, when: datetime) -> None:
    approval.status = status
    approval.date_resolved = approval.date_updated = when
    sb.store.expiring.pop(approval.id, None)
    sb.on_approval_resolved(approval)
    sb.emit("policy.approval.resolved", {"approval": render_approval(sb, approval)})


def expire_due(sb: Sandbox, now: datetime) -> None:
    for approval in sorted(sb.store.expiring.values(), key=lambda a: a.expiration_date or now):
        if (
            approval.status == "Pending"
            and approval.expiration_date is not None
            and approval.expiration_date <= now
        ):
            finish(sb, approval, "Expired", approval.expiration_date)


def _get(ctx: Ctx) -> Approval:
    approval = ctx.sb.store.approvals.get(ctx.params["approvalId"])
    if approval is None:
        raise not_found("Approval", ctx.params["approvalId"])
    return approval


def decide(ctx: Ctx) -> Reply:
    approval = _get(ctx)
    body = ctx.body()
    reject_unknown(body, {"value", "reason"})
    value, reason = body.get("value"), body.get("reason")
    if value not in {"Approved", "Denied"}:
        raise bad_request("value must be Approved or Denied", field="value")
    if reason is not None and not isinstance(reason, str):
        raise bad_request("reason must be a string", field="reason")
    user = ctx.me
    if user.is_service_account:
        raise forbidden("service accounts cannot vote on approvals in this organization")
    if approval.status != "Pending":
        raise ApiError(422, f"approval is already {approval.status}", {"status": approval.status})
    if any(d["userId"] == user.user_id for d in approval.decisions):
        raise conflict("this user already decided on this approval")
    is_initiator = user.user_id == approval.initiator_id
    if value == "Approved" and not can_approve(approval, user):
        raise forbidden(
            "user is not allowed to approve this request" + (" (initiator)" if is_initiator else "")
        )
    if value == "Denied" and not (is_initiator or _groups_of(approval, user.user_id)):
        raise forbidden("user is not an approver of this request")
    now = ctx.sb.clock.now()
    approval.decisions.append({"userId": user.user_id, "date": iso(now), "reason": reason, "value": value})
    approval.date_updated = now
    if value == "Denied":
        finish(ctx.sb, approval, "Denied", now)
    elif _quorum_reached(approval):
        finish(ctx.sb, approval, "Approved", now)
    return ok(render_approval(ctx.sb, approval))


def get_approval(ctx: Ctx) -> Reply:
    return ok(render_approval(ctx.sb, _get(ctx)))


def list_approvals(ctx: Ctx) -> Reply:
    status, initiator, approver = (ctx.args.get(k) for k in ("status", "initiatorId", "approverId"))
    if status is not None and status not in {"Pending", "Approved", "Denied", "Expired"}:
        raise bad_request("status must be Pending, Approved, Denied or Expired", field="status")
    approver_user = ctx.sb.store.users.get(approver) if approver else None

    def keep(a: Approval) -> bool:
        return (
            (status is None or a.status == status)
            and (initiator is None or a.initiator_id == initiator)
            and (approver is None or (approver_user is not None and can_approve(a, approver_user)))
        )

    approvals = list(ctx.sb.store.approvals.values())
    items, token = paginate(
        approvals, ctx.args, lambda a: render_approval(ctx.sb, a), keep=keep, newest_first=True
    )
    return ok(page_body(items, token))


ROUTES = [
    Route("GET", "/v2/policy-approvals", list_approvals, permissions=("Policies:Evaluations:Read",)),
    Route(
        "GET", "/v2/policy-approvals/{approvalId}", get_approval, permissions=("Policies:Evaluations:Read",)
    ),
    Route(
        "POST",
        "/v2/policy-approvals/{approvalId}/decisions",
        decide,
        permissions=("Policies:Evaluations:Vote",),  # or its deprecated name Policies:Approvals:Approve
        audit_safe=True,
    ),
]
