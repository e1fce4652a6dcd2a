"""Typed Dfns wire models (DFNS.md §2–§7): camelCase on the wire, unknown fields tolerated on input.

Request bodies are built from these models and serialised with ``to_wire`` (by alias, ``None``
left out): they are strict (a positive limit in USD, a quorum of at least 1, …).

Responses are parsed leniently, because Dfns holds what other clients (or older API versions) wrote:
``limit: 0``, ``currency: "EUR"``, rule kinds and actions this product does not manage. A policy's rule or
action that does not fit the strict models is kept as raw data (``OtherRule`` / ``OtherAction``, with a
warning), never an exception; fields Dfns adds later are ignored, except in policy filters, where a
filter this product does not know is kept so that a full-replacement update can never drop it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

_log = logging.getLogger("managed_accounts.dfns")


def _whole_as_int(value: float) -> float | int:
    """``10000.0`` goes on the wire as ``10000``: Dfns documents integers, other servers may compare text."""
    return int(value) if float(value).is_integer() else value


# A number Dfns takes as a JSON number: whole values are written without ``.0``.
WireNumber = Annotated[float, PlainSerializer(_whole_as_int, return_type=float | int)]


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
    amount: str = Field(pattern=r"^[0-9]+$")
    priority: Literal["Slow", "Standard", "Fast"] | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=50)


class Erc20TransferBody(DfnsModel):
    kind: Literal["Erc20"] = "Erc20"
    contract: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    to: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    amount: str = Field(pattern=r"^[0-9]+$")
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
    limit: WireNumber = Field(gt=0)
    currency: Literal["USD"] = "USD"


class AmountLimitRule(DfnsModel):
    kind: Literal["TransactionAmountLimit"] = "TransactionAmountLimit"
    configuration: AmountLimitConfiguration


class AmountVelocityConfiguration(DfnsModel):
    limit: WireNumber = Field(gt=0)
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
    """A rule this product does not manage (KYT screening, …) or whose values it does not understand
    (``currency: "EUR"``, ``limit: 0``): kept as-is when read, written back unchanged."""

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
    return kind if kind in _KNOWN_RULES and not isinstance(value, OtherRule) else "Other"


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


class OtherAction(DfnsModel):
    """An action this product does not understand, kept as-is when read (e.g. a quorum of 0)."""

    model_config = ConfigDict(extra="allow")
    kind: str


_KNOWN_ACTIONS = {"Block", "NoAction", "RequestApproval"}


def _action_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if kind in _KNOWN_ACTIONS and not isinstance(value, OtherAction) else "Other"


PolicyAction = Annotated[
    Annotated[BlockAction, Tag("Block")]
    | Annotated[NoAction, Tag("NoAction")]
    | Annotated[RequestApprovalAction, Tag("RequestApproval")]
    | Annotated[OtherAction, Tag("Other")],
    Discriminator(_action_tag),
]


class TagsFilter(DfnsModel):
    has_any: list[str] | None = Field(default=None, min_length=1, max_length=100)
    has_all: list[str] | None = Field(default=None, min_length=1, max_length=100)


class IdsFilter(DfnsModel):
    in_: list[str] = Field(alias="in", min_length=1, max_length=100)


class PolicyFilters(DfnsModel):
    # A filter this product does not know (vaults, …) is kept: dropping it on a full-replacement update
    # would widen the policy's scope.
    model_config = ConfigDict(extra="allow")
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


def _kept_raw(what: str, value: Any, error: ValidationError, raw: type[OtherRule | OtherAction]) -> Any:
    if not isinstance(value, dict) or not isinstance(value.get("kind"), str):
        raise error
    _log.warning(
        "dfns policy %s kept as raw data: %s",
        what,
        "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3]),
    )
    return raw.model_validate(value)


class Policy(PolicyBody):
    """A policy as Dfns returns it: a rule or action the strict models refuse is kept raw (warning)."""

    id: str
    status: Literal["Active", "Archived"] | str = "Active"
    date_created: datetime | None = None
    date_updated: datetime | None = None
    pending_change_request: ChangeRequest | None = None

    @field_validator("rule", mode="wrap")
    @classmethod
    def _lenient_rule(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            return _kept_raw("rule", value, error, OtherRule)

    @field_validator("action", mode="wrap")
    @classmethod
    def _lenient_action(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            return _kept_raw("action", value, error, OtherAction)

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
    value: Literal["Approved", "Denied"] | str
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


# --- pages (the client-transparency views) -----------------------------------------------------------


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
    """``firstFactorCredential`` of an audit log: what verifies the signature of the user action
    (``signature`` over the bytes of ``clientData``, both base64url, with ``publicKey``).

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


class AuditLog(DfnsModel):
    """``GET /auth/action/logs/{id}`` (DFNS.md §6): one signed user action and its outcome.

    ``action`` is the concrete path acted on (``PUT /wallets/wa-1/tags``); ``challenge`` is the
    challenge Dfns issued for the action, when Dfns reports it (it ties the signed clientData to this
    action)."""

    id: str
    action: str | None = None
    action_token: str | None = None
    user_id: str | None = None
    username: str | None = None
    date_performed: datetime | None = None
    date_signed: datetime | None = None
    date_resolved: datetime | None = None
    response_status: int | None = None
    response_error: str | dict[str, Any] | None = None
    challenge: str | None = None
    first_factor_credential: AuditCredential | None = None


# --- permissions (roles) and the service account -----------------------------------------------------


class Permission(DfnsModel):
    """A Dfns *permission* (a role in the dashboard): named operations. ``GET /permissions/{id}``."""

    id: str
    name: str | None = None
    operations: list[str] = Field(default_factory=list)
    status: str | None = None
    is_immutable: bool | None = None
    is_archived: bool | None = None


class PermissionAssignment(DfnsModel):
    """A role assigned to a user or token; ``operations`` is optional in Dfns's schema."""

    permission_id: str
    permission_name: str | None = None
    assignment_id: str | None = None
    operations: list[str] | None = None


class UserInfo(DfnsModel):
    user_id: str
    username: str | None = None
    name: str | None = None
    kind: str | None = None
    org_id: str | None = None
    is_active: bool | None = None
    is_service_account: bool | None = None
    permissions: list[str] | None = None  # deprecated flat list of operations
    permission_assignments: list[PermissionAssignment] = Field(default_factory=list)


class AccessTokenInfo(DfnsModel):
    token_id: str | None = None
    cred_id: str | None = None
    kind: str | None = None
    is_active: bool | None = None
    name: str | None = None
    permission_assignments: list[PermissionAssignment] = Field(default_factory=list)


class ServiceAccount(DfnsModel):
    """``GET /auth/service-accounts/{serviceAccountId}``: ``{userInfo, accessTokens}``."""

    user_info: UserInfo
    access_tokens: list[AccessTokenInfo] = Field(default_factory=list)

    def assignments(self) -> list[PermissionAssignment]:
        """Every role assigned to the account or to one of its tokens, once each (Dfns's schema has both
        lists; which one it fills for a service account is unconfirmed)."""
        found: dict[str, PermissionAssignment] = {}
        for assignment in [
            *self.user_info.permission_assignments,
            *(a for token in self.access_tokens for a in token.permission_assignments),
        ]:
            known = found.get(assignment.permission_id)
            if known is None or (known.operations is None and assignment.operations is not None):
                found[assignment.permission_id] = assignment
        return list(found.values())
