"""The one place that builds Powertools Logger, Tracer and Metrics, so every handler uses the same ones.

Secrets and key material never reach a log line: ``redact`` masks the keys that carry them, and the
Dfns client logs method, path, status and ids only.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "managed-accounts")
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ManagedAccounts")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=METRICS_NAMESPACE)

_SECRET_KEYS = frozenset(
    {
        "token",
        "accesstoken",
        "privatekey",
        "privatekeypem",
        "secret",
        "signature",
        "authorization",
        "x-dfns-useraction",
        "useraction",
        "clientdata",
        "password",
    }
)


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-bearing key masked (for logging request/response shapes)."""
    if isinstance(value, dict):
        return {
            k: "***" if str(k).lower().replace("_", "") in _SECRET_KEYS else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
