"""Test wiring for trading: the real services over given ports (a fake or real Dfns, the memory or
DynamoDB repositories), an in-memory order-leg queue, and the real SQS worker handler draining it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from managed_accounts.config import Settings
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.mandates import MandateOutcomes, MandateService, MandateSettler
from managed_accounts.domain.order_legs import OrderLegWorker
from managed_accounts.domain.order_outcomes import OrderOutcomes, OrderTransitions
from managed_accounts.domain.order_runs import OrderRunPlanner
from managed_accounts.domain.outbox import Outbox
from managed_accounts.domain.ports import AccountsRepository, DfnsGateway, EventPublisher, OrdersRepository
from managed_accounts.domain.trading import RunReport
from managed_accounts.domain.trading_service import TradingService
from managed_accounts.wiring import count_budgets_of, exchange_catalog_of

import functions.orders.worker as worker_function
from tests.fakes.apigw import FakeLambdaContext
from tests.fakes.memory_queue import DrainReport, MemoryLegQueue
from tests.fakes.recording import FixedClock, RecordingMetrics, RecordingPublisher

EXCHANGE = "test-exchange"
NETWORK = "EthereumSepolia"
DEPOSIT = "0x" + "e0" * 20
USDC = "0x" + "c0" * 20
EXCHANGES: dict[str, Any] = {
    EXCHANGE: {
        "depositAddresses": {NETWORK: DEPOSIT, "BaseSepolia": "0x" + "b0" * 20},
        "assets": {
            NETWORK: [
                {"symbol": "ETH", "decimals": 18},
                {"symbol": "USDC", "kind": "Erc20", "contract": USDC, "decimals": 6},
            ],
            "BaseSepolia": [{"symbol": "ETH", "decimals": 18}],
        },
    }
}


@dataclass
class Trading:
    accounts: AccountsRepository
    orders: OrdersRepository
    dfns: DfnsGateway
    publisher: EventPublisher
    clock: FixedClock
    settings: Settings
    destinations: DestinationService
    mandates: MandateService
    settler: MandateSettler
    transitions: OrderTransitions
    outcomes: OrderOutcomes
    planner: OrderRunPlanner
    queue: MemoryLegQueue
    worker: OrderLegWorker
    service: TradingService
    metrics: RecordingMetrics = field(default_factory=RecordingMetrics)

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """One invocation of the real SQS worker handler."""
        response: dict[str, Any] = worker_function.handler(event, FakeLambdaContext(), worker=self.worker)
        return response

    def run(self, run_id: str | None = "run-1") -> RunReport:
        """Plan the run, drain the queue through the worker, and report."""
        report, _ = self.planner.start(run_id, trigger="operator:test")
        self.drain()
        return self.planner.report(report.run.run_id)

    def plan(self, run_id: str, trigger: str = "schedule") -> RunReport:
        """Start the run and plan it, leaving its legs on the queue (not processed yet)."""
        self.planner.start(run_id, trigger=trigger)
        return self.plan_pages(run_id)

    def plan_pages(self, run_id: str) -> RunReport:
        """Plan the pages on the queue, leaving the legs they enqueue there."""
        while pages := self.queue.take_pages():
            for page in pages:
                self.planner.plan(page)
        return self.planner.report(run_id)

    def drain(self) -> DrainReport:
        return self.queue.drain(self.handle)


def build_trading(
    *,
    accounts: AccountsRepository,
    orders: OrdersRepository,
    dfns: DfnsGateway,
    settings: Settings,
    clock: FixedClock | None = None,
    publisher: EventPublisher | None = None,
    queue: MemoryLegQueue | None = None,
    destinations: DestinationService | None = None,
) -> Trading:
    clock = clock or FixedClock()
    publisher = publisher or RecordingPublisher()
    queue = queue or MemoryLegQueue(clock)
    metrics = RecordingMetrics()
    settler = MandateSettler(orders, accounts, clock)
    destinations = destinations or DestinationService(
        accounts, dfns, publisher, clock, listeners=(MandateOutcomes(settler, orders),)
    )
    catalog = exchange_catalog_of(settings)
    mandates = MandateService(orders, accounts, destinations, catalog, clock)
    transitions = OrderTransitions(orders, Outbox(accounts, publisher), clock)
    threshold = settings.order_breaker_threshold
    planner = OrderRunPlanner(orders, queue, clock, breaker_threshold=threshold)
    worker = OrderLegWorker(
        orders=orders,
        accounts=accounts,
        dfns=dfns,
        queue=queue,
        planner=planner,
        transitions=transitions,
        settler=settler,
        catalog=catalog,
        budgets=count_budgets_of(settings),
        clock=clock,
        metrics=metrics,
        breaker_threshold=threshold,
    )
    return Trading(
        accounts=accounts,
        orders=orders,
        dfns=dfns,
        publisher=publisher,
        clock=clock,
        settings=settings,
        destinations=destinations,
        mandates=mandates,
        settler=settler,
        transitions=transitions,
        outcomes=OrderOutcomes(orders, transitions),
        planner=planner,
        queue=queue,
        worker=worker,
        service=TradingService(mandates, planner, orders),
        metrics=metrics,
    )
