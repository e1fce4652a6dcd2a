"""The one REST resolver every function uses: validation, CORS, Swagger, and the error shape.

Every error answers ``{"error": {"code", "message"}}`` with a fitting status, and no bad input reaches
the 500 path: a body that is not JSON, not UTF-8 or nested too deep is a 400; a content type other than
JSON (in any case, with any parameters) a 415; request validation a 422. Messages are bounded in length
and never echo the input. Domain errors carry their own status; Dfns failures that leak out are
503/502; anything else is a 500 with a correlation id and no internals (the details go to the log).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from managed_accounts.config import Settings, get_settings
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.errors import DomainError, from_dfns
from managed_accounts.observability import logger

API_TITLE = "Managed investment accounts"
API_VERSION = "1.0.0"
MAX_MESSAGE = 300  # characters of an error message
_MAX_PART = 80  # characters of one validation location or message

# The error answers every client route can give (documented once, added to every route's OpenAPI).
ERROR_ANSWERS: dict[int, str] = {
    400: "The body is not JSON, not UTF-8, or nested too deep",
    401: "No valid token",
    403: "The token does not allow this",
    404: "No such account or object",
    409: "Conflicts with the current state",
    415: "The body is not application/json",
    422: "The input is not valid",
    429: "Too many requests",
    500: "Unexpected; logged with the correlation id the message gives",
    502: "Dfns refused the operation",
    503: "Dfns is unavailable; retry later",
}


def _bounded(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_response(status: int, code: str, message: str, *, retry_after: int | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": _bounded(message)}},
        headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
    )


def _describe(errors: list[Any]) -> str:
    """``body.address: Field required; query.limit: ...`` without echoing the input back."""
    parts = []
    for error in errors[:5]:
        location = _bounded(".".join(str(p) for p in error.get("loc", ())), _MAX_PART)
        parts.append(f"{location}: {_bounded(str(error.get('msg', 'invalid')), _MAX_PART)}")
    return "; ".join(parts) or "the request is not valid"


def cors_config(settings: Settings) -> CORSConfig | None:
    """Only the configured frontend origins; no CORS at all when none is configured."""
    origins = settings.frontend_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        expose_headers=["Retry-After"],
        max_age=600,
    )


class ProductResolver(APIGatewayRestResolver):
    """Powertools' REST resolver, accepting only JSON bodies (in any letter case, with any parameters),
    and handing the handler's dependencies to the routes through ``app.context``."""

    def resolve_with(
        self, event: dict[str, Any], context: LambdaContext, **dependencies: Any
    ) -> dict[str, Any]:
        headers = {
            name: _json_or_unsupported(value) if name.lower() == "content-type" else value
            for name, value in (event.get("headers") or {}).items()
        }
        self.append_context(**dependencies)  # type: ignore[no-untyped-call]
        return self.resolve({**event, "headers": headers}, context)


def _json_or_unsupported(value: Any) -> Any:
    """Powertools also parses forms; here anything but JSON becomes a type it refuses (then a 415)."""
    media_type = str(value).split(";", 1)[0].strip().lower()
    return "application/json" if media_type == "application/json" else "application/x-unsupported"


def _correlation_id(app: APIGatewayRestResolver) -> str:
    try:
        return str(app.current_event.request_context.request_id or "unknown")
    except Exception:  # an event without a request context (a direct invocation)
        return "unknown"


def build_resolver(settings: Settings | None = None) -> ProductResolver:
    settings = settings or get_settings()
    app = ProductResolver(enable_validation=True, cors=cors_config(settings))
    if settings.stage == "local":
        # Swagger UI is for the local gateway (the deployed API routes no /docs); building its models
        # costs ~120 ms of cold start, so deployed functions skip it. get_openapi_schema() works anyway.
        app.enable_swagger(path="/docs", title=API_TITLE, version=API_VERSION)

    def _domain(error: DomainError) -> Response[Any]:
        if error.status >= 500:
            logger.warning("upstream failure", extra={"code": error.code, "error": error.message})
        return error_response(error.status, error.code, error.message, retry_after=error.retry_after)

    def _validation(error: RequestValidationError) -> Response[Any]:
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed_body", "the body is not valid JSON")
        return error_response(422, "invalid_input", _describe(errors))

    def _content_type(_: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(415, "unsupported_media_type", "send the body as application/json")

    def _undecodable(_: UnicodeDecodeError) -> Response[Any]:
        return error_response(400, "malformed_body", "the body is not UTF-8 text")

    def _too_deep(_: RecursionError) -> Response[Any]:
        return error_response(400, "malformed_body", "the body is nested too deeply")

    def _dfns(error: DfnsError) -> Response[Any]:
        return _domain(from_dfns(error))

    def _no_route(_: NotFoundError) -> Response[Any]:
        return error_response(404, "not_found", "no such route")

    def _unexpected(error: Exception) -> Response[Any]:
        correlation_id = _correlation_id(app)
        logger.exception("unhandled error", extra={"correlation_id": correlation_id})
        return error_response(
            500,
            "internal_error",
            f"something went wrong; it has been logged (correlation id {correlation_id})",
        )

    # Registered without decorator syntax: Powertools' registration decorators are untyped.
    app.exception_handler(DomainError)(_domain)
    app.exception_handler(RequestUnsupportedContentType)(_content_type)
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(UnicodeDecodeError)(_undecodable)
    app.exception_handler(RecursionError)(_too_deep)
    app.exception_handler(DfnsError)(_dfns)
    app.exception_handler(Exception)(_unexpected)
    app.not_found(_no_route)
    return app
