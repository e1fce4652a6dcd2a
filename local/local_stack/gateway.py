"""The local API Gateway: a WSGI app that routes by the shared route table, authorises like the Cognito
user pool authorizer, builds REST proxy events and calls the real handlers in-process.

What a caller sees matches the deployed API, whose gateway responses put API Gateway's own errors in the
product's shape (``managed_accounts.routes.GATEWAY_ERRORS``, the table the CDK API uses too): 404
``not_found`` for an unknown route, 401 ``unauthorized`` for a missing or bad token, 502
``gateway_error`` when the handler raises or returns something malformed.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from managed_accounts.routes import FUNCTIONS, GATEWAY_ERRORS
from werkzeug.wrappers import Request, Response

from local_stack.console import console, request_line, webhook_kind, webhook_line
from local_stack.events import IncomingRequest, build_rest_event
from local_stack.invoker import HandlerInvoker, Invoker
from local_stack.openapi import SWAGGER_PAGE, function_schemas, merged_document, swagger_asset
from local_stack.routing import Router
from local_stack.tokens import InvalidToken, TokenVerifier, authorizer_claims

log = logging.getLogger(__name__)

JSON = "application/json"
# The headers a browser may send cross-origin: the CDK API's preflight allows the same (CORS_HEADERS).
CORS_ALLOW_HEADERS = "Authorization,Content-Type,Idempotency-Key"


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON, headers=headers)


def gateway_error(response_type: str, status: int, gateway_message: str) -> Response:
    """API Gateway's own answer of ``response_type`` as the deployed API's gateway response gives it."""
    error = GATEWAY_ERRORS[response_type]
    return _json_response(error.status or status, error.body(gateway_message))


def _no_route() -> Response:
    return gateway_error("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")


def _bad_gateway() -> Response:
    return gateway_error("DEFAULT_5XX", 502, "Internal server error")


def lambda_result_to_response(result: Any) -> Response:
    """Turn a Lambda proxy result into the HTTP response API Gateway would send (502 if malformed)."""
    malformed = (
        not isinstance(result, dict)
        or not isinstance(result.get("statusCode"), int)
        or not isinstance(result.get("body"), str | None)  # API Gateway wants the body as a string
    )
    if malformed:
        log.error("handler returned a malformed proxy result: %r", result)
        return _bad_gateway()
    raw_body = result.get("body") or ""
    body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else raw_body.encode()
    response = Response(body, status=result["statusCode"])
    response.headers.remove("Content-Type")
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if name in (result.get("headers") or {}):
            continue  # API Gateway merges both maps; the single-value entry already holds it
        for value in values:
            response.headers.add(name, str(value))
    return response


class LocalApiGateway:
    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        invoker: Invoker | None = None,
        router: Router | None = None,
        stage: str = "local",
        cors_origins: Sequence[str] = (),
        server_url: Callable[[], str] = lambda: "http://127.0.0.1:3000",
    ) -> None:
        self._verifier = verifier
        self._invoker = invoker or HandlerInvoker()
        self._router = router or Router()
        self._stage = stage
        self._cors_origins = frozenset(cors_origins)
        self._server_url = server_url
        self._openapi: dict[str, Any] | None = None
        self._openapi_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        response = self.dispatch(request)
        console.info(self.console_line(request, response.status_code, (time.perf_counter() - started) * 1000))
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def console_line(self, request: Request, status: int, elapsed_ms: float) -> str:
        """The console's line for one request: a Dfns webhook delivery by its kind, anything else by
        method and path."""
        routed = self._router.resolve(request.method, request.path)
        if routed is not None and routed.route.auth == "webhook":
            return webhook_line(webhook_kind(request.get_data()), status, elapsed_ms)
        query = request.query_string.decode("latin-1")
        return request_line(request.method, request.path + (f"?{query}" if query else ""), status, elapsed_ms)

    def dispatch(self, request: Request) -> Response:
        special = self._serve_docs(request)
        if special is not None:
            return special
        if request.method == "OPTIONS":
            return self._own(request, self._preflight(request))
        routed = self._router.resolve(request.method, request.path)
        if routed is None:
            return self._own(request, _no_route())
        claims = self._authorize(request, routed.route.auth)
        if isinstance(claims, Response):
            return self._own(request, claims)
        incoming = IncomingRequest(
            method=request.method,
            path=request.path,
            headers=list(request.headers.items()),
            query=list(request.args.items(multi=True)),
            body=request.get_data(),
            source_ip=request.remote_addr or "127.0.0.1",
            host=request.host,
        )
        event = build_rest_event(incoming, routed.match, stage=self._stage, claims=claims)
        try:
            result = self._invoker.invoke(routed.route.function, event)
        except Exception:
            log.exception("handler %s failed on %s %s", routed.route.function, request.method, request.path)
            return self._own(request, _bad_gateway())
        # The handler's own headers, CORS included (the resolver's CORSConfig), as the proxy passes them.
        return lambda_result_to_response(result)

    def _own(self, request: Request, response: Response) -> Response:
        """One of the gateway's own answers (preflight, 401, 404, 502): with CORS headers for an allowed
        origin, as the CDK API's preflight and gateway responses carry, so a browser sees the real status
        instead of a network error."""
        origin = request.headers.get("Origin")
        if origin and origin in self._cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    def _authorize(self, request: Request, auth: str) -> dict[str, str] | Response | None:
        """The authorizer's claims for a client/operator route (None for the webhook route), or the
        refusal to send. Like the Cognito authorizer it authenticates only: the operators group is the
        handler's to check, as deployed (checked here too, a handler that forgot would pass locally)."""
        if auth not in ("client", "operator"):
            return None
        try:
            identity = self._verifier.verify(request.headers.get("Authorization"))
        except InvalidToken as exc:
            log.info("authorizer refused %s %s: %s", request.method, request.path, exc)
            return gateway_error("UNAUTHORIZED", 401, "Unauthorized")
        return authorizer_claims(identity)

    def openapi_document(self) -> dict[str, Any]:
        """The merged OpenAPI document (built on first use: it imports every function)."""
        with self._openapi_lock:
            if self._openapi is None:
                schemas = function_schemas(self._invoker, FUNCTIONS)
                self._openapi = merged_document(schemas, self._router.routes, server_url=self._server_url())
            return self._openapi

    def _serve_docs(self, request: Request) -> Response | None:
        if request.method != "GET":
            return None
        if request.path == "/openapi.json":
            return _json_response(200, self.openapi_document())
        if request.path in ("/docs", "/docs/"):
            return Response(SWAGGER_PAGE, content_type="text/html; charset=utf-8")
        if request.path.startswith("/docs/"):
            asset = swagger_asset(request.path.removeprefix("/docs/"))
            if asset is not None:
                return Response(asset[0], content_type=asset[1])
        return None

    def _preflight(self, request: Request) -> Response:
        methods = self._router.methods_for(request.path)
        if not methods:
            return _no_route()
        response = Response(status=204)
        origin = request.headers.get("Origin")
        if origin and origin in self._cors_origins:
            response.headers["Access-Control-Allow-Methods"] = ",".join([*methods, "OPTIONS"])
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
