"""Typed Dfns wire models (DFNS.md §2–§7): camelCase on the wire, unknown fields tolerated on input.

Request bodies are built from these models and serialised with ``to_wire`` (by alias, ``None``
left out). Responses are parsed with ``model_validate``; fields Dfns adds later are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic.alias_generators import to_camel


class DfnsModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Dfns expects: camelCase keys, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- wallets ---------------------------------------------------------------------------------------


class SigningKey(DfnsModel):
    id: str | None = None
    scheme: str | None = None
    curve: str | None = None
    public_key: str | None = None


class Wallet(DfnsModel):
    id: str
    network: str
    address: str | None = None
    status: str = "Active"
    name: str | None = None
    external_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    custodial: bool | None = None
    date_created: datetime | None = None
    signing_key: SigningKey | None = None


class CreateWalletBody(DfnsModel):
    network: str
    name: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = Field(default=None, max_length=10)
    external_id: str | None = Field(default=None, max_length=100)


class TagsBody(DfnsModel):
    tags: list[str] = Field(min_length=1)


class AssetBalance(DfnsModel):
    kind: str
    symbol: str | None = None
    decimals: int = 0
    balance: str = "0"
    contract: str | None = None
    verified: bool | None = None


class WalletAssets(DfnsModel):
    wallet_id: str
    network: str
    assets: list[AssetBalance] = Field(default_factory=list)


class AssetInfo(DfnsModel):
    """``metadata.asset`` of history events and transfers (DFNS.md §2, §3.3)."""

    symbol: str | None = None
    decimals: int | None = None
    verified: bool | None = None


class AssetMetadata(DfnsModel):
    asset: AssetInfo | None = None


class HistoryEvent(DfnsModel):
    wallet_id: str
    kind: str
    direction: Literal["In", "Out"] | str
    network: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    timestamp: datetime | None = None
    status: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    value: str | None = None
    contract: str | None = None
    # Additive (issue 15): what a statement needs to price and order the event.
    index: str | None = None
    fee: str | None = None
    symbol: str | None = None  # deprecated top-level copy on NativeTransfer
    decimals: int | None = None
    metadata: AssetMetadata | None = None


# --- transfers -------------------------------------------------------------------------------------

TransferStatus = Literal["Pending", "Executing", "Broadcasted", "Confirmed", "Failed", "Rejected"]
TERMINAL_TRANSFER_STATUSES: frozenset[str] = frozenset({"Confirmed", "Failed", "Rejected"})


class NativeTransferBody(DfnsModel):
    kind: Literal["Native"] = "Native"
    to: str = Field(min_length=1)
    amount: str = Field(pattern=r"^\d+$")
    priority: Literal["Slow", "Standard", "Fast"] | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=50)


class Erc20TransferBody(DfnsModel):
    kind: Literal["Erc20"] = "Erc20"
    contract: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    to: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    amount: str = Field(pattern=r"^\d+$")
    priority: Literal["Slow", "Standard", "Fast"] | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=50)


TransferBody = Annotated[NativeTransferBody | Erc20TransferBody, Field(discriminator="kind")]


class Requester(DfnsModel):
    user_id: str | None = None
    token_id: str | None = None


class TransferRequest(DfnsModel):
    id: str
    wallet_id: str
    network: str | None = None
    status: TransferStatus | str
    request_body: dict[str, Any] = Field(default_factory=dict)
    requester: Requester | None = None
    reason: str | None = None
    tx_hash: str | None = None
    fee: str | None = None
    approval_id: str | None = None
    external_id: str | None = None
    date_requested: datetime | None = None
    date_policy_resolved: datetime | None = None
    date_broadcasted: datetime | None = None
    date_confirmed: datetime | None = None
    metadata: AssetMetadata | None = None  # additive (issue 15): the asset's symbol and decimals

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_TRANSFER_STATUSES


# --- policies --------------------------------------------------------------------------------------


class WhitelistConfiguration(DfnsModel):
    addresses: list[str]


class WhitelistRule(DfnsModel):
    kind: Literal["TransactionRecipientWhitelist"] = "TransactionRecipientWhitelist"
    configuration: WhitelistConfiguration


class AmountLimitConfiguration(DfnsModel):
    limit: float = Field(gt=0)
    currency: Literal["USD"] = "USD"


class AmountLimitRule(DfnsModel):
    kind: Literal["TransactionAmountLimit"] = "TransactionAmountLimit"
    configuration: AmountLimitConfiguration


class AmountVelocityConfiguration(DfnsModel):
    limit: float = Field(gt=0)
    currency: Literal["USD"] = "USD"
    timeframe: int = Field(ge=1, le=43200, description="minutes")


class AmountVelocityRule(DfnsModel):
    kind: Literal["TransactionAmountVelocity"] = "TransactionAmountVelocity"
    configuration: AmountVelocityConfiguration


class CountVelocityConfiguration(DfnsModel):
    limit: int = Field(ge=1)
    timeframe: int = Field(ge=1, le=43200, description="minutes")


class CountVelocityRule(DfnsModel):
    kind: Literal["TransactionCountVelocity"] = "TransactionCountVelocity"
    configuration: CountVelocityConfiguration


class AlwaysTriggerRule(DfnsModel):
    kind: Literal["AlwaysTrigger"] = "AlwaysTrigger"
    configuration: dict[str, Any] = Field(default_factory=dict)


class OtherRule(DfnsModel):
    """A rule kind this product does not manage (KYT screening, …): kept as-is when read."""

    model_config = ConfigDict(extra="allow")
    kind: str
    configuration: dict[str, Any] = Field(default_factory=dict)


_KNOWN_RULES = {
    "TransactionRecipientWhitelist",
    "TransactionAmountLimit",
    "TransactionAmountVelocity",
    "TransactionCountVelocity",
    "AlwaysTrigger",
}


def _rule_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if kind in _KNOWN_RULES else "Other"


PolicyRule = Annotated[
    Annotated[WhitelistRule, Tag("TransactionRecipientWhitelist")]
    | Annotated[AmountLimitRule, Tag("TransactionAmountLimit")]
    | Annotated[AmountVelocityRule, Tag("TransactionAmountVelocity")]
    | Annotated[CountVelocityRule, Tag("TransactionCountVelocity")]
    | Annotated[AlwaysTriggerRule, Tag("AlwaysTrigger")]
    | Annotated[OtherRule, Tag("Other")],
    Discriminator(_rule_tag),
]


class UserIdIn(DfnsModel):
    in_: list[str] = Field(alias="in", min_length=1, max_length=100)


class Approvers(DfnsModel):
    """``{}`` means anyone in the org; otherwise ``{"userId": {"in": [...]}}``."""

    user_id: UserIdIn | None = None


class ApprovalGroup(DfnsModel):
    name: str | None = None
    quorum: int = Field(ge=1)
    approvers: Approvers = Field(default_factory=Approvers)
    initiator_can_approve: bool | None = None
    service_accounts_can_approve: bool | None = None


class BlockAction(DfnsModel):
    kind: Literal["Block"] = "Block"


class NoAction(DfnsModel):
    kind: Literal["NoAction"] = "NoAction"


class RequestApprovalAction(DfnsModel):
    kind: Literal["RequestApproval"] = "RequestApproval"
    approval_groups: list[ApprovalGroup] = Field(min_length=1)
    auto_reject_timeout: int | None = Field(default=None, ge=1, description="minutes")


PolicyAction = Annotated[BlockAction | NoAction | RequestApprovalAction, Field(discriminator="kind")]


class TagsFilter(DfnsModel):
    has_any: list[str] | None = Field(default=None, min_length=1, max_length=100)
    has_all: list[str] | None = Field(default=None, min_length=1, max_length=100)


class IdsFilter(DfnsModel):
    in_: list[str] = Field(alias="in", min_length=1, max_length=100)


class PolicyFilters(DfnsModel):
    wallet_tags: TagsFilter | None = None
    wallet_id: IdsFilter | None = None
    policy_id: IdsFilter | None = None


ActivityKind = Literal[
    "Wallets:Sign",
    "Wallets:IncomingTransaction",
    "Policies:Modify",
    "Permissions:Modify",
    "Permissions:Assign",
]


class PolicyBody(DfnsModel):
    """Create and update share this shape: update is a full replacement (DFNS.md §4.1)."""

    name: str = Field(min_length=1)
    activity_kind: ActivityKind | str
    rule: PolicyRule
    action: PolicyAction
    filters: PolicyFilters | None = None


class ChangeRequest(DfnsModel):
    id: str
    kind: str = "Policy"
    operation_kind: str = "Update"
    status: Literal["Pending", "Applied", "Failed", "Rejected"] | str
    entity_id: str | None = None
    approval_id: str | None = None
    requester: Requester | None = None
    date_created: datetime | None = None
    date_resolved: datetime | None = None
    body: dict[str, Any] | None = None


class Policy(PolicyBody):
    id: str
    status: Literal["Active", "Archived"] | str = "Active"
    date_created: datetime | None = None
    date_updated: datetime | None = None
    pending_change_request: ChangeRequest | None = None

    def body(self) -> PolicyBody:
        """This policy as an update body (for a full replacement)."""
        return PolicyBody(
            name=self.name,
            activity_kind=self.activity_kind,
            rule=self.rule,
            action=self.action,
            filters=self.filters,
        )


# --- approvals -------------------------------------------------------------------------------------

ApprovalStatus = Literal["Pending", "Approved", "Denied", "Expired"]


class Decision(DfnsModel):
    user_id: str
    value: Literal["Approved", "Denied"]
    date: datetime | None = Field(default=None, validation_alias="date")
    reason: str | None = None


class PolicyEvaluation(DfnsModel):
    policy_id: str
    triggered: bool = True
    reason: str | None = None


class ApprovalActivity(DfnsModel):
    model_config = ConfigDict(extra="allow")
    kind: str
    transfer_request: TransferRequest | None = None
    change_request: ChangeRequest | None = None


class Approval(DfnsModel):
    id: str
    initiator_id: str | None = None
    status: ApprovalStatus | str
    activity: ApprovalActivity | None = None
    expiration_date: datetime | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    date_resolved: datetime | None = None
    policy_evaluations: list[PolicyEvaluation] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)

    @property
    def is_resolved(self) -> bool:
        return self.status != "Pending"


class DecisionBody(DfnsModel):
    value: Literal["Approved", "Denied"]
    reason: str | None = None


# --- webhooks --------------------------------------------------------------------------------------


class Webhook(DfnsModel):
    id: str
    url: str
    events: list[str]
    status: Literal["Enabled", "Disabled"] | str = "Enabled"
    description: str | None = None
    date_created: datetime | None = None
    secret: str | None = None  # present only in the create response


class CreateWebhookBody(DfnsModel):
    url: str
    events: list[str] = Field(min_length=1)
    status: Literal["Enabled", "Disabled"] | None = None
    description: str | None = Field(default=None, max_length=256)


class WebhookEvent(DfnsModel):
    id: str
    kind: str
    date: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    timestamp_sent: int | None = None
    delivery_attempt: int = 1
    retry_of: str | None = None
    # present in listings (GET /webhooks/{id}/events)
    status: str | None = None
    error: str | dict[str, Any] | None = None
    delivery_failed: bool | None = None
    next_attempt_date: datetime | None = None


class WebhookPingResult(DfnsModel):
    """``POST /webhooks/{id}/ping``: ``status`` is the HTTP code the endpoint answered, or an error code."""

    status: str | int
    error: str | dict[str, Any] | None = None


# --- audit log -------------------------------------------------------------------------------------


class AuditLogRow(DfnsModel):
    """One row of ``GET /auth/action/logs`` (CSV, DFNS.md §6)."""

    date_performed: datetime
    audit_log_id: str
    user_id: str
    username: str = ""
    primary_credential_id: str = ""
    action_path: str = ""
    summary: str = ""


# --- pages and audit-log detail (issue 15: the client-transparency views) ----------------------------


class HistoryPage(DfnsModel):
    """One page of ``GET /wallets/{walletId}/history``."""

    items: list[HistoryEvent] = Field(default_factory=list)
    next_page_token: str | None = None


class TransferPage(DfnsModel):
    """One page of ``GET /wallets/{walletId}/transfers``."""

    items: list[TransferRequest] = Field(default_factory=list)
    next_page_token: str | None = None


class AuditLogExport(DfnsModel):
    """``GET /auth/action/logs``: the rows, and whether Dfns cut the export at its row cap (then the
    range must be fetched again in narrower windows)."""

    rows: list[AuditLogRow] = Field(default_factory=list)
    truncated: bool = False


class AuditCredential(DfnsModel):
    """``firstFactorCredential`` of an audit-log detail: the signed action's signature material.

    Accepts the flat shape of DFNS.md §6 (``{credId, kind, publicKey, signature, clientData,
    authenticatorData?}``) and the SDK's nested one (``{id, kind, publicKey, assertion{clientData,
    signature, authenticatorData}}``).
    """

    cred_id: str | None = None
    kind: str | None = None
    public_key: str | None = None
    signature: str | None = None
    client_data: str | None = None
    authenticator_data: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        flat = dict(value)
        assertion = flat.pop("assertion", None)
        if isinstance(assertion, dict):
            flat = {**assertion, **flat}
        if "credId" not in flat and isinstance(flat.get("id"), str):
            flat["credId"] = flat["id"]
        return flat


class AuditLogDetail(DfnsModel):
    """``GET /auth/action/logs/{id}`` (DFNS.md §6). ``challenge`` is the challenge Dfns issued for the
    action, when Dfns reports it (it ties the signed clientData to this action)."""

    id: str
    action: str | None = None
    action_token: str | None = None
    user_id: str | None = None
    username: str | None = None
    date_performed: datetime | None = None
    challenge: str | None = None
    first_factor_credential: AuditCredential | None = None
