"""The four client-transparency views behind one service (functions/reports): each reads the query as
the client sent it (400 naming any problem), then asks the service that owns the view.

| view | reads |
| --- | --- |
| restrictions | Dfns by id (wallet, whitelist live; shared policies cached ≤ 60 s); mirror; pending |
| activity | Dfns: one page (rarely two) of the history and of the transfers; the mirror for labels |
| audit, verification | the client's own partition only: never Dfns |
| statement | Dfns: balances, the history back to the period, recent transfers; requests and decisions |
"""

from __future__ import annotations

from dataclasses import dataclass

from managed_accounts.domain.activity import ActivityPage, ActivityService
from managed_accounts.domain.approval_evidence import Verification
from managed_accounts.domain.audit_trail import AuditTrailService
from managed_accounts.domain.models import validate_client_id
from managed_accounts.domain.ports import Clock
from managed_accounts.domain.report_models import AuditPage
from managed_accounts.domain.report_queries import StatementFormat, parse_format, parse_limit, parse_period
from managed_accounts.domain.restrictions import Restrictions, RestrictionsService
from managed_accounts.domain.statement import Statement, StatementService

AUDIT_DEFAULT_DAYS = 366
STATEMENT_DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class ClientReports:
    restrictions_service: RestrictionsService
    activity_service: ActivityService
    audit_service: AuditTrailService
    statement_service: StatementService
    clock: Clock

    def restrictions(self, client_id: str) -> Restrictions:
        return self.restrictions_service.restrictions(validate_client_id(client_id))

    def activity(self, client_id: str, *, limit: str | None, cursor: str | None) -> ActivityPage:
        size = parse_limit(limit)
        return self.activity_service.page(validate_client_id(client_id), limit=size, cursor=cursor or None)

    def audit(
        self, client_id: str, *, start: str | None, end: str | None, limit: str | None, cursor: str | None
    ) -> AuditPage:
        period = parse_period(start, end, now=self.clock.now(), default_days=AUDIT_DEFAULT_DAYS)
        size = parse_limit(limit, default=50)
        return self.audit_service.entries(
            validate_client_id(client_id),
            start=period.start,
            end=period.end,
            limit=size,
            cursor=cursor or None,
        )

    def verification(self, client_id: str, entry_id: str) -> Verification:
        return self.audit_service.verification(validate_client_id(client_id), entry_id)

    def statement(
        self, client_id: str, *, start: str | None, end: str | None, output: str | None
    ) -> tuple[Statement, StatementFormat]:
        period = parse_period(start, end, now=self.clock.now(), default_days=STATEMENT_DEFAULT_DAYS)
        chosen = parse_format(output)
        return self.statement_service.statement(validate_client_id(client_id), period), chosen
