"""The orders API through API Gateway REST events: statuses, bodies, validation, operators, and
isolation between two clients on every route. Idempotency records live in a moto table, as deployed."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from managed_accounts.data.orders_repository import DynamoOrdersRepository
from managed_accounts.order_commands import TradingCommands
from managed_accounts.routes import ROUTES

import functions.orders.handler as orders
from tests.fakes.apigw import HttpResult, call, rest_event
from tests.fakes.trading import DEPOSIT, EXCHANGE, EXCHANGES, Trading, build_trading
from tests.fakes.world import REGION, World, build_world, idempotency_table_for

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

AUTH = "/accounts/me/trading-authorization"
OPERATOR = ["operators"]


@dataclass
class Api:
    world: World
    trading: Trading
    commands: TradingCommands

    def call(
        self,
        method: str,
        path: str,
        client_id: str | None,
        body: Any = None,
        *,
        key: str | None = None,
        groups: list[str] | None = None,
        query: dict[str, str] | None = None,
        resource: str | None = None,
        path_parameters: dict[str, str] | None = None,
    ) -> HttpResult:
        event = rest_event(
            method,
            path,
            client_id=client_id,
            body=body,
            groups=groups,
            query=query,
            resource=resource,
            path_parameters=path_parameters,
        )
        if key is not None:
            event["headers"]["Idempotency-Key"] = key
            event["multiValueHeaders"]["Idempotency-Key"] = [key]
        return call(
            lambda e, c: orders.handler(e, c, service=self.trading.service, commands=self.commands), event
        )

    def authorise(self, client_id: str, amount: str = "0.05", **kwargs: Any) -> HttpResult:
        return self.call(
            "PUT", AUTH, client_id, {"exchange": EXCHANGE, "asset": "ETH", "amountPerRun": amount}, **kwargs
        )

    def approve_all(self) -> None:
        for approval_id in self.world.dfns.pending_approval_ids():
            self.trading.destinations.apply_approval(self.world.dfns.decide(approval_id, "Approved"))

    def report(
        self, run_id: str, client_id: str | None = "ops", groups: list[str] | None = OPERATOR
    ) -> HttpResult:
        return self.call(
            "GET",
            f"/admin/order-runs/{run_id}",
            client_id,
            groups=groups,
            resource="/admin/order-runs/{runId}",
            path_parameters={"runId": run_id},
        )


@pytest.fixture
def api(table: Any) -> Api:
    world = build_world(table, exchanges=EXCHANGES)
    trading = build_trading(
        accounts=world.repo,
        orders=DynamoOrdersRepository(table),
        dfns=world.dfns,
        settings=world.settings,
        clock=world.clock,
        publisher=world.publisher,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=idempotency_table_for(table), boto3_client=boto3.client("dynamodb", region_name=REGION)
    )
    for client_id in ("alice", "bob"):
        world.onboarding.onboard(client_id)
    return Api(world, trading, TradingCommands(trading.service, persistence))


def test_the_handler_serves_exactly_its_routes_of_the_route_table() -> None:
    module = importlib.import_module("functions.orders.handler")
    schema = module.app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
    served = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops if p != "/docs"}
    assert served == {(r.method, r.path) for r in ROUTES if r.function == "orders"}
    assert {r.auth for r in ROUTES if r.path.startswith("/admin/")} == {"operator"}


def test_authorising_is_202_pending_then_the_mandate_is_active_once_compliance_approves(api: Api) -> None:
    response = api.authorise("alice", "0.05")

    assert response.status == 202
    body = response.body
    assert body["status"] == "pending_approval"
    assert (body["exchange"], body["network"], body["asset"], body["assetKind"]) == (
        EXCHANGE,
        "EthereumSepolia",
        "ETH",
        "Native",
    )
    assert (body["amountPerRun"], body["amountPerRunMinimumUnits"], body["decimals"]) == (
        "0.05",
        "50000000000000000",
        18,
    )
    assert body["depositAddress"] == DEPOSIT
    assert body["destinationRequestId"]

    api.approve_all()
    shown = api.call("GET", AUTH, "alice")

    assert shown.status == 200
    assert shown.body["status"] == "active"
    assert shown.body["approvalId"]
    again = api.authorise("alice", "0.07")
    assert (again.status, again.body["status"], again.body["amountPerRun"]) == (200, "active", "0.07")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"exchange": "nowhere", "asset": "ETH", "amountPerRun": "1"}, 422, "unknown exchange"),
        ({"exchange": EXCHANGE, "asset": "DOGE", "amountPerRun": "1"}, 422, "no asset"),
        ({"exchange": EXCHANGE, "asset": "USDC", "amountPerRun": "0.0000001"}, 422, "more than 6 decimal"),
        ({"exchange": EXCHANGE, "asset": "ETH", "amountPerRun": 0.05}, 422, "amountPerRun"),  # a JSON number
        ({"exchange": EXCHANGE, "asset": "ETH", "amountPerRun": "1e3"}, 422, "amountPerRun"),
        ({"exchange": EXCHANGE, "asset": "ETH"}, 422, "amountPerRun"),
        ({"exchange": EXCHANGE, "asset": "ETH", "amountPerRun": "1", "to": "0xdead"}, 422, "to"),
    ],
)
def test_what_cannot_be_traded_is_a_422_naming_the_problem_and_nothing_changes(
    api: Api, body: dict[str, Any], status: int, message: str
) -> None:
    response = api.call("PUT", AUTH, "alice", body)

    assert response.status == status
    assert response.body["error"]["code"] == "invalid_input"
    assert message in response.body["error"]["message"]
    assert api.call("GET", AUTH, "alice").status == 404
    assert api.world.dfns.calls["update_policy"] == 0


def test_no_mandate_is_a_404_and_no_account_a_404(api: Api) -> None:
    assert api.call("GET", AUTH, "alice").status == 404
    assert api.call("DELETE", AUTH, "alice").status == 404
    assert api.authorise("stranger").status == 404


def test_revoking_is_200_and_final(api: Api) -> None:
    api.authorise("alice")
    api.approve_all()

    revoked = api.call("DELETE", AUTH, "alice")
    again = api.call("DELETE", AUTH, "alice")

    assert (revoked.status, revoked.body["status"]) == (200, "revoked")
    assert revoked.body["revokedAt"]
    assert again.body == revoked.body


def test_an_idempotency_key_replays_the_answer_and_refuses_another_body(api: Api) -> None:
    first = api.authorise("alice", "0.05", key="k-1")
    api.approve_all()

    repeat = api.authorise("alice", "0.05", key="k-1")
    other = api.authorise("alice", "0.06", key="k-1")
    bob_same_key = api.authorise("bob", "0.05", key="k-1")  # keys are per client

    assert (repeat.status, repeat.body) == (202, first.body)  # the stored answer, not today's state
    assert (other.status, other.body["error"]["code"]) == (422, "invalid_input")
    assert bob_same_key.status == 202
    assert api.call("PUT", AUTH, "alice", {"exchange": EXCHANGE}, key="bad key").status == 422


def test_orders_are_listed_newest_run_first_with_a_cursor(api: Api) -> None:
    api.authorise("alice")
    api.approve_all()
    for run_id in ("run-1", "run-2", "run-3"):
        api.world.clock.advance(25 * 3600)
        api.trading.run(run_id)

    first = api.call("GET", "/accounts/me/orders", "alice", query={"limit": "2"})
    second = api.call(
        "GET", "/accounts/me/orders", "alice", query={"limit": "2", "cursor": first.body["nextCursor"]}
    )

    assert [o["runId"] for o in first.body["items"]] == ["run-3", "run-2"]
    assert [o["runId"] for o in second.body["items"]] == ["run-1"]
    assert second.body["nextCursor"] is None
    order = first.body["items"][0]
    assert (order["status"], order["transferStatus"], order["to"], order["amount"]) == (
        "submitted",
        "Pending",
        DEPOSIT,
        "0.05",
    )
    assert order["transferId"].startswith("xfr-")
    assert order["externalId"].startswith("ord-")
    assert api.call("GET", "/accounts/me/orders", "alice", query={"cursor": "junk"}).status == 422


def test_order_runs_are_for_operators_only(api: Api) -> None:
    api.authorise("alice")
    api.approve_all()

    refused = api.call("POST", "/admin/order-runs", "alice", {"runId": "run-1"})
    assert (refused.status, refused.body["error"]["code"]) == (403, "forbidden")
    assert api.report("run-1", "alice", groups=None).status == 403
    assert api.trading.queue.sent == []

    started = api.call("POST", "/admin/order-runs", "ops", {"runId": "run-1"}, groups=OPERATOR)

    assert started.status == 202
    assert (started.body["runId"], started.body["status"], started.body["replayed"]) == (
        "run-1",
        "planning",  # the pages are planned on the queue: the POST answers at once
        False,
    )
    assert started.body["trigger"] == "operator:ops"
    api.trading.drain()
    report = api.report("run-1")
    assert report.status == 200
    assert (report.body["status"], report.body["planned"]) == ("planned", 1)
    assert (report.body["submitted"], report.body["inFlight"], report.body["pending"]) == (1, 1, 0)
    assert report.body["breaker"] == {
        "open": False,
        "consecutiveFailures": 0,
        "threshold": 5,
        "openedAt": None,
    }
    assert report.body["skipped"] == {"total": 0, "byReason": {}}


def test_starting_an_existing_run_replays_it_and_without_an_id_starts_a_new_one(api: Api) -> None:
    api.authorise("alice")
    api.approve_all()
    api.call("POST", "/admin/order-runs", "ops", {"runId": "run-1"}, groups=OPERATOR)
    api.trading.drain()

    replay = api.call("POST", "/admin/order-runs", "ops", {"runId": "run-1"}, groups=OPERATOR)
    fresh = api.call("POST", "/admin/order-runs", "ops", {}, groups=OPERATOR)

    assert (replay.status, replay.body["replayed"], replay.body["replays"], replay.body["submitted"]) == (
        202,
        True,
        1,
        1,
    )
    assert fresh.body["runId"].startswith("run-")
    assert fresh.body["runId"] != "run-1"
    assert api.report("nope").status == 404
    assert api.call("POST", "/admin/order-runs", "ops", {"runId": "bad id"}, groups=OPERATOR).status == 422


def test_every_route_needs_a_token(api: Api) -> None:
    for method, path in (("PUT", AUTH), ("GET", AUTH), ("DELETE", AUTH), ("GET", "/accounts/me/orders")):
        body = {"exchange": EXCHANGE, "asset": "ETH", "amountPerRun": "1"} if method == "PUT" else None
        assert api.call(method, path, None, body).status == 401
    assert api.call("POST", "/admin/order-runs", None, {}).status == 401
    assert api.report("run-1", None, groups=None).status == 401


def test_two_clients_never_see_or_change_each_others_mandate_or_orders(api: Api) -> None:
    api.authorise("alice", "0.05")
    api.approve_all()
    api.trading.run("run-1")
    api.world.clock.advance(25 * 3600)
    api.trading.run("run-2")
    alice_orders = api.call("GET", "/accounts/me/orders", "alice")
    alice_page = api.call("GET", "/accounts/me/orders", "alice", query={"limit": "1"})

    # Bob sees nothing of Alice's, and her cursor is refused to him (it is bound to its owner).
    assert api.call("GET", AUTH, "bob").status == 404
    assert api.call("GET", "/accounts/me/orders", "bob").body == {"items": [], "nextCursor": None}
    with_her_cursor = api.call(
        "GET", "/accounts/me/orders", "bob", query={"cursor": alice_page.body["nextCursor"]}
    )
    assert with_her_cursor.status == 422
    assert api.call("DELETE", AUTH, "bob").status == 404

    # Bob's own authorisation is his alone; Alice's mandate and orders are untouched.
    bob = api.authorise("bob", "0.5")
    assert (bob.status, bob.body["amountPerRun"]) == (202, "0.5")
    alice = api.call("GET", AUTH, "alice")
    assert (alice.body["status"], alice.body["amountPerRun"]) == ("active", "0.05")
    api.call("DELETE", AUTH, "bob")
    assert api.call("GET", AUTH, "alice").body["status"] == "active"
    assert api.call("GET", "/accounts/me/orders", "alice").body == alice_orders.body
    assert [o["runId"] for o in alice_orders.body["items"]] == ["run-2", "run-1"]
