"""What the orders API offers (``functions/orders/handler.py``): one object over the trading parts."""

from __future__ import annotations

from managed_accounts.domain.mandates import MandateService
from managed_accounts.domain.models import validate_client_id
from managed_accounts.domain.order_runs import OrderRunPlanner
from managed_accounts.domain.ports import OrdersRepository
from managed_accounts.domain.trading import Mandate, OrderPage, RunReport


class TradingService:
    def __init__(self, mandates: MandateService, planner: OrderRunPlanner, orders: OrdersRepository) -> None:
        self._mandates = mandates
        self._planner = planner
        self._orders = orders

    # --- the client's mandate and orders ---------------------------------------------------------------

    def get_mandate(self, client_id: str) -> Mandate:
        return self._mandates.get(client_id)

    def authorise(self, client_id: str, exchange: str, asset: str, amount_per_run: str) -> Mandate:
        return self._mandates.authorise(client_id, exchange, asset, amount_per_run)

    def revoke(self, client_id: str) -> Mandate:
        return self._mandates.revoke(client_id)

    def list_orders(self, client_id: str, *, limit: int = 20, cursor: str | None = None) -> OrderPage:
        return self._orders.list_orders(validate_client_id(client_id), limit=limit, cursor=cursor)

    # --- operators -------------------------------------------------------------------------------------

    def start_run(self, run_id: str | None, *, operator_id: str) -> tuple[RunReport, bool]:
        """Plans the run now (the schedule's path); an existing run id is replayed idempotently."""
        return self._planner.start(run_id, trigger=f"operator:{operator_id}")

    def run_report(self, run_id: str) -> RunReport:
        return self._planner.report(run_id)
