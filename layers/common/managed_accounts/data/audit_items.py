"""DynamoDB item layout of the audit trail, its directory, the ingestion watermark and the shared-policy
registry (all on the main table, ``data/schema.py``).

- ``PK = CLIENT#<clientId>``, ``SK = AUDIT#<entryId>``: one audit entry. Entry ids start with their UTC
  time, so a range of ``SK`` is a period of the trail, in order. An approval decision also has GSI1
  ``AUDIT_DECISION#<approvalId>`` (a statement finds who approved a destination by its approval id).
- ``PK = DFNSREF#<dfnsId>``, ``SK = CLIENT``: whose wallet, policy, change request, approval or transfer a
  Dfns id is (filing Dfns audit-log rows).
- ``PK = AUDIT_INGEST``, ``SK = WATERMARK``: how far the Dfns audit log has been ingested.
- ``PK = SHARED_POLICIES``, ``SK = CURRENT``: the governance and limit-profile policy ids of the bootstrap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from managed_accounts.data.items import client_pk, iso, parse_iso
from managed_accounts.data.schema import GSI1_PK, GSI1_SK, PK, SK
from managed_accounts.domain.report_models import (
    DECISION_KIND,
    AuditEntry,
    DecisionEvidence,
    SharedPolicyIds,
)

Item = dict[str, Any]
AUDIT_PREFIX = "AUDIT#"
DIRECTORY_PREFIX = "DFNSREF#"  # infra/specs.py limits the directory's batch writes to these partitions
DIRECTORY_SK = "CLIENT"
WATERMARK_KEY: Item = {PK: "AUDIT_INGEST", SK: "WATERMARK"}
SHARED_POLICIES_KEY: Item = {PK: "SHARED_POLICIES", SK: "CURRENT"}

_EVIDENCE_FIELDS = (
    ("audit_log_id", "auditLogId"),
    ("user_id", "userId"),
    ("username", "username"),
    ("action", "action"),
    ("challenge", "challenge"),
    ("cred_id", "credId"),
    ("credential_kind", "credentialKind"),
    ("public_key", "publicKey"),
    ("signature", "signature"),
    ("client_data", "clientData"),
    ("authenticator_data", "authenticatorData"),
    ("note", "note"),
)


def entry_key(client_id: str, entry_id: str) -> Item:
    return {PK: client_pk(client_id), SK: AUDIT_PREFIX + entry_id}


def directory_key(dfns_id: str) -> Item:
    return {PK: DIRECTORY_PREFIX + dfns_id, SK: DIRECTORY_SK}


def decision_gsi1(approval_id: str) -> str:
    return f"AUDIT_DECISION#{approval_id}"


def evidence_to_map(evidence: DecisionEvidence) -> Item:
    values: Item = {wire: getattr(evidence, name) for name, wire in _EVIDENCE_FIELDS}
    values = {k: v for k, v in values.items() if v is not None}
    values["retrieved"] = evidence.retrieved
    return values


def map_to_evidence(raw: Mapping[str, Any]) -> DecisionEvidence:
    values = {name: raw.get(wire) for name, wire in _EVIDENCE_FIELDS}
    return DecisionEvidence(
        **{k: (str(v) if v is not None else None) for k, v in values.items() if k != "audit_log_id"},
        audit_log_id=str(raw.get("auditLogId") or ""),
        retrieved=bool(raw.get("retrieved", True)),
    )


def entry_attributes(entry: AuditEntry) -> Item:
    """The attributes an upsert sets: everything the entry knows (``None`` fields are left as they are)."""
    attributes: Item = {
        "type": "auditEntry",
        "clientId": entry.client_id,
        "entryId": entry.entry_id,
        "occurredAt": iso(entry.occurred_at),
        "kind": entry.kind,
        "source": entry.source,
        "summary": entry.summary,
        "details": json.dumps(dict(entry.details), separators=(",", ":"), sort_keys=True, default=str),
        "actorId": entry.actor_id,
        "actorName": entry.actor_name,
        "approvalId": entry.approval_id,
        "dfnsAuditLogId": entry.dfns_audit_log_id,
        "evidence": evidence_to_map(entry.evidence) if entry.evidence else None,
    }
    if entry.kind == DECISION_KIND and entry.approval_id:
        attributes[GSI1_PK] = decision_gsi1(entry.approval_id)
        attributes[GSI1_SK] = f"{entry.client_id}#{entry.entry_id}"
    return {k: v for k, v in attributes.items() if v is not None}


def item_to_entry(item: Mapping[str, Any]) -> AuditEntry:
    def text(name: str) -> str | None:
        value = item.get(name)
        return str(value) if value is not None else None

    evidence = item.get("evidence")
    return AuditEntry(
        client_id=str(item["clientId"]),
        entry_id=str(item["entryId"]),
        occurred_at=parse_iso(item["occurredAt"]),
        kind=str(item["kind"]),
        source="dfns" if item.get("source") == "dfns" else "product",
        summary=str(item.get("summary") or ""),
        actor_id=text("actorId"),
        actor_name=text("actorName"),
        approval_id=text("approvalId"),
        dfns_audit_log_id=text("dfnsAuditLogId"),
        details=json.loads(str(item.get("details") or "{}")),
        evidence=map_to_evidence(evidence) if isinstance(evidence, Mapping) else None,
    )


def shared_policies_to_item(policies: SharedPolicyIds) -> Item:
    item: Item = {
        **SHARED_POLICIES_KEY,
        "type": "sharedPolicies",
        "limitPolicyIds": {profile: list(ids) for profile, ids in policies.limit_policy_ids.items()},
        "recordedAt": iso(policies.recorded_at),
    }
    if policies.governance_policy_id:
        item["governancePolicyId"] = policies.governance_policy_id
    return item


def item_to_shared_policies(item: Mapping[str, Any]) -> SharedPolicyIds:
    raw = item.get("limitPolicyIds") or {}
    governance = item.get("governancePolicyId")
    return SharedPolicyIds(
        governance_policy_id=str(governance) if governance else None,
        limit_policy_ids={str(p): tuple(str(i) for i in ids) for p, ids in dict(raw).items()},
        recorded_at=parse_iso(item["recordedAt"]),
    )
