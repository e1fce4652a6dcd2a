"""The domain talks to the outside only through its ports: importing any of its modules loads no AWS
SDK, no HTTP client and no Lambda toolkit (each is imported in a fresh interpreter, so nothing else has
loaded them). The reports' modules (restrictions, activity, audit trail, statement) are among them."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import managed_accounts.domain
import pytest

LAYER = Path(managed_accounts.domain.__file__).resolve().parents[2]  # layers/common
FORBIDDEN = ("boto3", "botocore", "httpx", "aws_lambda_powertools")
DOMAIN_MODULES = sorted(
    f"managed_accounts.domain.{m.name}" for m in pkgutil.iter_modules(managed_accounts.domain.__path__)
)
PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
forbidden = sys.argv[2].split(",")
print(json.dumps(sorted({n.split(".")[0] for n in sys.modules if n.split(".")[0] in forbidden})))
"""


def test_the_domain_package_has_modules() -> None:
    assert {
        "managed_accounts.domain.ports",
        "managed_accounts.domain.destinations",
        "managed_accounts.domain.reports",
        "managed_accounts.domain.audit_ingest",
        "managed_accounts.domain.statement",
    } <= set(DOMAIN_MODULES)


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_a_domain_module_imports_without_the_aws_sdk_or_an_http_client(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(LAYER)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, ",".join(FORBIDDEN)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [], f"{module} loads {result.stdout.strip()}"
