"""Order runs against the Dfns sandbox (in-process, frozen clock), counting the transfers Dfns made.

The product's real ``DfnsClient`` signs every call; the sandbox enforces the whitelist, the limit
profiles' Block policies, externalId idempotency (same body → the first transfer; another → 409) and
injected 5xx faults. Every scenario runs on the DynamoDB adapters (moto) and on the in-memory fakes.
The SQS event source is ``MemoryLegQueue`` driving the real worker handler (Powertools BatchProcessor).

Done-when of issue 11: the same run twice, every message delivered twice, a crash after the Dfns call
and before the write: exactly one transfer per mandate each time; pending, denied, budget-spent and
revoked mandates are skipped with their reason and no Dfns call; a transfer blocked in Dfns is rejected
with Dfns's reason; with every transfer answered 5xx the breaker stops the run after its threshold, and
a replay once the fault is lifted completes it with no duplicate.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from dfns_sandbox import SandboxServer
from local_stack.dfns_setup import DfnsIdentity, officer_credentials, register_service_account
from local_stack.officer import officer_client
from managed_accounts.bootstrap import governance_policy, limit_policies
from managed_accounts.config import Settings
from managed_accounts.data.orders_repository import DynamoOrdersRepository
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.models import DecisionBody, PolicyBody
from managed_accounts.dfns.signing import UserActionSigner
from managed_accounts.domain.drift import DriftReporter
from managed_accounts.domain.onboarding import OnboardingService
from managed_accounts.domain.order_legs import LegDeferred
from managed_accounts.domain.ports import AccountsRepository, LegMessage, OrdersRepository
from managed_accounts.domain.reconciler import Reconciler
from managed_accounts.domain.trading import Order, RunReport, order_external_id

from tests.fakes.memory_orders import MemoryOrdersRepository
from tests.fakes.memory_queue import MemoryLegQueue
from tests.fakes.memory_repository import MemoryAccountsRepository
from tests.fakes.recording import FixedClock, RecordingMetrics, RecordingPublisher
from tests.fakes.trading import DEPOSIT, EXCHANGE, EXCHANGES, build_trading
from tests.fakes.world import make_settings

pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics"),
    pytest.mark.usefixtures("atomic_moto"),
]

TRANSFERS_ROUTE = "POST /wallets/{walletId}/transfers"
ONE_ETH = 10**18
BREAKER = 3


def _client(sandbox: SandboxServer, identity: DfnsIdentity, *, max_attempts: int = 4) -> DfnsClient:
    return DfnsClient(
        sandbox.url,
        identity.token,
        UserActionSigner(identity.cred_id, identity.private_key_pem),
        http_client=httpx.Client(timeout=10, verify=False),
        max_attempts=max_attempts,
        sleep=lambda _: None,  # retries do not wait in tests
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer("127.0.0.1", 0, realtime=False) as server:  # frozen clock
        yield server


@pytest.fixture(scope="module")
def identities(sandbox: SandboxServer) -> tuple[DfnsIdentity, DfnsIdentity]:
    """The service account (with the product's governance and limit policies) and the officer."""
    service_account = register_service_account(sandbox, name="managed-accounts")
    officer = officer_credentials(sandbox)
    settings = _settings(officer.user_id)
    with _client(sandbox, service_account) as dfns:
        dfns.create_policy(governance_policy(settings))
        for body in limit_policies(settings):
            dfns.create_policy(body)
    return service_account, officer


def _settings(officer_id: str, **overrides: Any) -> Settings:
    return make_settings(
        exchanges=EXCHANGES,
        compliance_approver_ids=[officer_id],
        order_breaker_threshold=BREAKER,
        limit_profiles={
            "standard": {"amountLimitUsd": 10_000, "countLimit": 20},
            "tight": {"countLimit": 1},  # one transfer a day
        },
        **overrides,
    )


class Desk:
    """The product (services over the chosen repositories), the sandbox, and the compliance officer."""

    def __init__(
        self,
        sandbox: SandboxServer,
        identities: tuple[DfnsIdentity, DfnsIdentity],
        accounts: AccountsRepository,
        orders: OrdersRepository,
        *,
        duplicates: bool = False,
    ) -> None:
        service_account, officer = identities
        self.sandbox = sandbox
        self.prefix = uuid.uuid4().hex[:8]  # one sandbox per module: every test's clients are its own
        self.settings = _settings(officer.user_id)
        self.clock = FixedClock()
        self.publisher = RecordingPublisher()
        self.service_account = service_account
        # The worker's client, as wiring builds it: one in-process retry, then back to the queue.
        self.dfns = _client(sandbox, service_account, max_attempts=2)
        self.officer = officer_client(
            sandbox.url, officer, http_client=httpx.Client(timeout=10, verify=False)
        )
        self.http = httpx.Client(base_url=sandbox.url, timeout=10)
        self.accounts = accounts
        self.trading = build_trading(
            accounts=accounts,
            orders=orders,
            dfns=self.dfns,
            settings=self.settings,
            clock=self.clock,
            publisher=self.publisher,
            queue=MemoryLegQueue(self.clock, duplicates=duplicates),
        )

    def close(self) -> None:
        self.set_faults(rate5xx=0)
        for closeable in (self.dfns, self.officer, self.http):
            closeable.close()

    # --- the story's steps ----------------------------------------------------------------------------

    def client(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def onboard(self, name: str, *, profile: str = "standard", fund: int = ONE_ETH) -> str:
        client_id = self.client(name)
        settings = _settings(self.settings.compliance_approver_ids[0], default_limit_profile=profile)
        account = OnboardingService(self.accounts, self.dfns, settings, self.publisher, self.clock)
        wallet_id = account.onboard(client_id).account.wallet_id
        assert wallet_id is not None
        self.http.post(
            "/sandbox/deposits", json={"walletId": wallet_id, "amount": str(fund)}
        ).raise_for_status()
        return client_id

    def authorise(self, name: str, amount: str = "0.05", **onboarding: Any) -> str:
        client_id = self.onboard(name, **onboarding)
        self.trading.mandates.authorise(client_id, EXCHANGE, "ETH", amount)
        return client_id

    def decide(self, client_id: str, value: str, reason: str | None = None) -> None:
        """The officer decides the client's exchange-address approval in Dfns; the webhook applies it."""
        mandate = self.trading.orders.get_mandate(client_id)
        assert mandate is not None
        assert mandate.destination_request_id is not None
        request = self.trading.destinations.get_request(client_id, mandate.destination_request_id)
        assert request.approval_id is not None
        self.officer.decide_approval(request.approval_id, DecisionBody(value=value, reason=reason))
        assert self.trading.destinations.apply_approval(self.dfns.get_approval(request.approval_id))

    def active(self, name: str, **kwargs: Any) -> str:
        client_id = self.authorise(name, **kwargs)
        self.decide(client_id, "Approved")
        assert self.trading.mandates.get(client_id).status == "active"
        return client_id

    def run(self, run_id: str) -> RunReport:
        return self.trading.run(run_id)

    # --- what Dfns holds ------------------------------------------------------------------------------

    def transfers(self, client_id: str) -> list[Any]:
        account = self.accounts.get_account(client_id)
        assert account is not None
        assert account.wallet_id is not None
        return list(self.dfns.iter_transfers(account.wallet_id))

    def clear_request_log(self) -> None:
        self.http.delete("/sandbox/requests").raise_for_status()

    def dfns_calls(self) -> dict[str, int]:
        counts: dict[str, int] = self.http.get("/sandbox/requests").json()["counts"]
        return {route: n for route, n in counts.items() if " /sandbox/" not in route}

    def set_faults(self, **faults: Any) -> None:
        self.http.post("/sandbox/faults", json=faults).raise_for_status()

    def order(self, client_id: str, run_id: str) -> Order:
        found = self.trading.orders.find_order_by_external_id(client_id, order_external_id(run_id, client_id))
        assert found is not None
        return found


def _repositories(request: pytest.FixtureRequest) -> tuple[AccountsRepository, OrdersRepository]:
    if request.param == "memory":
        memory = MemoryAccountsRepository()
        return memory, MemoryOrdersRepository(outbox=memory.outbox)
    table = request.getfixturevalue("table")
    return DynamoAccountsRepository(table), DynamoOrdersRepository(table)


@pytest.fixture(params=["dynamodb", "memory"])
def repositories(request: pytest.FixtureRequest) -> tuple[AccountsRepository, OrdersRepository]:
    return _repositories(request)


@pytest.fixture
def desk(
    sandbox: SandboxServer,
    identities: tuple[DfnsIdentity, DfnsIdentity],
    repositories: tuple[AccountsRepository, OrdersRepository],
) -> Iterator[Desk]:
    built = Desk(sandbox, identities, *repositories)
    yield built
    built.close()


# --- exactly once -----------------------------------------------------------------------------------


def test_the_same_run_twice_makes_exactly_one_transfer_per_mandate(desk: Desk) -> None:
    clients = [desk.active(name) for name in ("a", "b", "c")]

    first = desk.run("run-twice")
    second = desk.run("run-twice")

    assert first.by_status == {"submitted": 3}
    assert second.run.replays == 1
    assert second.by_status == first.by_status
    for client_id in clients:
        (transfer,) = desk.transfers(client_id)
        assert transfer.external_id == order_external_id("run-twice", client_id)
        assert transfer.request_body["to"] == DEPOSIT
        assert transfer.request_body["amount"] == str(5 * 10**16)
        assert desk.order(client_id, "run-twice").transfer_id == transfer.id


def test_every_message_delivered_twice_makes_exactly_one_transfer_per_mandate(
    sandbox: SandboxServer,
    identities: tuple[DfnsIdentity, DfnsIdentity],
    repositories: tuple[AccountsRepository, OrdersRepository],
) -> None:
    desk = Desk(sandbox, identities, *repositories, duplicates=True)
    try:
        clients = [desk.active(name) for name in ("a", "b", "c")]
        desk.clear_request_log()

        report = desk.run("run-dup")

        assert report.by_status == {"submitted": 3}
        assert all(len(desk.transfers(c)) == 1 for c in clients)
        assert desk.dfns_calls()[TRANSFERS_ROUTE] == 3  # the second delivery never reached Dfns
    finally:
        desk.close()


class Crash(BaseException):
    """The process dies on the spot: no handler, no clean-up."""


class CrashAfterDfns:
    """The orders repository, except that recording a transfer crashes once per order."""

    def __init__(self, inner: OrdersRepository) -> None:
        self._inner = inner
        self.crashed: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def save_order(self, order: Order, **kwargs: Any) -> Order:
        if order.transfer_id and order.client_id not in self.crashed:
            self.crashed.add(order.client_id)
            raise Crash
        return self._inner.save_order(order, **kwargs)


def test_a_crash_after_the_dfns_call_and_before_the_write_makes_exactly_one_transfer(
    sandbox: SandboxServer,
    identities: tuple[DfnsIdentity, DfnsIdentity],
    repositories: tuple[AccountsRepository, OrdersRepository],
) -> None:
    accounts, orders = repositories
    crashing = CrashAfterDfns(orders)
    desk = Desk(sandbox, identities, accounts, crashing)
    try:
        clients = [desk.active(name) for name in ("a", "b", "c")]
        desk.clear_request_log()

        report = desk.run("run-crash")

        assert crashing.crashed == set(clients)  # every leg died once, after Dfns made its transfer
        assert report.by_status == {"submitted": 3}
        # Each leg called Dfns again after its lease ran out; Dfns answered with the first transfer.
        assert desk.dfns_calls()[TRANSFERS_ROUTE] == 6
        for client_id in clients:
            (transfer,) = desk.transfers(client_id)
            assert desk.order(client_id, "run-crash").transfer_id == transfer.id
    finally:
        desk.close()


def test_two_workers_on_the_same_leg_at_once_make_one_transfer(desk: Desk) -> None:
    client_id = desk.active("a")
    desk.trading.plan("run-race")
    start = threading.Barrier(4)

    def deliver(_: int) -> str:
        start.wait()
        try:
            return desk.trading.worker.process(LegMessage("run-race", client_id))
        except LegDeferred:  # it found the order claimed: back once the lease has passed
            return "deferred"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(deliver, range(4)))

    assert outcomes.count("submitted") == 1
    assert set(outcomes) - {"submitted"} <= {"duplicate", "deferred"}
    assert len(desk.transfers(client_id)) == 1


# --- skipped with a reason, no Dfns call --------------------------------------------------------------


def test_pending_denied_budget_spent_and_revoked_mandates_are_skipped_without_a_dfns_call(desk: Desk) -> None:
    budget = desk.active("budget", profile="tight")
    desk.run("run-earlier")  # spends "budget"'s one transfer of the day
    payer = desk.active("payer")
    pending = desk.authorise("pending")  # the officer has not decided
    denied = desk.authorise("denied")
    revoked = desk.active("revoked")
    desk.trading.plan("run-skips")
    desk.decide(denied, "Denied", "unknown exchange")  # after planning, before the worker
    desk.trading.mandates.revoke(revoked)  # likewise
    desk.clear_request_log()

    desk.trading.drain()

    report = desk.trading.planner.report("run-skips")
    assert report.skipped == {
        "count_budget_spent": 1,
        "destination_pending": 1,
        "destination_rejected": 1,
        "mandate_revoked": 1,
    }
    assert desk.order(payer, "run-skips").status == "submitted"
    for client_id, reason in (
        (budget, "count_budget_spent"),
        (pending, "destination_pending"),
        (denied, "destination_rejected"),
        (revoked, "mandate_revoked"),
    ):
        assert (desk.order(client_id, "run-skips").status, desk.order(client_id, "run-skips").reason) == (
            "skipped",
            reason,
        )
    # The payer's signed transfer (init, action, call) is the only Dfns traffic of the whole drain.
    assert desk.dfns_calls() == {"POST /auth/action/init": 1, "POST /auth/action": 1, TRANSFERS_ROUTE: 1}
    assert len(desk.transfers(budget)) == 1  # the earlier run's only


# --- Dfns's answers -----------------------------------------------------------------------------------


def test_a_transfer_blocked_in_dfns_is_rejected_with_dfns_reason(desk: Desk) -> None:
    client_id = desk.active("big", amount="4")  # 4 ETH ≈ 12,000 USD: over the profile's 10,000 USD limit

    report = desk.run("run-block")

    assert report.by_status == {"rejected": 1}
    order = desk.order(client_id, "run-block")
    (transfer,) = desk.transfers(client_id)
    assert transfer.status == "Rejected"
    assert order.reason == transfer.reason
    assert order.reason is not None
    assert order.reason.startswith("Blocked by policy: managed-accounts:limits:standard:amount")
    assert "OrderRejected" in desk.publisher.types()


def test_an_approval_needed_is_recorded_and_the_order_confirmed_once_approved(desk: Desk) -> None:
    client_id = desk.active("reviewed")
    account = desk.accounts.get_account(client_id)
    assert account is not None
    assert account.wallet_id is not None
    desk.dfns.create_policy(
        PolicyBody.model_validate(
            {
                "name": f"{desk.prefix}:review-every-transfer",
                "activityKind": "Wallets:Sign",
                "rule": {"kind": "TransactionAmountLimit", "configuration": {"limit": 1, "currency": "USD"}},
                "action": {
                    "kind": "RequestApproval",
                    "approvalGroups": [
                        {"quorum": 1, "approvers": {"userId": {"in": desk.settings.compliance_approver_ids}}}
                    ],
                },
                "filters": {"walletId": {"in": [account.wallet_id]}},
            }
        )
    )

    desk.run("run-review")

    order = desk.order(client_id, "run-review")
    assert order.status == "submitted"
    assert order.approval_id is not None
    assert order.approval_id.startswith("ap-")
    desk.officer.decide_approval(order.approval_id, DecisionBody(value="Approved"))
    desk.sandbox.advance(20)  # executing, broadcast, confirmed

    summary = _reconciler(desk).run()

    assert (summary["ordersChecked"], summary["ordersAdvanced"]) == (1, 1)
    confirmed = desk.order(client_id, "run-review")
    assert (confirmed.status, confirmed.transfer_status) == ("confirmed", "Confirmed")
    assert confirmed.tx_hash
    assert desk.publisher.types().count("OrderConfirmed") == 1


def _reconciler(desk: Desk) -> Reconciler:
    return Reconciler(
        dfns=desk.dfns,
        repository=desk.accounts,
        destinations=desk.trading.destinations,
        drift=DriftReporter(desk.publisher, RecordingMetrics(), desk.clock),
        clock=desk.clock,
        orders=desk.trading.outcomes,
    )


# --- the circuit breaker ------------------------------------------------------------------------------


def test_with_every_transfer_failing_the_breaker_stops_the_run_and_a_replay_completes_it(desk: Desk) -> None:
    clients = [desk.active(f"c{i}") for i in range(6)]
    desk.set_faults(rate5xx=1.0)
    desk.clear_request_log()

    stopped = desk.run("run-breaker")

    assert stopped.run.breaker_open
    assert stopped.skipped == {"circuit_open": 6}
    assert stopped.transfers == 0
    # The breaker counts one outage per failed leg (each after its one in-process retry): three legs
    # reached for Dfns, then none did. Every attempt failed before Dfns acted.
    assert desk.dfns_calls() == {"POST /auth/action/init": BREAKER * 2}
    desk.set_faults(rate5xx=0)
    assert all(desk.transfers(c) == [] for c in clients)

    replay, replayed = desk.trading.planner.start("run-breaker", trigger="operator:ops")
    desk.trading.drain()

    assert replayed
    assert not replay.run.breaker_open
    final = desk.trading.planner.report("run-breaker")
    assert final.by_status == {"submitted": 6}
    assert all(len(desk.transfers(c)) == 1 for c in clients)
