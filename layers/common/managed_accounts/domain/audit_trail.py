"""The client's audit trail: reading it (GET /accounts/me/audit, no Dfns call at all) and recording it.

Recording happens where the facts already are, so nothing new has to remember to call it:
- ``AuditingPublisher`` wraps the domain-event publisher: every event about a client (committed in the
  outbox with its state change) is filed in that client's trail before it goes to the bus. Publishing
  is at least once and filing is idempotent, so the trail misses nothing and repeats nothing;
- ``DecisionRecorder`` wraps the approval resolver the webhook handler and the reconciler call with
  each approval they re-read from Dfns: the officers' decisions (who, when, why) are filed first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from managed_accounts.dfns.models import Approval
from managed_accounts.domain.approval_evidence import Verification, verify_decision
from managed_accounts.domain.audit_facts import (
    client_of_approval,
    decision_entries_of,
    entry_of_event,
    references_of,
)
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.ports import (
    AccountsRepository,
    ApprovalResolver,
    AuditRepository,
    EventPublisher,
    SignatureVerifier,
)
from managed_accounts.domain.report_accounts import client_account
from managed_accounts.domain.report_models import AuditPage
from managed_accounts.errors import NotFound
from managed_accounts.logs import get_logger

logger = get_logger("audit")


class AuditTrailService:
    def __init__(
        self, accounts: AccountsRepository, audit: AuditRepository, verifier: SignatureVerifier
    ) -> None:
        self._accounts = accounts
        self._audit = audit
        self._verifier = verifier

    def entries(
        self, client_id: str, *, start: datetime, end: datetime, limit: int, cursor: str | None = None
    ) -> AuditPage:
        client_account(self._accounts, client_id)
        return self._audit.list_entries(client_id, start=start, end=end, limit=limit, cursor=cursor)

    def verification(self, client_id: str, entry_id: str) -> Verification:
        client_account(self._accounts, client_id)
        entry = self._audit.get_entry(client_id, entry_id)
        if entry is None:
            raise NotFound("no such audit entry")
        return verify_decision(entry, self._verifier)


class AuditingPublisher:
    """An ``EventPublisher`` that files each event about a client in that client's trail, then publishes.

    If filing fails nothing is published and the events stay in the outbox for the relay, exactly as
    when the bus is down."""

    def __init__(self, inner: EventPublisher, audit: AuditRepository) -> None:
        self._inner = inner
        self._audit = audit

    def publish(self, events: Sequence[DomainEvent]) -> None:
        entries = [entry for entry in (entry_of_event(e) for e in events) if entry is not None]
        if entries:
            self._audit.record(entries)
        for event in events:
            references = references_of(event)
            if event.client_id and references:
                self._audit.file_references(event.client_id, references)
        self._inner.publish(events)


class DecisionRecorder:
    """An ``ApprovalResolver`` that files the officers' decisions of each approval before resolving it."""

    def __init__(self, inner: ApprovalResolver, accounts: AccountsRepository, audit: AuditRepository) -> None:
        self._inner = inner
        self._accounts = accounts
        self._audit = audit

    def apply_approval(self, approval: Approval) -> bool:
        self.record(approval)
        return self._inner.apply_approval(approval)

    def submit_next_batch(self, client_id: str) -> None:
        self._inner.submit_next_batch(client_id)

    def record(self, approval: Approval) -> int:
        """Files each decision of ``approval`` under its client; the number filed."""
        if not approval.decisions:
            return 0
        client_id = client_of_approval(approval, self._accounts, self._audit)
        if client_id is None:
            logger.info("approval concerns no managed client", extra={"approvalId": approval.id})
            return 0
        entries = decision_entries_of(client_id, approval)
        self._audit.record(entries)
        return len(entries)
