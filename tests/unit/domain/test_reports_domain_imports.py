"""The reports' domain modules talk through ports only: importing them loads no AWS SDK and no HTTP client."""

from __future__ import annotations

import subprocess
import sys

MODULES = (
    "managed_accounts.domain.activity",
    "managed_accounts.domain.approval_evidence",
    "managed_accounts.domain.audit_facts",
    "managed_accounts.domain.audit_ingest",
    "managed_accounts.domain.audit_trail",
    "managed_accounts.domain.movements",
    "managed_accounts.domain.report_accounts",
    "managed_accounts.domain.report_models",
    "managed_accounts.domain.report_queries",
    "managed_accounts.domain.reports",
    "managed_accounts.domain.restriction_views",
    "managed_accounts.domain.restrictions",
    "managed_accounts.domain.statement",
)
FORBIDDEN = ("boto3", "botocore", "httpx", "aws_lambda_powertools")


def test_the_reports_domain_loads_neither_boto3_nor_httpx() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}: importlib.import_module(name)\n"
        f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
