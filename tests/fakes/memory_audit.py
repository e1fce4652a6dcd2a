"""In-memory ``AuditRepository`` and ``PolicyRegistry`` with the DynamoDB adapters' semantics (upserts that
only set what they know, ``[from, to)`` ranges in entry-id order, owner-bound cursors, a conditional
watermark). tests/integration runs both through the same tests (``test_audit_repository.py``)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import datetime

from managed_accounts.data.audit_items import AUDIT_PREFIX
from managed_accounts.data.audit_repository import decode_audit_cursor, encode_audit_cursor, period_bounds
from managed_accounts.domain.report_models import DECISION_KIND, AuditEntry, AuditPage, SharedPolicyIds


class MemoryAuditRepository:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], AuditEntry] = {}
        self.directory: dict[str, str] = {}
        self.watermark: datetime | None = None
        self._lock = threading.RLock()

    def record(self, entries: Sequence[AuditEntry]) -> None:
        with self._lock:
            for entry in entries:
                key = (entry.client_id, entry.entry_id)
                stored = self.entries.get(key)
                if stored is None:
                    self.entries[key] = entry
                    continue
                known = {
                    f.name: getattr(entry, f.name)
                    for f in fields(entry)
                    if getattr(entry, f.name) is not None
                }
                self.entries[key] = replace(stored, **known)

    def list_entries(
        self, client_id: str, *, start: datetime, end: datetime, limit: int, cursor: str | None = None
    ) -> AuditPage:
        low, high = period_bounds(start, end)
        after = decode_audit_cursor(client_id, cursor) if cursor else ""
        mine = sorted((AUDIT_PREFIX + e.entry_id, e) for (c, _), e in self.entries.items() if c == client_id)
        found = [(sk, e) for sk, e in mine if max(low, after) <= sk <= high and sk != after]
        page = found[:limit]
        next_cursor = encode_audit_cursor(client_id, page[-1][0]) if len(found) > limit else None
        return AuditPage([e for _, e in page], next_cursor)

    def get_entry(self, client_id: str, entry_id: str) -> AuditEntry | None:
        return self.entries.get((client_id, entry_id))

    def decisions_for(self, client_id: str, approval_id: str) -> list[AuditEntry]:
        return sorted(
            (
                e
                for (c, _), e in self.entries.items()
                if c == client_id and e.kind == DECISION_KIND and e.approval_id == approval_id
            ),
            key=lambda e: e.entry_id,
        )

    def file_references(self, client_id: str, dfns_ids: Sequence[str]) -> None:
        with self._lock:
            for dfns_id in dfns_ids:
                self.directory[dfns_id] = client_id

    def client_for(self, dfns_id: str) -> str | None:
        return self.directory.get(dfns_id)

    def ingest_watermark(self) -> datetime | None:
        return self.watermark

    def advance_watermark(self, previous: datetime | None, through: datetime) -> bool:
        with self._lock:
            if self.watermark != previous:
                return False
            self.watermark = through
            return True


class MemoryPolicyRegistry:
    def __init__(self, policies: SharedPolicyIds | None = None) -> None:
        self.policies = policies

    def record_shared_policies(self, policies: SharedPolicyIds) -> None:
        self.policies = policies

    def shared_policies(self) -> SharedPolicyIds | None:
        return self.policies
