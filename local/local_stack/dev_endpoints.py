"""Local-only endpoints under ``/local/`` on the local stack's API origin, so the reference portal can be
clicked through without Cognito or the Dfns dashboard.

- ``POST /local/tokens {clientId, operator?}``: a dev ID token (what ``managed-accounts token`` prints),
  standing in for the Cognito hosted UI.
- ``GET /local/officer/approvals``: the approvals waiting for the compliance officer in the sandbox.
- ``POST /local/officer/approvals/{approvalId}/decisions {value, reason?}``: the officer's signed decision.

The officer endpoints act with the compliance officer's OWN Dfns client (``RunningStack.officer_client``
in-process: the officer's credentials from the stack's state), never the product's service account.
They wrap the local gateway and exist nowhere else: not in ``managed_accounts.routes``, the OpenAPI
document or the CDK app. Errors use the API's shape, ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.models import Approval, DecisionBody
from werkzeug.wrappers import Request, Response

from local_stack.console import console, request_line
from local_stack.serving import WsgiApp

PREFIX = "/local/"
TOKENS_PATH = "/local/tokens"
APPROVALS_PATH = "/local/officer/approvals"
_DECISION_PATH = re.compile(r"^/local/officer/approvals/(?P<approval_id>[A-Za-z0-9_.:-]{1,128})/decisions$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_MAX_BODY = 4096


class OfficerClient(Protocol):
    """What the sandbox panel needs of ``local_stack.officer.OfficerDfnsClient``."""

    def iter_approvals(self, *, status: str | None = None) -> Iterable[Approval]: ...
    def decide_approval(self, approval_id: str, body: DecisionBody) -> Approval: ...


OfficerFactory = Callable[[], AbstractContextManager[OfficerClient]]
TokenIssuer = Callable[[str, bool], str]


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": {"code": code, "message": message}})


def approval_view(approval: Approval) -> dict[str, Any]:
    """An approval as the panel shows it: what kind of change, on which policy, to which addresses."""
    activity = approval.activity
    change = activity.change_request if activity else None
    transfer = activity.transfer_request if activity else None
    body: dict[str, Any] = change.body if change and change.body else {}
    rule = _mapping(body.get("rule"))
    addresses = _mapping(rule.get("configuration")).get("addresses")
    return {
        "approvalId": approval.id,
        "status": approval.status,
        "kind": activity.kind if activity else None,
        "initiatorId": approval.initiator_id,
        "dateCreated": approval.date_created.isoformat() if approval.date_created else None,
        "policyId": change.entity_id if change else None,
        "policyName": body.get("name"),
        "addresses": [str(a) for a in addresses] if isinstance(addresses, list) else [],
        "transfer": (
            {"walletId": transfer.wallet_id, "to": transfer.request_body.get("to")} if transfer else None
        ),
    }


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class LocalDevEndpoints:
    """A WSGI app: ``/local/…`` here, everything else to the wrapped gateway."""

    def __init__(
        self,
        gateway: WsgiApp,
        *,
        issue_token: TokenIssuer,
        officer: OfficerFactory,
        cors_origins: Sequence[str] = (),
    ) -> None:
        self._gateway = gateway
        self._issue_token = issue_token
        self._officer = officer
        self._cors_origins = frozenset(cors_origins)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith(PREFIX):
            return self._gateway(environ, start_response)
        request = Request(environ)
        started = time.perf_counter()
        response = self.dispatch(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        console.info(request_line(request.method, request.path, response.status_code, elapsed_ms))
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def dispatch(self, request: Request) -> Response:
        response = self._route(request)
        origin = request.headers.get("Origin")
        if origin and origin in self._cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        decision = _DECISION_PATH.match(path)
        allowed = {TOKENS_PATH: "POST", APPROVALS_PATH: "GET"}.get(path) or ("POST" if decision else None)
        if allowed is None:
            return _error(404, "not_found", "no such local endpoint")
        if method == "OPTIONS":
            return self._preflight(allowed)
        if method != allowed:
            return _error(405, "method_not_allowed", f"use {allowed}")
        if path == TOKENS_PATH:
            return self._token(request)
        if path == APPROVALS_PATH:
            return self._approvals()
        assert decision is not None
        return self._decide(request, decision["approval_id"])

    def _preflight(self, method: str) -> Response:
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = f"{method},OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        return response

    def _token(self, request: Request) -> Response:
        body = _body(request)
        if isinstance(body, Response):
            return body
        client_id, operator = body.get("clientId"), body.get("operator", False)
        if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
            return _error(
                422,
                "invalid_input",
                "clientId: 1–64 letters, digits or . _ @ -, starting with a letter or digit",
            )
        if not isinstance(operator, bool):
            return _error(422, "invalid_input", "operator: true or false")
        token = self._issue_token(client_id, operator)
        return _json(200, {"token": token, "clientId": client_id, "operator": operator})

    def _approvals(self) -> Response:
        try:
            with self._officer() as officer:
                pending = [approval_view(a) for a in officer.iter_approvals(status="Pending")]
        except DfnsError as exc:
            return _error(502, "dfns_error", f"the sandbox refused: {exc}")
        return _json(200, {"items": pending})

    def _decide(self, request: Request, approval_id: str) -> Response:
        body = _body(request)
        if isinstance(body, Response):
            return body
        value, reason = body.get("value"), body.get("reason")
        if value not in ("Approved", "Denied"):
            return _error(422, "invalid_input", "value: Approved or Denied")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 200):
            return _error(422, "invalid_input", "reason: text of at most 200 characters")
        try:
            with self._officer() as officer:
                approval = officer.decide_approval(
                    approval_id, DecisionBody(value=value, reason=reason or None)
                )
        except DfnsError as exc:
            status = exc.status if isinstance(exc.status, int) and 400 <= exc.status < 500 else 502
            return _error(status, "dfns_error", f"the sandbox refused the decision: {exc}")
        return _json(200, approval_view(approval))


def _body(request: Request) -> dict[str, Any] | Response:
    if request.mimetype != "application/json":
        return _error(415, "unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=False)
    if len(raw) > _MAX_BODY:
        return _error(400, "malformed_body", "the body is too large")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "malformed_body", "the body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "malformed_body", "the body must be a JSON object")
    return body
