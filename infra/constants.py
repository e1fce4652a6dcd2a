"""Names and numbers the constructs share, in one place."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
LAYER_SOURCE_DIR = ROOT / "layers" / "common" / "managed_accounts"
BUILD_DIR = ROOT / "build"
CDK_JSON = ROOT / "cdk.json"

STACK_ID = "ManagedAccountsStack"
DEFAULT_STAGE = "dev"
SERVICE_NAME = "managed-accounts"
METRICS_NAMESPACE = "ManagedAccounts"  # observability.METRICS_NAMESPACE: the alarms read these metrics

# The layer is built for this interpreter (pip --python-version) and the functions run on it: wheels
# with compiled code (pydantic-core) exist per CPython version, so the two must agree.
PYTHON_VERSION = "3.12"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
UV_PYTHON_PLATFORM = "aarch64-manylinux2014"  # the same platform in uv pip's spelling
# The Lambda Python runtime ships these; the layer leaves them out to stay small.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")

FUNCTION_MEMORY_MB = 512
API_FUNCTION_TIMEOUT = Duration.seconds(29)  # API Gateway's integration timeout
RECONCILER_TIMEOUT = Duration.minutes(5)
BOOTSTRAP_TIMEOUT = Duration.minutes(5)
RECONCILE_EVERY = Duration.minutes(5)
AUDIT_INGEST_TIMEOUT = Duration.minutes(5)
AUDIT_INGEST_EVERY = Duration.minutes(5)

SECURITY_DRIFT_METRIC = "SecurityDrift"
# Emitted by the reconciler: accounts short of active past the onboarding lease.
ONBOARDING_STUCK_METRIC = "OnboardingStuck"
# Emitted by the audit-log ingestion (functions/reports/audit_ingest.py): Dfns cut an export at its row
# cap (it is fetched again in narrower windows), and a run that ended before catching up.
AUDIT_EXPORT_TRUNCATED_METRIC = "AuditExportTruncated"
AUDIT_INGEST_STOPPED_METRIC = "AuditIngestStopped"
# A leg deferred for a rate limit or a Dfns outage goes back with its visibility set to Retry-After (or a
# backoff) and counts a receive each time: enough receives that a rate-limited run is not dead-lettered.
ORDER_LEG_MAX_RECEIVES = 8
# AWS's advice for an SQS event source: a visibility timeout of at least six times the function's timeout.
ORDER_WORKER_TIMEOUT = Duration.seconds(60)
ORDER_LEG_VISIBILITY = Duration.minutes(6)
ORDER_PLANNER_TIMEOUT = Duration.minutes(1)
