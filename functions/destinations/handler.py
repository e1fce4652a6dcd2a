"""Approved destinations and destination requests of the calling client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.api.identity import current_client_id
from managed_accounts.api.models import (
    DestinationListOut,
    DestinationOut,
    DestinationRequestIn,
    DestinationRequestOut,
    RequestPageOut,
)
from managed_accounts.api.resolver import build_resolver
from managed_accounts.observability import logger, metrics, tracer

if TYPE_CHECKING:  # the services load with the first request, keeping the cold start short
    from managed_accounts.commands import DestinationCommands
    from managed_accounts.domain.destinations import DestinationService

app = build_resolver()


def _service() -> DestinationService:
    service: DestinationService = app.context["service"]
    return service


def _commands() -> DestinationCommands:
    commands: DestinationCommands = app.context["commands"]
    return commands


def _idempotency_key() -> str | None:
    from managed_accounts.commands import checked_key

    return checked_key(app.current_event.headers.get("Idempotency-Key"))


def _accepted(model: DestinationRequestOut) -> Response[DestinationRequestOut]:
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=model)


# What a request or removal answers: the request, accepted (compliance decides it later in Dfns).
_ACCEPTED: dict[int, Any] = {
    202: {
        "description": "Accepted: the request (queued, or submitted to Dfns for compliance approval)",
        "content": {"application/json": {"model": DestinationRequestOut}},
    }
}


@app.get(
    "/accounts/me/destinations",
    summary="Approved destinations (the mirror of the live whitelist)",
)
def list_destinations() -> DestinationListOut:
    found = _service().list_destinations(current_client_id(app))
    return DestinationListOut(items=[DestinationOut.of(d) for d in found])


@app.post(
    "/accounts/me/destination-requests",
    summary="Ask to add a destination (compliance approves it)",
    responses=_ACCEPTED,
)
def request_destination(body: DestinationRequestIn) -> Response[DestinationRequestOut]:
    client_id = current_client_id(app)
    answer = _commands().request_destination(
        client_id, body.address, body.label, key=_idempotency_key(), context=app.lambda_context
    )
    metrics.add_metric(name="DestinationRequested", unit="Count", value=1)
    return _accepted(answer)


@app.delete(
    "/accounts/me/destinations/<address>",
    summary="Ask to remove an approved destination",
    responses=_ACCEPTED,
)
def request_removal(
    address: Annotated[str, Path(min_length=1, max_length=128)],
) -> Response[DestinationRequestOut]:
    client_id = current_client_id(app)
    answer = _commands().request_removal(
        client_id, address, key=_idempotency_key(), context=app.lambda_context
    )
    return _accepted(answer)


@app.get(
    "/accounts/me/destination-requests",
    summary="Destination requests, newest first",
)
def list_requests(
    status: Annotated[str | None, Query(description="queued|submitted|approved|rejected|failed")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> RequestPageOut:
    page = _service().list_requests(current_client_id(app), status=status, limit=limit, cursor=cursor)
    return RequestPageOut.of(page)


# The parameter keeps the route table's name (requestId) so the OpenAPI path matches it exactly.
@app.get(
    "/accounts/me/destination-requests/<requestId>",
    summary="One destination request",
)
def get_request(requestId: Annotated[str, Path(min_length=1, max_length=64)]) -> DestinationRequestOut:
    request = _service().get_request(current_client_id(app), requestId)
    return DestinationRequestOut.of(request)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    service: DestinationService | None = None,
    commands: DestinationCommands | None = None,
) -> dict[str, Any]:
    if service is None or commands is None:
        from managed_accounts import wiring

        service = service or wiring.destination_service()
        commands = commands or wiring.destination_commands()
    return app.resolve_with(event, context, service=service, commands=commands)
