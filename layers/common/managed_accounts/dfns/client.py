"""The service account's Dfns client: implements ``DfnsGateway`` over HTTP, plus the calls the product
needs outside the domain port (webhooks, audit logs, reading its own permissions).

    with DfnsClient(settings.dfns_api_url, token, UserActionSigner(cred_id, pem)) as dfns:
        wallet = dfns.create_wallet(CreateWalletBody(network="EthereumSepolia", external_id="cl-1"))

It deliberately has no way to remove a wallet tag or to vote on an approval: the service account must
never do either (and its role does not allow them). A compliance officer's own tooling, with the
officer's credential, lives with the local tooling (``local_stack.officer``).

Retry safety per call (DFNS.md §3.2, §4.6): GETs always retry; a transfer retries after a possible
effect only when it carries an ``externalId`` (Dfns deduplicates it); tagging retries because setting
the same tags twice has the same result; everything else (wallet creation, policy updates that could
open a second change request) retries only when Dfns certainly did not act.

Responses are parsed leniently (see ``models``): in a listing, an item that cannot be parsed at all is
skipped with a warning rather than ending the listing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from managed_accounts.dfns._http import RoundTripStats
from managed_accounts.dfns.audit import marks_truncation, parse_audit_csv
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.identity import HeldPermissions, token_user_id
from managed_accounts.dfns.models import (
    Approval,
    AuditLog,
    AuditLogExport,
    AuditLogRow,
    ChangeRequest,
    CreateWalletBody,
    CreateWebhookBody,
    HistoryEvent,
    HistoryPage,
    Permission,
    Policy,
    PolicyBody,
    ServiceAccount,
    TransferBody,
    TransferPage,
    TransferRequest,
    Wallet,
    WalletAssets,
    Webhook,
    WebhookEvent,
    WebhookPingResult,
)
from managed_accounts.dfns.pagination import iter_items, page_size_param
from managed_accounts.dfns.signing import UserActionSigner
from managed_accounts.dfns.transport import DfnsTransport, Method, TransportOptions, json_object
from managed_accounts.domain.ports import ChangeRequestPending, PolicyApplied, PolicyChangeOutcome
from managed_accounts.observability import logger

M = TypeVar("M", bound=BaseModel)
_TRANSFER_BODY: TypeAdapter[Any] = TypeAdapter(TransferBody)


def _p(value: str) -> str:
    """A path segment: ids are quoted so that no value can change the route it lands on."""
    return quote(value, safe="")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit log bounds must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(model: type[M], response: httpx.Response, route: str) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise DfnsError(f"{route}: unexpected response shape ({exc.error_count()} errors)") from exc


class DfnsClient:
    """A Dfns API client for one identity (a service account, or a compliance officer's own credential)."""

    def __init__(
        self, base_url: str, token: str, signer: UserActionSigner, **options: Unpack[TransportOptions]
    ) -> None:
        self._transport = DfnsTransport(str(base_url), token, signer, **options)
        self._token_user_id = token_user_id(token)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._transport!r})"

    @property
    def stats(self) -> RoundTripStats:
        """Round trips by ``"METHOD /route"``, including init/action calls and retries."""
        return self._transport.stats

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------------------------------

    def _call(
        self,
        method: Method,
        route: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        return self._transport.request(method, route, path, body=body, params=params, idempotent=idempotent)

    def _iter(
        self, model: type[M], route: str, path: str, page_size: int, params: Mapping[str, str] | None = None
    ) -> Iterator[M]:
        base = {**(params or {}), "limit": str(page_size_param(page_size))}

        def fetch(token: str | None) -> dict[str, Any]:
            query = {**base, "paginationToken": token} if token else base
            return json_object(self._call("GET", route, path, params=query), route)

        for item in iter_items(fetch):
            try:
                yield model.model_validate(item)
            except ValidationError as exc:  # one odd item never ends a listing
                logger.warning(
                    "dfns list item skipped: unexpected shape",
                    extra={"route": route, "itemId": item.get("id"), "errors": exc.error_count()},
                )

    # --- wallets -------------------------------------------------------------------------------------

    def create_wallet(self, body: CreateWalletBody) -> Wallet:
        # Not retried after a possible effect: whether Dfns deduplicates wallet externalIds is
        # UNCONFIRMED (DFNS.md §3.2); onboarding resumes and looks before creating instead.
        response = self._call("POST", "/wallets", "/wallets", body=body.to_wire())
        return _parse(Wallet, response, "/wallets")

    def get_wallet(self, wallet_id: str) -> Wallet:
        route = "/wallets/{walletId}"
        return _parse(Wallet, self._call("GET", route, f"/wallets/{_p(wallet_id)}"), route)

    def iter_wallets(self, *, page_size: int = 100) -> Iterator[Wallet]:
        return self._iter(Wallet, "/wallets", "/wallets", page_size)

    def tag_wallet(self, wallet_id: str, tags: list[str]) -> None:
        path = f"/wallets/{_p(wallet_id)}/tags"
        self._call("PUT", "/wallets/{walletId}/tags", path, body={"tags": tags}, idempotent=True)

    def get_wallet_assets(self, wallet_id: str) -> WalletAssets:
        route = "/wallets/{walletId}/assets"
        return _parse(WalletAssets, self._call("GET", route, f"/wallets/{_p(wallet_id)}/assets"), route)

    def iter_wallet_history(self, wallet_id: str, *, page_size: int = 100) -> Iterator[HistoryEvent]:
        path = f"/wallets/{_p(wallet_id)}/history"
        return self._iter(HistoryEvent, "/wallets/{walletId}/history", path, page_size)

    # --- transfers -----------------------------------------------------------------------------------

    def transfer(self, wallet_id: str, body: TransferBody) -> TransferRequest:
        """Transfer Asset. With an ``externalId`` a retry returns the first transfer, never a second."""
        route = "/wallets/{walletId}/transfers"
        wire = _TRANSFER_BODY.dump_python(body, mode="json", by_alias=True, exclude_none=True)
        response = self._call(
            "POST",
            route,
            f"/wallets/{_p(wallet_id)}/transfers",
            body=wire,
            idempotent=body.external_id is not None,
        )
        return _parse(TransferRequest, response, route)

    def get_transfer(self, wallet_id: str, transfer_id: str) -> TransferRequest:
        route = "/wallets/{walletId}/transfers/{transferId}"
        path = f"/wallets/{_p(wallet_id)}/transfers/{_p(transfer_id)}"
        return _parse(TransferRequest, self._call("GET", route, path), route)

    def iter_transfers(self, wallet_id: str, *, page_size: int = 100) -> Iterator[TransferRequest]:
        path = f"/wallets/{_p(wallet_id)}/transfers"
        return self._iter(TransferRequest, "/wallets/{walletId}/transfers", path, page_size)

    # --- policies ------------------------------------------------------------------------------------

    def create_policy(self, body: PolicyBody) -> Policy:
        response = self._call("POST", "/v2/policies", "/v2/policies", body=body.to_wire())
        return _parse(Policy, response, "/v2/policies")

    def get_policy(self, policy_id: str) -> Policy:
        route = "/v2/policies/{policyId}"
        return _parse(Policy, self._call("GET", route, f"/v2/policies/{_p(policy_id)}"), route)

    def iter_policies(self, *, status: str | None = "Active", page_size: int = 100) -> Iterator[Policy]:
        params = {"status": status} if status else None
        return self._iter(Policy, "/v2/policies", "/v2/policies", page_size, params)

    def update_policy(self, policy_id: str, body: PolicyBody) -> PolicyChangeOutcome:
        """Full replacement. 200 → ``PolicyApplied``; 202 → ``ChangeRequestPending`` (awaits approval).

        Never retried after a possible effect: a second PUT could open a second change request.
        """
        route = "/v2/policies/{policyId}"
        response = self._call("PUT", route, f"/v2/policies/{_p(policy_id)}", body=body.to_wire())
        return self._policy_outcome(response, route)

    def archive_policy(self, policy_id: str) -> PolicyChangeOutcome:
        """DELETE (archive). 200 → ``PolicyApplied`` (status Archived); 202 → ``ChangeRequestPending``."""
        route = "/v2/policies/{policyId}"
        return self._policy_outcome(self._call("DELETE", route, f"/v2/policies/{_p(policy_id)}"), route)

    @staticmethod
    def _policy_outcome(response: httpx.Response, route: str) -> PolicyChangeOutcome:
        if response.status_code == 202:
            return ChangeRequestPending(_parse(ChangeRequest, response, route))
        return PolicyApplied(_parse(Policy, response, route))

    # --- approvals -----------------------------------------------------------------------------------

    def get_approval(self, approval_id: str) -> Approval:
        route = "/v2/policy-approvals/{approvalId}"
        return _parse(Approval, self._call("GET", route, f"/v2/policy-approvals/{_p(approval_id)}"), route)

    def iter_approvals(self, *, status: str | None = None, page_size: int = 100) -> Iterator[Approval]:
        params = {"status": status} if status else None
        return self._iter(Approval, "/v2/policy-approvals", "/v2/policy-approvals", page_size, params)

    # --- audit ---------------------------------------------------------------------------------------

    def audit_logs(self, start: datetime, end: datetime, *, user_id: str | None = None) -> list[AuditLogRow]:
        """Audit-log rows in ``[start, end]`` from Dfns's CSV export (capped at 100,000 rows)."""
        route = "/auth/action/logs"
        params = {"startTime": _iso(start), "endTime": _iso(end)}
        if user_id:
            params["userId"] = user_id
        response = self._call("GET", route, route, params=params)
        if response.headers.get("x-dfns-result-truncated", "").lower() == "true":
            bounds = {"start": params["startTime"], "end": params["endTime"]}
            logger.warning("dfns audit log truncated at 100,000 rows: narrow the range", extra=bounds)
        return parse_audit_csv(response.text)

    def get_audit_log(self, audit_log_id: str) -> AuditLog:
        """One audit log with its signature material (``GET /auth/action/logs/{id}``, ``Auth:Logs:Read``).
        Dfns answers 403 (``DfnsAuthError``) for actions on routes it does not expose."""
        route = "/auth/action/logs/{id}"
        return _parse(AuditLog, self._call("GET", route, f"/auth/action/logs/{_p(audit_log_id)}"), route)

    # --- its own identity and permissions ------------------------------------------------------------

    def token_user_id(self) -> str | None:
        """The user id in this client's token (a Dfns JWT), without a call; None if it carries none."""
        return self._token_user_id

    def get_service_account(self, service_account_id: str) -> ServiceAccount:
        """``GET /auth/service-accounts/{id}`` (``Auth:ServiceAccounts:Read``): its roles and tokens."""
        route = "/auth/service-accounts/{serviceAccountId}"
        path = f"/auth/service-accounts/{_p(service_account_id)}"
        return _parse(ServiceAccount, self._call("GET", route, path), route)

    def get_permission(self, permission_id: str) -> Permission:
        """``GET /permissions/{id}`` (``Permissions:Read``): a role and its operations."""
        route = "/permissions/{permissionId}"
        return _parse(Permission, self._call("GET", route, f"/permissions/{_p(permission_id)}"), route)

    def own_permissions(self, service_account_id: str | None = None) -> HeldPermissions:
        """The roles this service account holds, each with its operations.

        ``service_account_id`` defaults to the user id in the token. A role listed without its
        operations is read with ``get_permission``. Raises ``DfnsError`` if any of it cannot be read.
        """
        user_id = service_account_id or self._token_user_id
        if not user_id:
            raise DfnsError("cannot tell which service account this is: the token names no user id")
        account = self.get_service_account(user_id)
        roles = tuple(
            Permission(id=a.permission_id, name=a.permission_name, operations=a.operations)
            if a.operations is not None
            else self.get_permission(a.permission_id)
            for a in account.assignments()
        )
        return HeldPermissions(user_id, roles, tuple(account.user_info.permissions or ()))

    # --- webhooks ------------------------------------------------------------------------------------

    def create_webhook(self, body: CreateWebhookBody) -> Webhook:
        """The returned ``secret`` exists only in this response: store it at once."""
        return _parse(Webhook, self._call("POST", "/webhooks", "/webhooks", body=body.to_wire()), "/webhooks")

    def get_webhook(self, webhook_id: str) -> Webhook:
        route = "/webhooks/{webhookId}"
        return _parse(Webhook, self._call("GET", route, f"/webhooks/{_p(webhook_id)}"), route)

    def iter_webhooks(self, *, page_size: int = 100) -> Iterator[Webhook]:
        return self._iter(Webhook, "/webhooks", "/webhooks", page_size)

    def delete_webhook(self, webhook_id: str) -> None:
        self._call("DELETE", "/webhooks/{webhookId}", f"/webhooks/{_p(webhook_id)}")

    def ping_webhook(self, webhook_id: str) -> WebhookPingResult:
        route = "/webhooks/{webhookId}/ping"
        return _parse(WebhookPingResult, self._call("POST", route, f"/webhooks/{_p(webhook_id)}/ping"), route)

    def iter_webhook_events(
        self,
        webhook_id: str,
        *,
        delivery_failed: bool | None = None,
        kind: str | None = None,
        page_size: int = 100,
    ) -> Iterator[WebhookEvent]:
        """Stored events (31 days); ``delivery_failed=True`` lists those to recover by polling."""
        params: dict[str, str] = {}
        if delivery_failed is not None:
            params["deliveryFailed"] = "true" if delivery_failed else "false"
        if kind:
            params["kind"] = kind
        path = f"/webhooks/{_p(webhook_id)}/events"
        return self._iter(WebhookEvent, "/webhooks/{webhookId}/events", path, page_size, params)

    # --- reports: single pages and the audit log's export (issue 15; the detail is get_audit_log) -----

    def wallet_history_page(
        self, wallet_id: str, *, limit: int, token: str | None = None, direction: str | None = None
    ) -> HistoryPage:
        """One page of the wallet's history, newest first (a cursor over it keeps Dfns's token)."""
        route = "/wallets/{walletId}/history"
        params = {"limit": str(page_size_param(limit))}
        if token:
            params["paginationToken"] = token
        if direction:
            params["direction"] = direction
        path = f"/wallets/{_p(wallet_id)}/history"
        return _parse(HistoryPage, self._call("GET", route, path, params=params), route)

    def transfers_page(self, wallet_id: str, *, limit: int, token: str | None = None) -> TransferPage:
        """One page of the wallet's transfers, newest first."""
        route = "/wallets/{walletId}/transfers"
        params = {"limit": str(page_size_param(limit))}
        if token:
            params["paginationToken"] = token
        path = f"/wallets/{_p(wallet_id)}/transfers"
        return _parse(TransferPage, self._call("GET", route, path, params=params), route)

    def audit_log_export(
        self, start: datetime, end: datetime, *, user_id: str | None = None
    ) -> AuditLogExport:
        """The audit-log CSV for ``[start, end]`` and whether Dfns truncated it (the
        ``X-Dfns-Result-Truncated`` header or a trailing ``# TRUNCATED`` line): a truncated export
        must be fetched again in narrower windows, never skipped."""
        route = "/auth/action/logs"
        params = {"startTime": _iso(start), "endTime": _iso(end)}
        if user_id:
            params["userId"] = user_id
        response = self._call("GET", route, route, params=params)
        flagged = response.headers.get("x-dfns-result-truncated", "").strip().lower() == "true"
        return AuditLogExport(
            rows=parse_audit_csv(response.text), truncated=flagged or marks_truncation(response.text)
        )
