"""The audit trail's storage contract, run on the DynamoDB adapter (moto) and on the in-memory fake alike
(``either_world``), so the two cannot drift: upserts, periods, paging, cursors, decisions by approval,
the directory, the watermark and the shared-policy registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from managed_accounts.domain.ports import AuditRepository, PolicyRegistry
from managed_accounts.domain.report_models import (
    DECISION_KIND,
    AuditEntry,
    DecisionEvidence,
    InvalidQuery,
    SharedPolicyIds,
    entry_id_for,
)

from tests.fakes.world import World

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def audit(either_world: World) -> AuditRepository:
    return either_world.audit


@pytest.fixture
def registry(either_world: World) -> PolicyRegistry:
    return either_world.registry


def _entry(client_id: str, at: datetime, key: str, **changes: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "client_id": client_id,
        "entry_id": entry_id_for(at, key),
        "occurred_at": at,
        "kind": "DestinationRequested",
        "source": "product",
        "summary": f"fact {key}",
        "details": {"key": key},
        **changes,
    }
    return AuditEntry(**values)


def _all(audit: AuditRepository, client_id: str, *, limit: int, start: datetime, end: datetime) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(10_000):
        page = audit.list_entries(client_id, start=start, end=end, limit=limit, cursor=cursor)
        seen.extend(e.entry_id for e in page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("paging did not end")


def test_paging_over_a_thousand_entries_returns_each_exactly_once_in_time_order(
    audit: AuditRepository,
) -> None:
    made = [_entry("c1", T0 + timedelta(seconds=i), f"e{i}") for i in range(1000)]
    audit.record(list(reversed(made)))  # stored in any order: read in time order
    audit.record([_entry("c2", T0, "other")])

    seen = _all(audit, "c1", limit=37, start=T0, end=T0 + timedelta(days=1))

    assert seen == [e.entry_id for e in made]


def test_a_period_is_from_inclusive_to_exclusive(audit: AuditRepository) -> None:
    at = [T0 + timedelta(hours=h) for h in range(5)]
    audit.record([_entry("c1", moment, str(i)) for i, moment in enumerate(at)])

    seen = _all(audit, "c1", limit=2, start=at[1], end=at[3])

    assert seen == [entry_id_for(at[1], "1"), entry_id_for(at[2], "2")]


def test_recording_a_fact_twice_is_one_entry_and_a_later_writer_only_adds(audit: AuditRepository) -> None:
    first = _entry("c1", T0, "decision", kind=DECISION_KIND, approval_id="ap-1", actor_id="us-officer")
    evidence = DecisionEvidence(
        audit_log_id="al-1", user_id="us-officer", signature="c2ln", client_data="e30"
    )
    audit.record([first])
    signed = {"evidence": evidence, "actor_name": "Officer One", "dfns_audit_log_id": "al-1"}
    audit.record(
        [
            _entry(
                "c1", T0, "decision", kind=DECISION_KIND, approval_id="ap-1", actor_id="us-officer", **signed
            )
        ]
    )
    audit.record([first])  # the webhook's copy again, after the ingestion's: nothing is erased

    entries = audit.list_entries("c1", start=T0, end=T0 + timedelta(seconds=1), limit=10).items
    assert len(entries) == 1
    stored = audit.get_entry("c1", first.entry_id)
    assert stored is not None
    assert stored.evidence == evidence
    assert (stored.actor_name, stored.dfns_audit_log_id) == ("Officer One", "al-1")
    assert [e.entry_id for e in audit.decisions_for("c1", "ap-1")] == [first.entry_id]
    assert audit.decisions_for("c2", "ap-1") == []


def test_a_cursor_opens_only_for_its_client(audit: AuditRepository) -> None:
    audit.record([_entry("c1", T0 + timedelta(seconds=i), str(i)) for i in range(3)])
    audit.record([_entry("c2", T0 + timedelta(seconds=i), str(i)) for i in range(3)])
    cursor = audit.list_entries("c1", start=T0, end=T0 + timedelta(days=1), limit=1).next_cursor
    assert cursor is not None

    with pytest.raises(InvalidQuery, match="cursor"):
        audit.list_entries("c2", start=T0, end=T0 + timedelta(days=1), limit=1, cursor=cursor)
    with pytest.raises(InvalidQuery, match="cursor"):
        audit.list_entries("c1", start=T0, end=T0 + timedelta(days=1), limit=1, cursor="not-a-cursor")
    assert audit.get_entry("c2", entry_id_for(T0, "0")) is not None
    assert audit.get_entry("c2", "missing") is None


def test_the_directory_tells_whose_dfns_id_it_is(audit: AuditRepository) -> None:
    audit.file_references("c1", ["wa-1", "plc-1", "wa-1"])
    assert audit.client_for("plc-1") == "c1"
    assert audit.client_for("plc-2") is None


def test_the_watermark_moves_only_from_where_it_was_read(audit: AuditRepository) -> None:
    assert audit.ingest_watermark() is None
    assert audit.advance_watermark(None, T0)
    assert not audit.advance_watermark(None, T0 + timedelta(hours=1))  # another run got there first
    assert audit.advance_watermark(T0, T0 + timedelta(hours=2))
    assert not audit.advance_watermark(T0, T0 + timedelta(hours=3))
    assert audit.ingest_watermark() == T0 + timedelta(hours=2)


def test_the_registry_keeps_the_last_recorded_shared_policies(registry: PolicyRegistry) -> None:
    assert registry.shared_policies() is None
    recorded = SharedPolicyIds("plc-gov", {"standard": ("plc-a", "plc-b"), "gold": ()}, T0)
    registry.record_shared_policies(recorded)
    assert registry.shared_policies() == recorded
