"""Trading authorisations (mandates): ``PUT/GET/DELETE /accounts/me/trading-authorization``.

Authorising asks for the exchange's deposit address through the normal destination flow (a request the
compliance officer approves in Dfns); the mandate is ``pending_approval`` until then. It moves when the
destination request resolves: ``MandateOutcomes`` listens where requests resolve, and every read
settles a pending mandate from the requests and the mirror too, so a lost notification is repaired by
the next read (the API, the planner or the worker) rather than leaving a mandate stuck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from managed_accounts.domain.addresses import normalize_address
from managed_accounts.domain.models import Account, DestinationRequest, validate_client_id
from managed_accounts.domain.ports import AccountsRepository, Clock, DestinationRequests, OrdersRepository
from managed_accounts.domain.trading import (
    PLANNED_MANDATE_STATUSES,
    ExchangeCatalog,
    Mandate,
    TradableAsset,
    format_units,
    to_minimum_units,
)
from managed_accounts.errors import AccountNotReady, AlreadyPending, ConcurrentUpdate, Conflict, NotFound
from managed_accounts.logs import get_logger

logger = get_logger("mandates")


class MandateSettler:
    """Moves a ``pending_approval`` mandate to ``active`` or ``rejected`` from the product's own data:
    the mirror of approved destinations and the destination request."""

    def __init__(self, orders: OrdersRepository, accounts: AccountsRepository, clock: Clock) -> None:
        self._orders = orders
        self._accounts = accounts
        self._clock = clock

    def settle(self, mandate: Mandate) -> Mandate:
        if mandate.status != "pending_approval":
            return mandate
        settled = self._decided(mandate)
        if settled is None:
            return mandate
        try:
            saved = self._orders.save_mandate(settled, expected_version=mandate.version)
        except ConcurrentUpdate:
            return self._orders.get_mandate(mandate.client_id) or mandate
        logger.info(
            "trading authorisation settled",
            extra={"clientId": mandate.client_id, "status": saved.status, "approvalId": saved.approval_id},
        )
        return saved

    def _decided(self, mandate: Mandate) -> Mandate | None:
        now = self._clock.now()
        destination = self._accounts.get_destination(mandate.client_id, mandate.deposit_address)
        if destination is not None:
            return replace(
                mandate,
                status="active",
                approval_id=destination.approval_id,
                approved_at=destination.approved_at,
                updated_at=now,
            )
        request = (
            self._accounts.get_request(mandate.client_id, mandate.destination_request_id)
            if mandate.destination_request_id
            else None
        )
        if request is not None and request.status in ("rejected", "failed"):
            reason = request.reason or f"the exchange address was {request.status}"
            return replace(mandate, status="rejected", reason=reason, updated_at=now)
        return None


class MandateOutcomes:
    """The ``DestinationListener`` that moves mandates when their exchange address is decided."""

    def __init__(self, settler: MandateSettler, orders: OrdersRepository) -> None:
        self._settler = settler
        self._orders = orders

    def destinations_resolved(self, client_id: str, requests: Sequence[DestinationRequest]) -> None:
        mandate = self._orders.get_mandate(client_id)
        if mandate is None or mandate.status != "pending_approval":
            return
        if any(r.action == "add" and r.address == mandate.deposit_address for r in requests):
            self._settler.settle(mandate)


class MandateService:
    def __init__(
        self,
        orders: OrdersRepository,
        accounts: AccountsRepository,
        destinations: DestinationRequests,
        catalog: ExchangeCatalog,
        clock: Clock,
    ) -> None:
        self._orders = orders
        self._accounts = accounts
        self._destinations = destinations
        self._catalog = catalog
        self._clock = clock
        self.settler = MandateSettler(orders, accounts, clock)

    def get(self, client_id: str) -> Mandate:
        mandate = self._orders.get_mandate(validate_client_id(client_id))
        if mandate is None:
            raise NotFound("no trading authorisation: PUT /accounts/me/trading-authorization first")
        return self.settler.settle(mandate)

    def authorise(self, client_id: str, exchange: str, asset: str, amount_per_run: str) -> Mandate:
        """Create or change the mandate. The same exchange address keeps its status (an amount or asset
        change needs no new approval); a new address goes through the destination approval flow."""
        account = self._active_account(client_id)
        tradable = self._catalog.resolve(exchange, account.network, asset)
        units = to_minimum_units(amount_per_run, tradable.decimals)
        address = normalize_address(account.network, tradable.deposit_address)
        tradable = replace(tradable, deposit_address=address)
        current = self._orders.get_mandate(account.client_id)
        now = self._clock.now()
        if current is not None and self._keeps_its_approval(current, tradable):
            changed = _with_asset(current, tradable, units)
            changed = replace(changed, updated_at=now)
            return self.settler.settle(self._orders.save_mandate(changed, expected_version=current.version))
        request_id = self._request_exchange_address(account, tradable)
        mandate = Mandate(
            client_id=account.client_id,
            exchange=tradable.exchange,
            network=tradable.network,
            asset=tradable.symbol,
            asset_kind=tradable.kind,
            decimals=tradable.decimals,
            contract=tradable.contract,
            amount_per_run=format_units(units, tradable.decimals),
            amount_units=units,
            deposit_address=address,
            status="pending_approval",
            created_at=now,
            updated_at=now,
            destination_request_id=request_id,
        )
        saved = self._orders.save_mandate(mandate, expected_version=current.version if current else None)
        logger.info(
            "trading authorised",
            extra={"clientId": account.client_id, "exchange": exchange, "requestId": request_id},
        )
        return self.settler.settle(saved)

    def revoke(self, client_id: str) -> Mandate:
        """No further orders: the planner stops planning legs for it, and legs already planned are
        skipped by the worker's pre-flight. Revoking twice is the same as once."""
        mandate = self.get(client_id)
        if mandate.status == "revoked":
            return mandate
        now = self._clock.now()
        revoked = replace(mandate, status="revoked", revoked_at=now, updated_at=now)
        saved = self._orders.save_mandate(revoked, expected_version=mandate.version)
        logger.info("trading revoked", extra={"clientId": client_id})
        return saved

    def _keeps_its_approval(self, current: Mandate, tradable: TradableAsset) -> bool:
        """The same exchange address, still waiting for compliance or still approved in the mirror (an
        address the client removed since is asked for again)."""
        if current.status not in PLANNED_MANDATE_STATUSES or not current.same_destination(tradable):
            return False
        if current.status == "pending_approval":
            return True
        return self._accounts.get_destination(current.client_id, current.deposit_address) is not None

    def _request_exchange_address(self, account: Account, tradable: TradableAsset) -> str | None:
        """The destination request that approves the deposit address; None when it is approved already."""
        client_id, address = account.client_id, tradable.deposit_address
        if self._accounts.get_destination(client_id, address) is not None:
            return None
        try:
            request = self._destinations.request_destination(
                client_id, address, f"{tradable.exchange} deposit"
            )
        except AlreadyPending:
            pending = next((p for p in self._accounts.list_pending(client_id) if p.address == address), None)
            return pending.request_id if pending else None
        except Conflict:
            return None  # approved meanwhile: the mirror has it
        return request.request_id

    def _active_account(self, client_id: str) -> Account:
        account = self._accounts.get_account(validate_client_id(client_id))
        if account is None:
            raise NotFound("no account yet: POST /accounts first")
        if account.status != "active" or not account.wallet_id:
            raise AccountNotReady("the account is still being set up; retry POST /accounts")
        return account


def _with_asset(mandate: Mandate, tradable: TradableAsset, units: int) -> Mandate:
    return replace(
        mandate,
        asset=tradable.symbol,
        asset_kind=tradable.kind,
        decimals=tradable.decimals,
        contract=tradable.contract,
        amount_per_run=format_units(units, tradable.decimals),
        amount_units=units,
    )
