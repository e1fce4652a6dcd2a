"""One Dfns request end to end: user action, byte-exact body, retries within a deadline, logging, stats.

A signed call is ``POST /auth/action/init`` → sign the challenge → ``POST /auth/action`` → the call
with ``X-DFNS-USERACTION`` (DFNS.md §1.4). Every retry of a signed call gets a fresh user action,
because a user action can be used once and may have been spent by the failed attempt.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import httpx

from managed_accounts.dfns._http import (
    Failure,
    RoundTripStats,
    classify_exception,
    classify_response,
    may_retry,
)
from managed_accounts.dfns.errors import DfnsAuthError, DfnsError, DfnsUnavailable
from managed_accounts.dfns.signing import SigningError, UserActionSigner, serialize_body
from managed_accounts.observability import logger

Method = Literal["GET", "POST", "PUT", "DELETE"]

DEFAULT_USER_AGENT = "managed-accounts/0.1 (+python-httpx)"
_INIT_ROUTE = "/auth/action/init"
_ACTION_ROUTE = "/auth/action"


@dataclass(frozen=True, slots=True)
class _Exchange:
    """One HTTP exchange as sent: ``content`` is the exact body bytes (b"" for none)."""

    method: str
    route: str  # template, for stats and errors
    path: str  # what is requested and signed (no query string)
    content: bytes
    headers: dict[str, str]
    params: Mapping[str, str] | None = None


class TransportOptions(TypedDict, total=False):
    """``DfnsTransport``'s tuning, passed through by ``DfnsClient`` (defaults live on the transport)."""

    http_client: httpx.Client | None
    timeout: float
    deadline: float
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    user_agent: str
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    rng: Callable[[], float]


class DfnsTransport:
    """Sends requests to one Dfns base URL with one token; retry timing is injectable for tests."""

    def __init__(
        self,
        base_url: str,
        token: str,
        signer: UserActionSigner,
        *,
        http_client: httpx.Client | None = None,
        timeout: float = 10.0,
        deadline: float = 25.0,
        max_attempts: int = 4,
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
        user_agent: str = DEFAULT_USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._signer = signer
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)
        self._timeout = timeout
        self._deadline = deadline
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._user_agent = user_agent
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self.stats = RoundTripStats()

    def __repr__(self) -> str:  # never the token
        return f"DfnsTransport(base_url={self._base_url!r}, cred_id={self._signer.cred_id!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def request(
        self,
        method: Method,
        route: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """The 2xx response, or the typed error once retrying is unsafe, useless or out of budget.

        ``idempotent`` defaults to True for GET and False otherwise: a non-idempotent call is retried
        only when Dfns certainly did not act (connection never made, or 429).
        """
        content = serialize_body(body)
        retry_safe = (method == "GET") if idempotent is None else idempotent
        deadline_at = self._clock() + self._deadline
        reached = False
        attempt = 0
        while True:
            attempt += 1
            headers = self._headers()
            if method != "GET":
                user_action = self._user_action(method, path, content, attempt, deadline_at)
                if isinstance(user_action, Failure):
                    # Nothing real was attempted yet: init and action are always safe to repeat.
                    self._pause_or_raise(user_action, attempt, deadline_at, retry_safe=True, reached=reached)
                    continue
                headers["X-DFNS-USERACTION"] = user_action
            exchange = _Exchange(method, route, path, content, headers, params)
            outcome = self._round_trip(exchange, attempt, deadline_at)
            if isinstance(outcome, httpx.Response):
                return outcome
            reached = reached or outcome.kind == "maybe_done"
            self._pause_or_raise(outcome, attempt, deadline_at, retry_safe=retry_safe, reached=reached)

    # --- internals -----------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
        }

    def _user_action(
        self, method: str, path: str, content: bytes, attempt: int, deadline_at: float
    ) -> str | Failure:
        """A fresh single-use user action for ``method path`` with exactly ``content`` as payload."""
        init_body = {
            "userActionHttpMethod": method,
            "userActionHttpPath": path,
            "userActionPayload": content.decode("utf-8"),
            "userActionServerKind": "Api",
        }
        init_body_bytes = serialize_body(init_body)
        init_exchange = _Exchange("POST", _INIT_ROUTE, _INIT_ROUTE, init_body_bytes, self._headers())
        init = self._round_trip(init_exchange, attempt, deadline_at)
        if isinstance(init, Failure):
            return init
        try:
            action_body = self._signer.sign_init_response(json_object(init, _INIT_ROUTE))
        except SigningError as exc:
            raise DfnsAuthError(f"cannot sign the user action: {exc}") from exc
        action_exchange = _Exchange(
            "POST", _ACTION_ROUTE, _ACTION_ROUTE, serialize_body(action_body), self._headers()
        )
        action = self._round_trip(action_exchange, attempt, deadline_at)
        if isinstance(action, Failure):
            return action
        token = json_object(action, _ACTION_ROUTE).get("userAction")
        if not isinstance(token, str) or not token:
            raise DfnsError(f"POST {_ACTION_ROUTE}: no userAction in the response")
        return token

    def _round_trip(self, exchange: _Exchange, attempt: int, deadline_at: float) -> httpx.Response | Failure:
        method, route = exchange.method, exchange.route
        remaining = deadline_at - self._clock()
        if remaining <= 0:
            return Failure(DfnsUnavailable(f"{method} {route}: deadline exceeded"), "not_sent")
        self.stats.record(method, route)
        started = self._clock()
        try:
            response = self._http.request(
                method,
                self._base_url + exchange.path,
                content=exchange.content or None,
                headers=exchange.headers,
                params=dict(exchange.params) if exchange.params else None,
                timeout=min(self._timeout, remaining),
            )
        except httpx.TransportError as exc:
            lost = classify_exception(exc, method=method, route=route)
            self._log(exchange, status=None, attempt=attempt, started=started, failure=lost)
            return lost
        failure = classify_response(response, method=method, route=route)
        self._log(exchange, status=response.status_code, attempt=attempt, started=started, failure=failure)
        return failure if failure is not None else response

    def _pause_or_raise(
        self, failure: Failure, attempt: int, deadline_at: float, *, retry_safe: bool, reached: bool
    ) -> None:
        error = failure.error
        if reached and isinstance(error, DfnsUnavailable):
            # An earlier attempt may have taken effect even if this one never left.
            error.may_have_reached_dfns = True
        if attempt >= self._max_attempts or not may_retry(failure, idempotent=retry_safe):
            raise error
        if failure.retry_after is not None:
            delay = failure.retry_after
        else:  # exponential backoff with full jitter
            delay = self._rng() * min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
        if self._clock() + delay >= deadline_at:
            raise error
        self._sleep(delay)

    def _log(
        self,
        exchange: _Exchange,
        *,
        status: int | None,
        attempt: int,
        started: float,
        failure: Failure | None,
    ) -> None:
        # Method, path, status and ids only: never headers (token, user action) or bodies.
        fields: dict[str, Any] = {
            "dfns_method": exchange.method,
            "dfns_path": exchange.path,
            "dfns_status": status,
            "dfns_attempt": attempt,
            "dfns_latency_ms": round((self._clock() - started) * 1000, 1),
        }
        if failure is None:
            logger.info("dfns call", extra=fields)
            return
        fields["dfns_error_id"] = failure.error.error_id
        fields["dfns_error"] = type(failure.error).__name__
        logger.warning("dfns call failed", extra=fields)


def json_object(response: httpx.Response, route: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DfnsError(f"{route}: response is not JSON", status=response.status_code) from exc
    if not isinstance(payload, dict):
        raise DfnsError(f"{route}: response is not a JSON object", status=response.status_code)
    return payload
