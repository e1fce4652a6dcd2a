"""The compliance officers' approval: the one action every policy that waits for a human uses."""

from __future__ import annotations

from managed_accounts.config import Settings
from managed_accounts.dfns.models import ApprovalGroup, Approvers, RequestApprovalAction, UserIdIn


def compliance_approval(settings: Settings) -> RequestApprovalAction:
    """``compliance_quorum`` votes from the configured compliance officers; the initiator (our service
    account) never approves.

    With no officer configured the group is open to any org member (``approvers: {}``), which still
    excludes service accounts; the bootstrap refuses to run in that case.
    """
    ids = list(settings.compliance_approver_ids)
    group = ApprovalGroup(
        name="compliance",
        quorum=settings.compliance_quorum,
        approvers=Approvers(user_id=UserIdIn(in_=ids)) if ids else Approvers(),
        initiator_can_approve=False,
    )
    return RequestApprovalAction(
        approval_groups=[group], auto_reject_timeout=settings.approval_timeout_minutes
    )
