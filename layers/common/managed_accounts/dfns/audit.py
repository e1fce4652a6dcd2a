"""Parsing the audit-log CSV of ``GET /auth/action/logs`` (DFNS.md §6)."""

from __future__ import annotations

import csv
import io

from managed_accounts.dfns.models import AuditLogRow

# CSV header -> AuditLogRow field
_COLUMNS = {
    "Date Performed": "date_performed",
    "Audit Log ID": "audit_log_id",
    "User ID": "user_id",
    "Username": "username",
    "Primary Credential ID": "primary_credential_id",
    "Action Path": "action_path",
    "Summary": "summary",
}
_REQUIRED = ("Date Performed", "Audit Log ID", "User ID")


class AuditLogFormatError(ValueError):
    """The CSV lacks a required column."""


def _is_marker(record: list[str]) -> bool:
    # Dfns ends a truncated export with a "# TRUNCATED …" line; blank lines carry nothing.
    return not any(cell.strip() for cell in record) or record[0].lstrip().startswith("#")


def _positions(header_row: list[str]) -> dict[str, int]:
    """AuditLogRow field -> column index; raises when a required column is missing."""
    header = [name.strip() for name in header_row]
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise AuditLogFormatError(f"audit log CSV lacks columns: {missing}")
    return {_COLUMNS[name]: i for i, name in enumerate(header) if name in _COLUMNS}


def parse_audit_csv(text: str) -> list[AuditLogRow]:
    """The rows of an audit-log export; quoted fields may hold commas, quotes and newlines."""
    records = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if not _is_marker(r)]
    if not records:
        return []
    positions = _positions(records[0])
    return [
        AuditLogRow.model_validate(
            {field: record[i].strip() for field, i in positions.items() if i < len(record)}
        )
        for record in records[1:]
    ]


def marks_truncation(text: str) -> bool:
    """Whether the export ends with Dfns's ``# TRUNCATED …`` line (it hit its 100,000-row cap)."""
    for line in reversed(text.rstrip().splitlines()):
        if line.strip():
            return line.lstrip().upper().startswith("# TRUNCATED")
    return False
