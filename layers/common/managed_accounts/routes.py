"""The public HTTP API as data: the single source of truth for the CDK REST API and the local gateway."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Auth = Literal["client", "operator", "webhook"]


@dataclass(frozen=True, slots=True)
class Route:
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str  # API Gateway resource syntax: /accounts/me/destinations/{address}
    function: str  # folder under functions/
    auth: Auth  # client: Cognito user; operator: Cognito user in the operators group; webhook: HMAC only
    summary: str | None = None  # for OpenAPI, where the function has no resolver to describe the route


ROUTES: tuple[Route, ...] = (
    Route("POST", "/accounts", "onboard", "client"),
    Route("GET", "/accounts/me", "onboard", "client"),
    Route("GET", "/accounts/me/destinations", "destinations", "client"),
    Route("DELETE", "/accounts/me/destinations/{address}", "destinations", "client"),
    Route("POST", "/accounts/me/destination-requests", "destinations", "client"),
    Route("GET", "/accounts/me/destination-requests", "destinations", "client"),
    Route("GET", "/accounts/me/destination-requests/{requestId}", "destinations", "client"),
    Route("PUT", "/accounts/me/trading-authorization", "orders", "client"),
    Route("GET", "/accounts/me/trading-authorization", "orders", "client"),
    Route("DELETE", "/accounts/me/trading-authorization", "orders", "client"),
    Route("GET", "/accounts/me/orders", "orders", "client"),
    Route("POST", "/admin/order-runs", "orders", "operator"),
    Route("GET", "/admin/order-runs/{runId}", "orders", "operator"),
    Route("POST", "/webhooks/dfns", "webhooks", "webhook", "Dfns events (HMAC-signed by Dfns; no token)"),
    Route("GET", "/accounts/me/restrictions", "reports", "client"),
    Route("GET", "/accounts/me/activity", "reports", "client"),
    Route("GET", "/accounts/me/audit", "reports", "client"),
    Route("GET", "/accounts/me/audit/{entryId}/verification", "reports", "client"),
    Route("GET", "/accounts/me/statement", "reports", "client"),
)

# Swagger UI groups operations by these tags: one capability per function.
CAPABILITY_TAGS: dict[str, str] = {
    "onboard": "Account",
    "destinations": "Approved destinations",
    "orders": "Trading and orders",
    "webhooks": "Dfns webhooks",
    "reports": "Transparency",
}

FUNCTIONS: tuple[str, ...] = tuple(dict.fromkeys(r.function for r in ROUTES))


@dataclass(frozen=True, slots=True)
class GatewayError:
    """API Gateway's own answer (authorizer, throttling, WAF, integration failure) in the product's
    error shape: the CDK API's gateway responses and the local gateway's answers both come from here."""

    response_type: str  # API Gateway's ResponseType, e.g. UNAUTHORIZED
    code: str  # the product's error code
    message: str | None = None  # None: API Gateway's own message
    status: int | None = None  # None: API Gateway's status for that type

    def body(self, gateway_message: str) -> dict[str, dict[str, str]]:
        """The body API Gateway sends (``gateway_message`` is its own message for the type)."""
        return {"error": {"code": self.code, "message": self.message or gateway_message}}


GATEWAY_ERRORS: dict[str, GatewayError] = {
    error.response_type: error
    for error in (
        GatewayError("DEFAULT_4XX", "bad_request"),
        GatewayError("DEFAULT_5XX", "gateway_error"),
        GatewayError("UNAUTHORIZED", "unauthorized", "a valid bearer token is required"),
        GatewayError("ACCESS_DENIED", "forbidden"),
        # API Gateway answers an unknown path or method with 403 "Missing Authentication Token": the
        # resolver's 404 for an unknown route is what the contract says.
        GatewayError("MISSING_AUTHENTICATION_TOKEN", "not_found", "no such route", 404),
        GatewayError("WAF_FILTERED", "forbidden", "the request was blocked"),
        GatewayError("THROTTLED", "rate_limited", "too many requests; retry shortly"),
        GatewayError("REQUEST_TOO_LARGE", "payload_too_large", "the body is too large"),
        GatewayError("INTEGRATION_TIMEOUT", "timeout", "the request took too long; retry"),
    )
}

OPERATORS_GROUP = "operators"
