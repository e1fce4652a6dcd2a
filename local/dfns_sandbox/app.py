"""The WSGI application: routing, auth, user actions, faults and the request log around each route."""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from dfns_sandbox import (
    admin,
    approvals,
    assets,
    audit,
    auth,
    faults,
    permissions,
    policies,
    transfers,
    wallets,
    webhooks,
)
from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route
from dfns_sandbox.errors import ApiError
from dfns_sandbox.store import AuditRow

if TYPE_CHECKING:
    from dfns_sandbox.core import Sandbox

_log = logging.getLogger("dfns_sandbox")
ALL_ROUTES: list[Route] = [
    *auth.ROUTES,
    *permissions.ROUTES,
    *audit.ROUTES,
    *wallets.ROUTES,
    *assets.ROUTES,
    *transfers.ROUTES,
    *policies.ROUTES,
    *approvals.ROUTES,
    *webhooks.ROUTES,
    *faults.ROUTES,
    *admin.ROUTES,
]


def _rule(route: Route) -> Rule:
    path = re.sub(r"\{(\w+)\}", r"<\1>", route.template)
    return Rule(path, methods=[route.method], endpoint=route, strict_slashes=False)


@functools.cache
def _url_map() -> Map:
    """Compiled once per process: compiling the rules is most of a sandbox's start-up time."""
    return Map([_rule(r) for r in ALL_ROUTES])


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class SandboxApp:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self._adapter = _url_map().bind("sandbox")  # matching needs only method and path

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response, route_name = self._handle(request)
        self.sb.requests.record(
            request.method, request.path, route_name, response.status_code, iso(self.sb.clock.now())
        )
        return response(environ, start_response)

    def _handle(self, request: Request) -> tuple[Response, str]:
        route_name = f"{request.method} {request.path}"
        headers: dict[str, str] = {}
        try:
            try:
                route, params = self._adapter.match(request.path, method=request.method)
            except NotFound as exc:
                raise ApiError(404, f"no route for {request.method} {request.path}") from exc
            except MethodNotAllowed as exc:
                raise ApiError(405, f"method {request.method} not allowed on {request.path}") from exc
            assert isinstance(route, Route)
            route_name = route.name
            if route.admin:
                if not _is_loopback(request.remote_addr):
                    raise ApiError(403, "sandbox admin routes are served on loopback only")
            else:
                headers = self._gate()
            reply = self._dispatch(route, Ctx(self.sb, request, dict(params), request.get_data(cache=True)))
        except ApiError as exc:
            headers.update(exc.headers)
            reply = Reply(exc.status, exc.body())
        except Exception as exc:  # a sandbox bug: still answer like Dfns would, and say where
            _log.exception("unhandled error on %s %s", request.method, request.path)
            reply = Reply(500, ApiError(500, f"internal sandbox error: {type(exc).__name__}").body())
        body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body, separators=(",", ":"))
        return Response(
            body, reply.status, {**headers, **reply.headers}, content_type=reply.content_type
        ), route_name

    def _gate(self) -> dict[str, str]:
        """What a gateway in front of Dfns does: latency, rate limit, injected errors."""
        if self.sb.faults.latency_ms:
            time.sleep(self.sb.faults.latency_ms / 1000)
        headers = self.sb.faults.rate_limit_headers()
        try:
            self.sb.faults.inject()
        except ApiError as exc:
            exc.headers = {**headers, **exc.headers}
            raise
        return headers

    def _dispatch(self, route: Route, ctx: Ctx) -> Reply:
        row: AuditRow | None = None
        with self.sb.store.lock:
            self.sb.tick()
            if not route.admin:
                ctx.user, ctx.token_id = auth.authenticate(self.sb.store, ctx.request)
            if route.signed:
                row = auth.consume_user_action(ctx, route)
            if route.locked:
                return self._run(route, ctx, row)
        return self._run(route, ctx, row)

    def _run(self, route: Route, ctx: Ctx, row: AuditRow | None) -> Reply:
        try:
            if route.permissions:
                with self.sb.store.lock:
                    permissions.require(self.sb.store, ctx.me, *route.permissions)
            reply = route.handler(ctx)
        except ApiError as exc:
            if row is not None:
                self._resolve(row, exc.status, f"{route.name} -> {exc.status} {exc.message}", exc.message)
            raise
        if row is not None:
            self._resolve(row, reply.status, f"{route.name} -> {reply.status}{_entity(reply)}", None)
        return reply

    def _resolve(self, row: AuditRow, status: int, summary: str, error: str | None) -> None:
        row.summary, row.response_status, row.response_error = summary, status, error
        row.date_resolved = self.sb.clock.now()


def _entity(reply: Reply) -> str:
    if isinstance(reply.body, dict) and isinstance(reply.body.get("id"), str):
        return f" {reply.body['id']}"
    return ""
