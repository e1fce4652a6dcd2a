"""The client-transparency views of the calling client: restrictions, activity, audit trail (with the
verification of each approval decision) and statement. Logic: ``managed_accounts.domain.reports``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.api.identity import current_client_id
from managed_accounts.api.report_models import (
    ActivityOut,
    AuditPageOut,
    RestrictionsOut,
    StatementOut,
    VerificationOut,
)
from managed_accounts.api.resolver import build_resolver
from managed_accounts.observability import logger, metrics, tracer

if TYPE_CHECKING:  # the services load with the first request, keeping the cold start short
    from managed_accounts.domain.reports import ClientReports

app = build_resolver()

DATE = "ISO-8601 date (2026-01-31) or date-time with offset; UTC when none"
CSV = "text/csv; charset=utf-8"


def _reports() -> ClientReports:
    reports: ClientReports = app.context["service"]
    return reports


@app.get(
    "/accounts/me/restrictions",
    summary="What Dfns enforces on the wallet now: whitelist, limits, governance, tags, drift",
)
def restrictions() -> RestrictionsOut:
    return RestrictionsOut.of(_reports().restrictions(current_client_id(app)))


@app.get("/accounts/me/activity", summary="Incoming and outgoing movements, newest first, cursor paging")
def activity(
    limit: Annotated[str | None, Query(max_length=8, description="1–100 (default 20)")] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ActivityOut:
    page = _reports().activity(current_client_id(app), limit=limit, cursor=cursor)
    return ActivityOut.of(page)


@app.get("/accounts/me/audit", summary="The audit trail, oldest first, from the client's own records only")
def audit(
    start: Annotated[
        str | None, Query(alias="from", max_length=40, description=f"{DATE}; default: to − 366 days")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=40, description=f"{DATE} (exclusive); default: now")
    ] = None,
    limit: Annotated[str | None, Query(max_length=8, description="1–100 (default 50)")] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AuditPageOut:
    page = _reports().audit(current_client_id(app), start=start, end=end, limit=limit, cursor=cursor)
    return AuditPageOut.of(page)


# The parameter keeps the route table's name (entryId) so the OpenAPI path matches it exactly.
@app.get(
    "/accounts/me/audit/<entryId>/verification",
    summary="Check an approval decision against the officer's signed action in Dfns",
)
def verification(entryId: Annotated[str, Path(min_length=1, max_length=128)]) -> VerificationOut:
    return VerificationOut.of(_reports().verification(current_client_id(app), entryId))


@app.get(
    "/accounts/me/statement",
    summary="Balances and every movement of a period; each outflow with its destination's provenance",
    responses={
        200: {
            "description": "The statement (JSON), or with format=csv an RFC 4180 attachment",
            "content": {
                "application/json": {"model": StatementOut},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def statement(
    start: Annotated[
        str | None, Query(alias="from", max_length=40, description=f"{DATE}; default: to − 30 days")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=40, description=f"{DATE} (exclusive); default: now")
    ] = None,
    output: Annotated[
        str | None, Query(alias="format", max_length=8, description="json (default) or csv")
    ] = None,
) -> Response[str]:
    from managed_accounts.api.statement_csv import filename, render_csv

    found, chosen = _reports().statement(current_client_id(app), start=start, end=end, output=output)
    if chosen == "csv":
        return Response(
            status_code=200,
            content_type=CSV,
            body=render_csv(found),
            headers={"Content-Disposition": f'attachment; filename="{filename(found)}"'},
        )
    body = StatementOut.of(found).model_dump_json(by_alias=True)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, service: ClientReports | None = None
) -> dict[str, Any]:
    if service is None:
        from managed_accounts import wiring

        service = wiring.client_reports()
    return app.resolve_with(event, context, service=service)
