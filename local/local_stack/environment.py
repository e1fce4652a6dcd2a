"""The handlers' environment on the local stack: ``Settings`` fields as the env vars Lambda would carry.

The names are ``Settings``' field names upper-cased (what the CDK stack sets too); complex values
are JSON. Fake AWS credentials and the moto endpoint make every boto3 call land on loopback.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from local_stack.aws import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, REGION, ResourceNames

EXCHANGE = "sandbox-exchange"
EXCHANGE_NETWORKS = ("EthereumSepolia", "BaseSepolia", "ArbitrumSepolia", "PolygonAmoy")
# What the local exchange takes: each network's native asset (as the sandbox prices it), and USDC on
# Ethereum Sepolia (Circle's Sepolia contract; the sandbox has no price for it unless configured, so
# the limit profiles' amount rules block it there: fail closed).
NATIVE_ASSETS = {
    "EthereumSepolia": "ETH",
    "BaseSepolia": "ETH",
    "ArbitrumSepolia": "ETH",
    "PolygonAmoy": "POL",
}
SEPOLIA_USDC = "0x1c7d4b196cb0c7b01d743fbc6116a902379c7238"
LIMIT_PROFILE = "standard"
# Limits of the local ``standard`` profile: big enough for a demo, small enough to see them bite.
STANDARD_LIMITS = {"amountLimitUsd": 10_000, "velocityAmountUsd": 25_000, "countLimit": 20}


def exchange_deposit_address(network: str, exchange: str = EXCHANGE) -> str:
    """A fixed, lowercase EVM deposit address for the local exchange on ``network``."""
    return "0x" + hashlib.sha256(f"{exchange}/{network}".encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class HandlerEnvironmentInputs:
    dfns_api_url: str
    aws_endpoint_url: str
    order_queue_url: str
    compliance_approver_ids: tuple[str, ...]
    names: ResourceNames = field(default_factory=ResourceNames)
    network: str = "EthereumSepolia"
    frontend_origins: tuple[str, ...] = ("http://localhost:5173",)
    whitelist_action: str = "Block"
    order_run_schedule: str = "rate(1 hour)"


def handler_environment(inputs: HandlerEnvironmentInputs) -> dict[str, str]:
    names = inputs.names
    exchanges = {EXCHANGE: local_exchange()}
    return {
        "STAGE": "local",
        "SERVICE_NAME": "managed-accounts",
        "DFNS_API_URL": inputs.dfns_api_url,
        "DFNS_SECRET_NAME": names.dfns_secret,
        "WEBHOOK_SECRET_NAME": names.webhook_secret,
        "TABLE_NAME": names.table,
        "IDEMPOTENCY_TABLE_NAME": names.idempotency_table,
        "EVENT_BUS_NAME": names.event_bus,
        "ORDER_QUEUE_URL": inputs.order_queue_url,
        "DEFAULT_NETWORK": inputs.network,
        "DEFAULT_LIMIT_PROFILE": LIMIT_PROFILE,
        "LIMIT_PROFILES": json.dumps({LIMIT_PROFILE: STANDARD_LIMITS}),
        "EXCHANGES": json.dumps(exchanges),
        "WHITELIST_ACTION": inputs.whitelist_action,
        "ORDER_RUN_SCHEDULE": inputs.order_run_schedule,
        "COMPLIANCE_APPROVER_IDS": json.dumps(list(inputs.compliance_approver_ids)),
        "FRONTEND_ORIGINS": json.dumps(list(inputs.frontend_origins)),
        "AWS_ENDPOINT_URL": inputs.aws_endpoint_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
        "POWERTOOLS_SERVICE_NAME": "managed-accounts",
        "POWERTOOLS_METRICS_NAMESPACE": "ManagedAccounts",
        "POWERTOOLS_TRACE_DISABLED": "1",
        # The demo shows Dfns's audit-log rows in the trail within a minute or two, not after the
        # deployed two minutes of settling plus the schedule.
        "AUDIT_INGEST_SETTLE_SECONDS": "5",
        # Events a failed write left in the outbox reach the trail and the bus within seconds locally
        # (the handlers run in-process: none is still publishing after 5 s).
        "OUTBOX_RELAY_AFTER_SECONDS": "5",
    }


def local_exchange() -> dict[str, object]:
    """``sandbox-exchange``: a deposit address per network and the assets it takes there."""
    assets: dict[str, list[dict[str, object]]] = {
        net: [{"symbol": NATIVE_ASSETS[net], "decimals": 18}] for net in EXCHANGE_NETWORKS
    }
    assets["EthereumSepolia"].append(
        {"symbol": "USDC", "kind": "Erc20", "contract": SEPOLIA_USDC, "decimals": 6}
    )
    return {
        "depositAddresses": {net: exchange_deposit_address(net) for net in EXCHANGE_NETWORKS},
        "assets": assets,
    }


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """A shell-sourceable copy (``set -a; . .local/env``) so the CLI and scripts see the same settings."""
    lines = [f"{key}={shlex.quote(value)}" for key, value in sorted(env.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, raw = line.partition("=")
            parts = shlex.split(raw)
            env[key.strip()] = parts[0] if parts else ""
    return env
