"""The HTTP contract: request and response bodies (camelCase on the wire), mapped from domain models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from managed_accounts.domain.models import Account, ApprovedDestination, DestinationRequest, RequestPage


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    def to_body(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


class ErrorDetail(ApiModel):
    code: str
    message: str


class ErrorBody(ApiModel):
    error: ErrorDetail


class AccountOut(ApiModel):
    client_id: str
    status: str
    network: str
    wallet_id: str | None
    address: str | None
    limit_profile: str
    whitelist_policy_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        # No wallet is shown before the account is active: nobody may fund a wallet still being set up.
        active = account.status == "active"
        return cls(
            client_id=account.client_id,
            status=account.status,
            network=account.network,
            wallet_id=account.wallet_id if active else None,
            address=account.address if active else None,
            limit_profile=account.limit_profile,
            whitelist_policy_id=account.whitelist_policy_id,
            created_at=account.created_at,
        )


class DestinationOut(ApiModel):
    address: str
    network: str
    label: str | None
    approved_at: datetime
    approval_id: str | None

    @classmethod
    def of(cls, destination: ApprovedDestination) -> DestinationOut:
        return cls(
            address=destination.address,
            network=destination.network,
            label=destination.label,
            approved_at=destination.approved_at,
            approval_id=destination.approval_id,
        )


class DestinationListOut(ApiModel):
    items: list[DestinationOut]


class DestinationRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    address: str = Field(
        min_length=1, max_length=128, description="EVM: 0x + 40 hex; others as the network writes them"
    )
    label: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")


class DestinationRequestOut(ApiModel):
    request_id: str
    action: str
    address: str
    network: str
    label: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    resolved_at: datetime | None
    change_request_id: str | None
    approval_id: str | None
    ungoverned: bool
    reason: str | None

    @classmethod
    def of(cls, request: DestinationRequest) -> DestinationRequestOut:
        return cls(
            request_id=request.request_id,
            action=request.action,
            address=request.address,
            network=request.network,
            label=request.label,
            status=request.status,
            created_at=request.created_at,
            updated_at=request.updated_at,
            submitted_at=request.submitted_at,
            resolved_at=request.resolved_at,
            change_request_id=request.change_request_id,
            approval_id=request.approval_id,
            ungoverned=request.ungoverned,
            reason=request.reason,
        )


class RequestPageOut(ApiModel):
    items: list[DestinationRequestOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: RequestPage) -> RequestPageOut:
        return cls(items=[DestinationRequestOut.of(r) for r in page.items], next_cursor=page.next_cursor)
