"""The facts of a client's audit trail, and the client each fact belongs to.

Three sources, one shape (``AuditEntry``):
- the product's own domain events (onboarding, destination requests and their transitions, drift,
  orders): ``entry_of_event``;
- approval decisions, recorded where the webhook handler and the reconciler re-read each approval,
  and again (with the officer's signed action) by the audit-log ingestion: ``decision_entries``;
- Dfns audit-log rows about the client's wallet or whitelist policy: ``dfns_action_entry``.
Each entry's id derives from the fact itself, so recording it twice yields one entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from managed_accounts.dfns.models import Approval, AuditLogRow, Decision
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.ports import AccountsRepository, AuditRepository
from managed_accounts.domain.report_models import (
    DECISION_KIND,
    DFNS_ACTION_KIND,
    AuditEntry,
    DecisionEvidence,
    entry_id_for,
)

# Dfns object ids as they appear in ids, paths and summaries: wa-…, plc-…, cr-…, ap-…, xfr-…
DFNS_ID = re.compile(r"(?<![A-Za-z0-9])(?:wa|plc|cr|ap|xfr)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dfns_ids_in(*texts: str | None) -> list[str]:
    """Every Dfns object id mentioned, in order, each once."""
    found: list[str] = []
    for text in texts:
        found.extend(DFNS_ID.findall(text or ""))
    return list(dict.fromkeys(found))


def _describe_destination(detail: Mapping[str, Any]) -> str:
    address = str(detail.get("address") or "?")
    label = detail.get("label")
    return f"{address} ({label})" if label else address


def _event_summary(event: DomainEvent) -> str:
    detail = event.detail
    what = _describe_destination(detail)
    reason = f": {detail['reason']}" if detail.get("reason") else ""
    removal = detail.get("action") == "remove"
    summaries = {
        "AccountOnboarded": f"Account opened: wallet {detail.get('walletId')} under whitelist policy "
        f"{detail.get('whitelistPolicyId')}",
        "DestinationRequested": f"Asked to {'remove' if removal else 'add'} destination {what}",
        "DestinationSubmitted": f"Sent to compliance in Dfns: {what} (approval {detail.get('approvalId')})",
        "DestinationApproved": f"Destination {'removal' if removal else 'addition'} approved: {what}"
        + (" (applied without governance)" if detail.get("ungoverned") else ""),
        "DestinationRejected": f"Destination {'removal' if removal else 'addition'} rejected: {what}{reason}",
        "DestinationFailed": f"Destination change failed: {what}{reason}",
        "SecurityDrift": f"Security drift detected: {detail.get('driftKind')}",
    }
    return summaries.get(event.type, event.type)


def entry_of_event(event: DomainEvent) -> AuditEntry | None:
    """The audit entry of a domain event about a client (None for events about no client)."""
    if not event.client_id:
        return None
    detail = dict(event.detail)
    approval_id = detail.get("approvalId")
    return AuditEntry(
        client_id=event.client_id,
        entry_id=entry_id_for(event.occurred_at, f"event:{event.event_id}"),
        occurred_at=event.occurred_at,
        kind=event.type,
        source="product",
        summary=_event_summary(event),
        actor_id=event.client_id if event.type == "DestinationRequested" else None,
        approval_id=approval_id if isinstance(approval_id, str) else None,
        details={**detail, "eventId": event.event_id},
    )


def references_of(event: DomainEvent) -> list[str]:
    """The Dfns ids a domain event ties to its client (a wallet, a policy, a change request, …)."""
    values = [v for v in event.detail.values() if isinstance(v, str)]
    return [v for v in values if DFNS_ID.fullmatch(v)]


def _decision_details(approval: Approval, decision: Decision) -> dict[str, Any]:
    activity = approval.activity
    change = activity.change_request if activity else None
    transfer = activity.transfer_request if activity else None
    details: dict[str, Any] = {
        "value": decision.value,
        "reason": decision.reason,
        "approvalStatus": approval.status,
        "activityKind": activity.kind if activity else None,
        "changeRequestId": change.id if change else None,
        "policyId": change.entity_id if change else None,
        "transferId": transfer.id if transfer else None,
        "initiatorId": approval.initiator_id,
    }
    return {k: v for k, v in details.items() if v is not None}


def decided_at(approval: Approval, decision: Decision) -> datetime:
    return decision.date or approval.date_resolved or approval.date_updated or approval.date_created or _EPOCH


def decision_entry(
    client_id: str,
    approval: Approval,
    decision: Decision,
    *,
    evidence: DecisionEvidence | None = None,
    username: str | None = None,
) -> AuditEntry:
    """One officer's decision on an approval (who, when, why), as both writers record it."""
    verb = "approved" if decision.value == "Approved" else "denied"
    reason = f": {decision.reason}" if decision.reason else ""
    at = decided_at(approval, decision)
    return AuditEntry(
        client_id=client_id,
        entry_id=entry_id_for(at, f"decision:{approval.id}:{decision.user_id}"),
        occurred_at=at,
        kind=DECISION_KIND,
        source="dfns",
        summary=f"Approval {approval.id} {verb} by a compliance officer{reason}",
        actor_id=decision.user_id,
        actor_name=username,
        approval_id=approval.id,
        dfns_audit_log_id=evidence.audit_log_id if evidence else None,
        details=_decision_details(approval, decision),
        evidence=evidence,
    )


def dfns_action_entry(client_id: str, row: AuditLogRow) -> AuditEntry:
    """A Dfns audit-log row about the client's wallet or whitelist policy."""
    return AuditEntry(
        client_id=client_id,
        entry_id=entry_id_for(row.date_performed, f"dfns:{row.audit_log_id}"),
        occurred_at=row.date_performed,
        kind=DFNS_ACTION_KIND,
        source="dfns",
        summary=row.summary or row.action_path,
        actor_id=row.user_id,
        actor_name=row.username or None,
        dfns_audit_log_id=row.audit_log_id,
        details={"actionPath": row.action_path, "credentialId": row.primary_credential_id},
    )


def client_of_approval(
    approval: Approval, accounts: AccountsRepository, audit: AuditRepository
) -> str | None:
    """Whose approval: a destination batch's (the requests carry its id), else the wallet of the
    transfer it holds."""
    known = audit.client_for(approval.id)
    if known is not None:
        return known
    requests = accounts.find_requests_by_approval(approval.id)
    if requests:
        return requests[0].client_id
    transfer = approval.activity.transfer_request if approval.activity else None
    account = accounts.get_account_by_wallet(transfer.wallet_id) if transfer else None
    return account.client_id if account else None


def decision_entries_of(client_id: str, approval: Approval) -> list[AuditEntry]:
    return [decision_entry(client_id, approval, decision) for decision in approval.decisions]
