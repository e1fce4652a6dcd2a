"""The one REST resolver every function uses: validation, CORS, Swagger, and the error shape.

Every error answers ``{"error": {"code", "message"}}`` with a fitting status: domain errors carry
their own; request validation is 422; Dfns failures that leak out are 503/502; anything else is a
500 with no internals in the body (the details go to the log).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from managed_accounts.config import Settings, get_settings
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.domain.upstream import as_domain_error
from managed_accounts.errors import DomainError
from managed_accounts.observability import logger

API_TITLE = "Managed investment accounts"
API_VERSION = "1.0.0"


def error_response(status: int, code: str, message: str) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message}},
    )


def _describe(errors: list[Any]) -> str:
    """``body.address: Field required; query.limit: ...`` without echoing the input back."""
    parts = []
    for error in errors[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def cors_config(settings: Settings) -> CORSConfig | None:
    """Only the configured frontend origins; no CORS at all when none is configured."""
    origins = settings.frontend_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )


def build_resolver(settings: Settings | None = None) -> APIGatewayRestResolver:
    settings = settings or get_settings()
    app = APIGatewayRestResolver(enable_validation=True, cors=cors_config(settings))
    if settings.stage == "local":
        # Swagger UI is for the local gateway (the deployed API routes no /docs); building its models
        # costs ~120 ms of cold start, so deployed functions skip it. get_openapi_schema() works anyway.
        app.enable_swagger(path="/docs", title=API_TITLE, version=API_VERSION)

    def _domain(error: DomainError) -> Response[Any]:
        if error.status >= 500:
            logger.warning("upstream failure", extra={"code": error.code, "error": error.message})
        return error_response(error.status, error.code, error.message)

    def _validation(error: RequestValidationError) -> Response[Any]:
        return error_response(422, "invalid_input", _describe(list(error.errors())))

    def _dfns(error: DfnsError) -> Response[Any]:
        return _domain(as_domain_error(error))

    def _no_route(_: NotFoundError) -> Response[Any]:
        return error_response(404, "not_found", "no such route")

    def _unexpected(error: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "something went wrong; it has been logged")

    # Registered without decorator syntax: Powertools' registration decorators are untyped.
    app.exception_handler(DomainError)(_domain)
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(DfnsError)(_dfns)
    app.exception_handler(Exception)(_unexpected)
    app.not_found(_no_route)
    return app
