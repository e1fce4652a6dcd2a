"""The orders API's bodies (camelCase on the wire), mapped from the trading domain models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from managed_accounts.api.models import ApiModel
from managed_accounts.domain.trading import Mandate, Order, OrderPage, RunReport

_AMOUNT = r"^[0-9]{1,30}(\.[0-9]{1,36})?$"  # ASCII digits: a regex's \d takes any script's digits


class TradingAuthorizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    exchange: str = Field(
        min_length=1, max_length=64, description="a configured exchange, e.g. sandbox-exchange"
    )
    asset: str = Field(min_length=1, max_length=16, description="an asset the exchange takes on your network")
    amount_per_run: str = Field(
        alias="amountPerRun",
        pattern=_AMOUNT,
        description='whole units as a decimal string, e.g. "0.05" (exact: no more decimals than the asset)',
    )


class MandateOut(ApiModel):
    status: str = Field(description="pending_approval | active | rejected | revoked")
    exchange: str
    network: str
    asset: str
    asset_kind: str
    contract: str | None
    decimals: int
    amount_per_run: str
    amount_per_run_minimum_units: str
    deposit_address: str
    destination_request_id: str | None
    approval_id: str | None
    approved_at: datetime | None
    reason: str | None
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, mandate: Mandate) -> MandateOut:
        return cls(
            status=mandate.status,
            exchange=mandate.exchange,
            network=mandate.network,
            asset=mandate.asset,
            asset_kind=mandate.asset_kind,
            contract=mandate.contract,
            decimals=mandate.decimals,
            amount_per_run=mandate.amount_per_run,
            amount_per_run_minimum_units=str(mandate.amount_units),
            deposit_address=mandate.deposit_address,
            destination_request_id=mandate.destination_request_id,
            approval_id=mandate.approval_id,
            approved_at=mandate.approved_at,
            reason=mandate.reason,
            created_at=mandate.created_at,
            updated_at=mandate.updated_at,
            revoked_at=mandate.revoked_at,
        )


class OrderOut(ApiModel):
    run_id: str
    status: str = Field(
        description="planned | claimed | skipped | submitted | executing | broadcasted | confirmed "
        "| failed | rejected"
    )
    reason: str | None
    exchange: str
    network: str
    asset: str
    amount: str
    amount_minimum_units: str
    to: str
    external_id: str
    transfer_id: str | None
    transfer_status: str | None = Field(description="the transfer's status in Dfns")
    approval_id: str | None
    tx_hash: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            run_id=order.run_id,
            status=order.status,
            reason=order.reason,
            exchange=order.exchange,
            network=order.network,
            asset=order.asset,
            amount=order.amount,
            amount_minimum_units=str(order.amount_units),
            to=order.to,
            external_id=order.external_id,
            transfer_id=order.transfer_id,
            transfer_status=order.transfer_status,
            approval_id=order.approval_id,
            tx_hash=order.tx_hash,
            created_at=order.created_at,
            updated_at=order.updated_at,
            submitted_at=order.submitted_at,
            resolved_at=order.resolved_at,
        )


class OrderPageOut(ApiModel):
    items: list[OrderOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: OrderPage) -> OrderPageOut:
        return cls(items=[OrderOut.of(o) for o in page.items], next_cursor=page.next_cursor)


class OrderRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    run_id: str | None = Field(
        default=None,
        alias="runId",
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="an existing run id replays that run idempotently; omitted: a new run",
    )


class BreakerOut(ApiModel):
    open: bool
    consecutive_failures: int
    threshold: int
    opened_at: datetime | None


class SkippedOut(ApiModel):
    total: int
    by_reason: dict[str, int]


class RunReportOut(ApiModel):
    run_id: str
    status: str = Field(description="planning | planned")
    trigger: str
    replayed: bool = Field(description="this call replayed an existing run")
    replays: int
    created_at: datetime
    planned_at: datetime | None
    planned: int = Field(description="orders (one per planned mandate)")
    pending: int = Field(description="not processed yet (planned, or claimed by a worker)")
    submitted: int = Field(description="orders that reached Dfns as a transfer")
    in_flight: int = Field(description="submitted, executing or broadcasted")
    confirmed: int
    failed: int
    rejected: int
    skipped: SkippedOut
    breaker: BreakerOut
    last_change_at: datetime | None = Field(description="the latest change to any of the run's orders")

    @classmethod
    def of(cls, report: RunReport, *, replayed: bool = False) -> RunReportOut:
        run = report.run
        return cls(
            run_id=run.run_id,
            status=run.status,
            trigger=run.trigger,
            replayed=replayed,
            replays=run.replays,
            created_at=run.created_at,
            planned_at=run.planned_at,
            planned=report.legs,
            pending=report.count("planned", "claimed"),
            submitted=report.transfers,
            in_flight=report.count("submitted", "executing", "broadcasted"),
            confirmed=report.count("confirmed"),
            failed=report.count("failed"),
            rejected=report.count("rejected"),
            skipped=SkippedOut(total=report.count("skipped"), by_reason=dict(sorted(report.skipped.items()))),
            breaker=BreakerOut(
                open=run.breaker_open,
                consecutive_failures=run.consecutive_failures,
                threshold=report.breaker_threshold,
                opened_at=run.breaker_opened_at,
            ),
            last_change_at=report.last_change,
        )
