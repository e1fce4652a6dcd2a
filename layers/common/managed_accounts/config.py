"""The product's configuration: one pydantic settings model, read from the environment once per cold start.

Complex values (limit profiles, exchanges, lists) are JSON in their environment variables, e.g.
``LIMIT_PROFILES='{"standard": {"amountLimitUsd": 10000}}'``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, SettingsConfigDict


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class LimitProfile(_CamelModel):
    """Spending and velocity limits shared by every wallet tagged ``limits:<profile>``.

    Each limit that is set becomes one Dfns policy, created once at bootstrap.
    """

    amount_limit_usd: float | None = Field(default=None, gt=0, description="largest single transfer, USD")
    velocity_amount_usd: float | None = Field(default=None, gt=0, description="USD moved per timeframe")
    velocity_timeframe_minutes: int = Field(default=1440, ge=1, le=43200)
    count_limit: int | None = Field(default=None, ge=1, description="transfers per timeframe")
    count_timeframe_minutes: int = Field(default=1440, ge=1, le=43200)


class ExchangeAsset(_CamelModel):
    """An asset an exchange takes on one network: the network's native asset, or an ERC-20 token."""

    symbol: str = Field(pattern=r"^[A-Za-z0-9.]{1,16}$", description="as clients name it, e.g. ETH")
    kind: Literal["Native", "Erc20"] = "Native"
    decimals: int = Field(ge=0, le=36, description="minimum units per whole unit: 10**decimals")
    contract: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")

    @model_validator(mode="after")
    def _contract_for_tokens_only(self) -> ExchangeAsset:
        if (self.kind == "Erc20") != (self.contract is not None):
            raise ValueError(f"{self.symbol}: an Erc20 asset needs a contract, a Native asset has none")
        return self


class Exchange(_CamelModel):
    """A trading venue: its deposit address per network, and the assets it takes on each network."""

    deposit_addresses: dict[str, str] = Field(min_length=1)
    # network -> assets, e.g. {"EthereumSepolia": [{"symbol": "ETH", "decimals": 18}]}
    assets: dict[str, list[ExchangeAsset]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _assets_have_a_deposit_address(self) -> Exchange:
        for network, assets in self.assets.items():
            if network not in self.deposit_addresses:
                raise ValueError(f"assets on {network} but no deposit address there")
            symbols = [a.symbol.upper() for a in assets]
            if len(set(symbols)) != len(symbols):
                raise ValueError(f"an asset symbol appears twice on {network}")
            if sum(a.kind == "Native" for a in assets) > 1:
                raise ValueError(f"{network} has one native asset")
        return self


class Settings(BaseSettings):
    """Everything the functions need, validated at cold start."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    stage: str = "local"
    service_name: str = "managed-accounts"
    dfns_api_url: HttpUrl = HttpUrl("http://127.0.0.1:3001")
    # Secrets Manager: {"token", "credId", "privateKeyPem"}
    dfns_secret_name: str = "managed-accounts/dfns-service-account"
    # The service account's Dfns user id (us-…), for the bootstrap's check of its own permissions.
    # Unset: read from its token (a Dfns JWT names its user).
    dfns_service_account_id: str | None = None
    # Secrets Manager: {"secret"} (the webhook's HMAC secret, known only once the webhook exists)
    webhook_secret_name: str = "managed-accounts/dfns-webhook"
    table_name: str = "managed-accounts"
    idempotency_table_name: str = "managed-accounts-idempotency"
    event_bus_name: str = "managed-accounts"
    order_queue_url: str | None = None
    default_network: str = "EthereumSepolia"
    default_limit_profile: str = "standard"
    limit_profiles: dict[str, LimitProfile] = Field(
        default_factory=lambda: {
            "standard": LimitProfile(amount_limit_usd=10_000, velocity_amount_usd=25_000, count_limit=20)
        }
    )
    exchanges: dict[str, Exchange] = Field(default_factory=dict)
    # What the per-client whitelist does to a transfer to an unapproved address.
    whitelist_action: Literal["Block", "RequestApproval"] = "Block"
    # Dfns user ids of the compliance officers who approve policy changes (and reviews). Never the
    # service account.
    compliance_approver_ids: list[str] = Field(default_factory=list)
    # How many of them must approve each change (COMPLIANCE_QUORUM); the bootstrap refuses more than
    # there are approvers.
    compliance_quorum: int = Field(default=1, ge=1)
    approval_timeout_minutes: int | None = Field(default=None, ge=1)
    frontend_origins: list[str] = Field(default_factory=list)
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    # The reconciler's bounds per scheduled run (a rotating window covers the rest on later runs).
    reconcile_max_approvals: int = Field(default=200, ge=1)
    reconcile_max_accounts: int = Field(default=300, ge=1)
    # Order runs (DESIGN.md §4 "Trading and order runs"). The schedule is an EventBridge Scheduler
    # expression (the CDK schedule and the local scheduler read it); the worker's SQS event source uses
    # the concurrency and batch size; the breaker stops a run after this many Dfns outages in a row.
    order_run_schedule: str = Field(default="cron(0 14 ? * MON-FRI *)", pattern=r"^(rate|cron)\(.+\)$")
    order_worker_concurrency: int = Field(default=5, ge=2, le=1000)
    order_worker_batch_size: int = Field(default=10, ge=1, le=10)
    order_breaker_threshold: int = Field(default=5, ge=1)
    dfns_timeout_seconds: float = Field(default=10.0, gt=0)
    dfns_deadline_seconds: float = Field(default=25.0, gt=0)
    # Set only on the local stack: where moto answers for every AWS service.
    aws_endpoint_url: str | None = None
    # The audit-log ingestion reads Dfns's audit log up to this long before now (issue 15): by then the
    # product's own facts, which tell whose a change request or policy is, are filed.
    audit_ingest_settle_seconds: int = Field(default=120, ge=0)
    # The reconciler relays domain events left in the outbox once they are this old (younger ones may
    # still be being published by the call that wrote them).
    outbox_relay_after_seconds: int = Field(default=60, ge=1)

    @field_validator("default_limit_profile")
    @classmethod
    def _profile_name_is_a_tag(cls, value: str) -> str:
        if not value or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789_.-" for c in value):
            raise ValueError("limit profile names are lowercase tag-safe words")
        return value

    def aws_client_kwargs(self) -> dict[str, Any]:
        return aws_client_kwargs(self.aws_endpoint_url)

    def limit_profile(self, name: str | None = None) -> LimitProfile:
        name = name or self.default_limit_profile
        try:
            return self.limit_profiles[name]
        except KeyError:
            raise ValueError(f"unknown limit profile {name!r}") from None


def aws_client_kwargs(endpoint_url: str | None) -> dict[str, Any]:
    """Region and endpoint for every boto3 client (the local stack points them all at moto, which
    accepts any region while boto3 insists on one)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if endpoint_url and not region:
        region = "us-east-1"
    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return kwargs


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, validated once."""
    return Settings()
