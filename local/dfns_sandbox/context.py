"""What a route handler receives (``Ctx``) and returns (``Reply``), and how routes are declared."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dfns_sandbox.errors import bad_request
from dfns_sandbox.store import Json, User

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from dfns_sandbox.core import Sandbox


@dataclass(slots=True)
class Reply:
    status: int
    body: Json | str
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Ctx:
    sb: Sandbox
    request: Request
    params: dict[str, str]
    raw: bytes
    user: User | None = None
    token_id: str | None = None

    @property
    def args(self) -> Any:
        return self.request.args

    @property
    def me(self) -> User:
        assert self.user is not None, "route requires authentication"
        return self.user

    @property
    def requester(self) -> Json:
        return {"userId": self.me.user_id, "tokenId": self.token_id}

    def require(self, *operations: str) -> None:
        """403 unless the caller holds these operations (for permissions a request needs conditionally,
        e.g. ``Wallets:Tags:Add`` when a new wallet carries tags)."""
        from dfns_sandbox.permissions import require

        require(self.sb.store, self.me, *operations)

    def body(self, *, allow_empty: bool = False) -> Json:
        """The JSON object in the body; 400 when it is not one."""
        if not self.raw.strip():
            if allow_empty:
                return {}
            raise bad_request("request body is required")
        try:
            value = json.loads(self.raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request("request body is not valid JSON") from exc
        if not isinstance(value, dict):
            raise bad_request("request body must be a JSON object")
        return value


Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str  # Dfns-style, e.g. "/wallets/{walletId}/transfers"
    handler: Handler
    admin: bool = False  # sandbox-only route: no auth, loopback only
    locked: bool = True  # False: the handler takes the store lock itself (it waits on network I/O)
    permissions: tuple[str, ...] = ()  # the Dfns operations the caller must hold (DFNS.md tables)
    audit_safe: bool = False  # GET /auth/action/logs/{id} shows this route's signed actions

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def signed(self) -> bool:
        """State-changing Dfns calls need a user action (§1.2); the signing flow itself does not."""
        return not self.admin and self.method != "GET" and not self.template.startswith("/auth/action")


def ok(body: Json | None = None, status: int = 200) -> Reply:
    return Reply(status, body if body is not None else {})
