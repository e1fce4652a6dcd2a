"""Who is calling: the Cognito authorizer's claims (``requestContext.authorizer.claims``).

The client id is the token's ``sub`` and nothing else: no route takes a client id from the path,
query or body, so a client can only ever reach its own data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from managed_accounts.domain.models import validate_client_id
from managed_accounts.errors import DomainError, Forbidden
from managed_accounts.observability import logger
from managed_accounts.routes import OPERATORS_GROUP


class Unauthenticated(DomainError):
    status, code = 401, "unauthenticated"


@dataclass(frozen=True, slots=True)
class Caller:
    client_id: str
    groups: frozenset[str]

    @property
    def is_operator(self) -> bool:
        return OPERATORS_GROUP in self.groups


def _groups(raw: Any) -> frozenset[str]:
    """API Gateway passes ``cognito:groups`` as a list, or as text like ``"a,b"`` or ``"[a b]"``."""
    if isinstance(raw, list):
        return frozenset(str(g) for g in raw)
    if isinstance(raw, str):
        return frozenset(part for part in raw.strip("[]").replace(",", " ").split() if part)
    return frozenset()


def caller_from_event(event: dict[str, Any]) -> Caller:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    subject = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("a signed-in user is required")
    return Caller(client_id=validate_client_id(subject), groups=_groups(claims.get("cognito:groups")))


def current_caller(app: APIGatewayRestResolver) -> Caller:
    """The caller of the request being handled; its client id joins every log line from here on."""
    caller = caller_from_event(app.current_event.raw_event)
    logger.append_keys(clientId=caller.client_id)
    return caller


def current_client_id(app: APIGatewayRestResolver) -> str:
    return current_caller(app).client_id


def require_operator(app: APIGatewayRestResolver) -> Caller:
    caller = current_caller(app)
    if not caller.is_operator:
        raise Forbidden("operators only")
    return caller
