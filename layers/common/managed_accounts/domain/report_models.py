"""Models of the client-transparency views (issue 15): the audit trail, the shared-policy registry,
report periods, and the errors the four views answer with.

The audit trail is stored per client, in time order, as facts happen (DESIGN.md §4 "Audit trail"). An
entry's id encodes its time first, so the ids sort as the trail does, and its source second, so the
same fact recorded twice (a webhook and the reconciler, the ingestion job re-reading a window) is one
entry, never two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from managed_accounts.errors import DomainError, NotFound

AuditSource = Literal["product", "dfns"]
DECISION_KIND = "ApprovalDecision"
DFNS_ACTION_KIND = "DfnsAction"
_STAMP = "%Y%m%dT%H%M%S%fZ"


class InvalidQuery(DomainError):
    """A report's query is not usable (dates, period, format, limit, cursor): 400, naming the problem."""

    status, code = 400, "invalid_query"


class AccountNotFound(NotFound):
    """No account for the caller yet: every view answers this before onboarding."""

    code = "account_not_found"


def stamp(moment: datetime) -> str:
    """A UTC time that sorts as text: ``20260101T120000123456Z``."""
    return moment.astimezone(UTC).strftime(_STAMP)


def entry_id_for(occurred_at: datetime, source_key: str) -> str:
    """Time first (ids sort as the trail does), then a digest of the fact's own identity."""
    digest = hashlib.sha256(source_key.encode("utf-8")).hexdigest()[:20]
    return f"{stamp(occurred_at)}-{digest}"


@dataclass(frozen=True, slots=True)
class SharedPolicyIds:
    """The ids of the policies every client shares, recorded by the bootstrap: the governance policy
    and each limit profile's policies. The restrictions view reads these by id (never a listing)."""

    governance_policy_id: str | None
    limit_policy_ids: Mapping[str, tuple[str, ...]]
    recorded_at: datetime

    def for_profile(self, profile: str) -> tuple[str, ...]:
        return tuple(self.limit_policy_ids.get(profile, ()))


@dataclass(frozen=True, slots=True)
class DecisionEvidence:
    """The officer's signed action behind an approval decision, from ``GET /auth/action/logs/{id}``."""

    audit_log_id: str
    user_id: str | None = None
    username: str | None = None
    action: str | None = None
    challenge: str | None = None
    cred_id: str | None = None
    credential_kind: str | None = None
    public_key: str | None = None
    signature: str | None = None
    client_data: str | None = None
    authenticator_data: str | None = None
    retrieved: bool = True  # False: Dfns would not give the detail (e.g. 403); ids only
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    client_id: str
    entry_id: str
    occurred_at: datetime
    kind: str  # a domain event type, ``ApprovalDecision`` or ``DfnsAction``
    source: AuditSource
    summary: str
    actor_id: str | None = None
    actor_name: str | None = None
    approval_id: str | None = None
    dfns_audit_log_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    evidence: DecisionEvidence | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEntry] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime
