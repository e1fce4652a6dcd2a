"""POST /accounts (onboard the caller; 201 first time, 200 after) and GET /accounts/me."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.api.identity import current_client_id
from managed_accounts.api.models import AccountOut
from managed_accounts.api.resolver import build_resolver
from managed_accounts.observability import logger, metrics, tracer

if TYPE_CHECKING:  # the services load with the first request, keeping the cold start short
    from managed_accounts.domain.onboarding import OnboardingService

app = build_resolver()


def _service() -> OnboardingService:
    service: OnboardingService = app.context["service"]
    return service


@app.post(
    "/accounts",
    summary="Onboard the calling client (idempotent)",
    responses={
        200: {"description": "Onboarded before: the account as it is",
              "content": {"application/json": {"model": AccountOut}}},
        201: {"description": "Onboarded now: the new account",
              "content": {"application/json": {"model": AccountOut}}},
    },
)  # fmt: skip
def onboard() -> Response[AccountOut]:
    # Onboarding is idempotent by design (a resumable state machine), so no idempotency record is needed.
    result = _service().onboard(current_client_id(app))
    if result.created:
        metrics.add_metric(name="AccountsOnboarded", unit="Count", value=1)
    body = AccountOut.of(result.account)
    return Response(
        status_code=201 if result.created else 200, content_type=content_types.APPLICATION_JSON, body=body
    )


@app.get("/accounts/me", summary="The caller's account")
def get_account() -> AccountOut:
    return AccountOut.of(_service().get_account(current_client_id(app)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, service: OnboardingService | None = None
) -> dict[str, Any]:
    if service is None:
        from managed_accounts import wiring

        service = wiring.onboarding_service()
    return app.resolve_with(event, context, service=service)
