"""The HTTP contract of the client-transparency views (camelCase on the wire), mapped from domain models.

Amounts are exact decimal strings in asset units next to the integer string in the asset's minimum
unit (``amount: "0.01"``, ``amountMinimumUnits: "10000000000000000"``); never floats.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from managed_accounts.api.models import ApiModel, DestinationRequestOut
from managed_accounts.domain.movements import Asset, format_units

if TYPE_CHECKING:  # the views' domain modules (and the Dfns wire models) load with the first request
    from managed_accounts.domain.activity import ActivityPage, LabelledMovement
    from managed_accounts.domain.approval_evidence import Verification
    from managed_accounts.domain.movements import Movement
    from managed_accounts.domain.report_models import AuditEntry, AuditPage, DecisionEvidence
    from managed_accounts.domain.restriction_views import (
        DriftItem,
        GovernanceView,
        LimitView,
        WalletView,
        WhitelistView,
    )
    from managed_accounts.domain.restrictions import Restrictions
    from managed_accounts.domain.statement import AssetSummary, Provenance, Statement, StatementLine


def units(raw: int | None, asset: Asset) -> str | None:
    if raw is None or asset.decimals is None:
        return None
    return format_units(raw, asset.decimals)


# --- restrictions ------------------------------------------------------------------------------------


class DriftOut(ApiModel):
    kind: str
    severity: str
    message: str
    details: dict[str, Any]

    @classmethod
    def of(cls, item: DriftItem) -> DriftOut:
        return cls(kind=item.kind, severity=item.severity, message=item.message, details=item.details)


class WalletTagsOut(ApiModel):
    wallet_id: str
    address: str | None
    network: str
    found: bool
    tags: list[str]
    client_tag: str
    client_tag_present: bool
    limits_tag: str
    limits_tag_present: bool
    verified_at: datetime

    @classmethod
    def of(cls, view: WalletView) -> WalletTagsOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class WhitelistAddressOut(ApiModel):
    address: str
    label: str | None
    approval_id: str | None
    request_id: str | None
    approved_at: datetime | None
    enforced_by_dfns: bool
    approved_by_compliance: bool


class WhitelistOut(ApiModel):
    policy_id: str | None
    found: bool
    status: str | None
    action: str | None
    binds_wallet: bool
    addresses: list[WhitelistAddressOut]
    pending_change_request_id: str | None
    verified_at: datetime

    @classmethod
    def of(cls, view: WhitelistView) -> WhitelistOut:
        values = {name: getattr(view, name) for name in cls.model_fields if name != "addresses"}
        addresses = [
            WhitelistAddressOut(**{n: getattr(a, n) for n in WhitelistAddressOut.model_fields})
            for a in view.addresses
        ]
        return cls(**values, addresses=addresses)


class LimitPolicyOut(ApiModel):
    policy_id: str
    found: bool
    name: str | None
    status: str | None
    rule: str | None
    limit: int | float | None
    currency: str | None
    timeframe_minutes: int | None
    action: str | None
    binds_wallet: bool
    verified_at: datetime

    @classmethod
    def of(cls, view: LimitView) -> LimitPolicyOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class LimitsOut(ApiModel):
    profile: str
    policies: list[LimitPolicyOut]


class GovernanceOut(ApiModel):
    policy_id: str | None
    present: bool
    active: bool
    approvers_count: int | None = Field(description="null: any user of the organisation may approve")
    quorum: int | None
    approval_groups: int
    covers_whitelist: bool
    verified_at: datetime

    @classmethod
    def of(cls, view: GovernanceView) -> GovernanceOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class RestrictionsOut(ApiModel):
    client_id: str
    enforced_as_shown: bool = Field(
        description="false when Dfns differs from what the product shows (see drift)"
    )
    wallet: WalletTagsOut
    whitelist: WhitelistOut
    limits: LimitsOut
    governance: GovernanceOut
    pending_requests: list[DestinationRequestOut]
    policy_ids: list[str]
    drift: list[DriftOut]
    generated_at: datetime

    @classmethod
    def of(cls, view: Restrictions) -> RestrictionsOut:
        return cls(
            client_id=view.client_id,
            enforced_as_shown=view.enforced_as_shown,
            wallet=WalletTagsOut.of(view.wallet),
            whitelist=WhitelistOut.of(view.whitelist),
            limits=LimitsOut(
                profile=view.limit_profile, policies=[LimitPolicyOut.of(p) for p in view.limits]
            ),
            governance=GovernanceOut.of(view.governance),
            pending_requests=[DestinationRequestOut.of(r) for r in view.pending],
            policy_ids=view.policy_ids,
            drift=[DriftOut.of(d) for d in view.drift],
            generated_at=view.generated_at,
        )


# --- activity ----------------------------------------------------------------------------------------


class CounterpartyOut(ApiModel):
    address: str | None
    label: str | None
    approved_destination: bool


class DfnsIdsOut(ApiModel):
    wallet_id: str | None
    transfer_id: str | None
    approval_id: str | None = Field(description="a policy approval the transfer itself waited for")
    external_id: str | None


class MovementOut(ApiModel):
    direction: str
    occurred_at: datetime
    asset: str = Field(description='"native" or the token contract')
    symbol: str | None
    decimals: int | None
    amount: str | None
    amount_minimum_units: str
    fee: str | None
    fee_minimum_units: str | None
    counterparty: CounterpartyOut
    status: str
    reason: str | None
    tx_hash: str | None
    dfns: DfnsIdsOut
    order_id: str | None = Field(description="the order that made the transfer, once orders link them")

    @classmethod
    def of(cls, movement: Movement, label: str | None, approved: bool) -> MovementOut:
        asset = movement.asset
        native = Asset("native", asset.symbol, asset.decimals) if asset.key == "native" else None
        return cls(
            direction=movement.direction,
            occurred_at=movement.occurred_at,
            asset=asset.key,
            symbol=asset.symbol,
            decimals=asset.decimals,
            amount=units(movement.amount_raw, asset),
            amount_minimum_units=str(movement.amount_raw),
            fee=units(movement.fee_raw, native) if native else None,
            fee_minimum_units=str(movement.fee_raw) if movement.fee_raw is not None else None,
            counterparty=CounterpartyOut(
                address=movement.counterparty, label=label, approved_destination=approved
            ),
            status=movement.status,
            reason=movement.reason,
            tx_hash=movement.tx_hash,
            dfns=DfnsIdsOut(
                wallet_id=movement.wallet_id,
                transfer_id=movement.transfer_id,
                approval_id=movement.transfer_approval_id,
                external_id=movement.external_id,
            ),
            order_id=movement.order_id,
        )


class ActivityOut(ApiModel):
    items: list[MovementOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: ActivityPage) -> ActivityOut:
        def one(item: LabelledMovement) -> MovementOut:
            return MovementOut.of(item.movement, item.counterparty_label, item.counterparty_approved)

        return cls(items=[one(i) for i in page.items], next_cursor=page.next_cursor)


# --- audit -------------------------------------------------------------------------------------------


class SignedActionOut(ApiModel):
    audit_log_id: str
    retrieved: bool
    note: str | None
    user_id: str | None
    action: str | None
    challenge: str | None
    cred_id: str | None
    credential_kind: str | None
    public_key: str | None
    signature: str | None
    client_data: str | None
    authenticator_data: str | None

    @classmethod
    def of(cls, evidence: DecisionEvidence) -> SignedActionOut:
        return cls(**{name: getattr(evidence, name) for name in cls.model_fields})


class ActorOut(ApiModel):
    id: str | None
    name: str | None


class AuditEntryOut(ApiModel):
    entry_id: str
    occurred_at: datetime
    kind: str
    source: str = Field(description="product: the product's own fact; dfns: a fact read from Dfns")
    summary: str
    actor: ActorOut
    approval_id: str | None
    dfns_audit_log_id: str | None
    details: dict[str, Any]
    signed_action: SignedActionOut | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            entry_id=entry.entry_id,
            occurred_at=entry.occurred_at,
            kind=entry.kind,
            source=entry.source,
            summary=entry.summary,
            actor=ActorOut(id=entry.actor_id, name=entry.actor_name),
            approval_id=entry.approval_id,
            dfns_audit_log_id=entry.dfns_audit_log_id,
            details=dict(entry.details),
            signed_action=SignedActionOut.of(entry.evidence) if entry.evidence else None,
        )


class AuditPageOut(ApiModel):
    items: list[AuditEntryOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: AuditPage) -> AuditPageOut:
        return cls(items=[AuditEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor)


class VerificationOut(ApiModel):
    entry_id: str
    verified: bool
    reason: str
    audit_log_id: str | None
    signer_id: str | None
    credential_id: str | None
    checks: dict[str, bool]

    @classmethod
    def of(cls, verification: Verification) -> VerificationOut:
        return cls(**{name: getattr(verification, name) for name in cls.model_fields})


# --- statement ---------------------------------------------------------------------------------------


class BalanceOut(ApiModel):
    asset: str
    symbol: str | None
    decimals: int | None
    opening: str | None
    opening_minimum_units: str
    inflow: str | None = Field(alias="in")
    in_minimum_units: str
    outflow: str | None = Field(alias="out", description="amounts sent plus network fees paid in this asset")
    out_minimum_units: str
    fees: str | None
    fees_minimum_units: str
    closing: str | None
    closing_minimum_units: str

    @classmethod
    def of(cls, summary: AssetSummary) -> BalanceOut:
        asset = summary.asset
        return cls.model_validate(
            {
                "asset": asset.key,
                "symbol": asset.symbol,
                "decimals": asset.decimals,
                "opening": units(summary.opening_raw, asset),
                "openingMinimumUnits": str(summary.opening_raw),
                "in": units(summary.in_raw, asset),
                "inMinimumUnits": str(summary.in_raw),
                "out": units(summary.out_raw, asset),
                "outMinimumUnits": str(summary.out_raw),
                "fees": units(summary.fees_raw, asset),
                "feesMinimumUnits": str(summary.fees_raw),
                "closing": units(summary.closing_raw, asset),
                "closingMinimumUnits": str(summary.closing_raw),
            }
        )


class ApproverOut(ApiModel):
    user_id: str | None
    name: str | None
    decided_at: datetime
    decision: str | None


class ProvenanceOut(ApiModel):
    request_id: str
    requested_at: datetime
    approval_id: str | None
    approved_at: datetime | None
    approved_by: list[ApproverOut]
    ungoverned: bool
    label: str | None

    @classmethod
    def of(cls, provenance: Provenance) -> ProvenanceOut:
        return cls(
            request_id=provenance.request_id,
            requested_at=provenance.requested_at,
            approval_id=provenance.approval_id,
            approved_at=provenance.approved_at,
            approved_by=[
                ApproverOut(user_id=a.user_id, name=a.name, decided_at=a.decided_at, decision=a.value)
                for a in provenance.approved_by
            ],
            ungoverned=provenance.ungoverned,
            label=provenance.label,
        )


class StatementMovementOut(MovementOut):
    provenance: ProvenanceOut | None
    unapproved_destination: bool

    @classmethod
    def of_line(cls, line: StatementLine) -> StatementMovementOut:
        base = MovementOut.of(line.movement, line.counterparty_label, line.provenance is not None)
        return cls(
            **base.model_dump(),
            provenance=ProvenanceOut.of(line.provenance) if line.provenance else None,
            unapproved_destination=line.unapproved_destination,
        )


class StatementOut(ApiModel):
    client_id: str
    wallet_id: str
    address: str | None
    network: str
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to", description="exclusive")
    generated_at: datetime
    balances: list[BalanceOut]
    movements: list[StatementMovementOut]

    @classmethod
    def of(cls, statement: Statement) -> StatementOut:
        return cls.model_validate(
            {
                "clientId": statement.client_id,
                "walletId": statement.wallet_id,
                "address": statement.address,
                "network": statement.network,
                "from": statement.period.start,
                "to": statement.period.end,
                "generatedAt": statement.generated_at,
                "balances": [BalanceOut.of(b) for b in statement.balances],
                "movements": [StatementMovementOut.of_line(line) for line in statement.lines],
            }
        )
