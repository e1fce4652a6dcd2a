"""Trading authorisation, the client's orders, and order runs (operators): the orders API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.api.identity import current_client_id, require_operator
from managed_accounts.api.orders_models import (
    MandateOut,
    OrderPageOut,
    OrderRunIn,
    RunReportOut,
    TradingAuthorizationIn,
)
from managed_accounts.api.resolver import build_resolver
from managed_accounts.observability import logger, metrics, tracer

if TYPE_CHECKING:  # the services load with the first request, keeping the cold start short
    from managed_accounts.domain.trading_service import TradingService
    from managed_accounts.order_commands import TradingCommands

app = build_resolver()


def _service() -> TradingService:
    service: TradingService = app.context["service"]
    return service


def _commands() -> TradingCommands:
    commands: TradingCommands = app.context["commands"]
    return commands


def _idempotency_key() -> str | None:
    from managed_accounts.commands import checked_key

    return checked_key(app.current_event.headers.get("Idempotency-Key"))


def _json(status: int, body: MandateOut | RunReportOut) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.put(
    "/accounts/me/trading-authorization",
    summary="Authorise trading: the exchange's deposit address goes through compliance approval",
    responses={
        200: {"description": "The mandate, decided (the exchange address was approved already)",
              "content": {"application/json": {"model": MandateOut}}},
        202: {"description": "The mandate, pending_approval: compliance decides the exchange address",
              "content": {"application/json": {"model": MandateOut}}},
    },
)  # fmt: skip
def authorise_trading(body: TradingAuthorizationIn) -> Response[MandateOut]:
    client_id = current_client_id(app)
    mandate = _commands().authorise(
        client_id,
        body.exchange,
        body.asset,
        body.amount_per_run,
        key=_idempotency_key(),
        context=app.lambda_context,
    )
    # 202 while compliance still has to approve the exchange address; 200 once the mandate is decided.
    return _json(202 if mandate.status == "pending_approval" else 200, mandate)


@app.get("/accounts/me/trading-authorization", summary="The trading mandate and its status")
def get_trading_authorization() -> MandateOut:
    return MandateOut.of(_service().get_mandate(current_client_id(app)))


@app.delete("/accounts/me/trading-authorization", summary="Revoke trading: no further orders")
def revoke_trading() -> MandateOut:
    client_id = current_client_id(app)
    return _commands().revoke(client_id, key=_idempotency_key(), context=app.lambda_context)


@app.get("/accounts/me/orders", summary="Orders (one per order run) and their Dfns status, newest first")
def list_orders(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> OrderPageOut:
    page = _service().list_orders(current_client_id(app), limit=limit, cursor=cursor)
    return OrderPageOut.of(page)


@app.post(
    "/admin/order-runs",
    summary="Operators: start an order run now; an existing runId replays that run idempotently",
    responses={
        202: {"description": "Planned: the report so far (the legs run on the queue)",
              "content": {"application/json": {"model": RunReportOut}}},
    },
)  # fmt: skip
def start_order_run(body: OrderRunIn) -> Response[RunReportOut]:
    operator = require_operator(app)
    report = _commands().start_run(
        operator.client_id, body.run_id, key=_idempotency_key(), context=app.lambda_context
    )
    metrics.add_metric(name="OrderRunsStarted", unit="Count", value=1)
    return _json(202, report)


# The parameter keeps the route table's name (runId) so the OpenAPI path matches it exactly.
@app.get("/admin/order-runs/<runId>", summary="Operators: an order run's report")
def get_order_run(runId: Annotated[str, Path(min_length=1, max_length=64)]) -> RunReportOut:
    require_operator(app)
    return RunReportOut.of(_service().run_report(runId))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    service: TradingService | None = None,
    commands: TradingCommands | None = None,
) -> dict[str, Any]:
    if service is None or commands is None:
        from managed_accounts import wiring

        service = service or wiring.trading_service()
        commands = commands or wiring.trading_commands()
    return app.resolve_with(event, context, service=service, commands=commands)
