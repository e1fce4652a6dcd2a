"""Who may call what: every route of the route table × every kind of caller, through the local gateway
(which checks tokens as the Cognito authorizer does) and the real handlers, in one table.

Callers: no token, a malformed one, an expired one, one signed by another key, client A (on A's own
objects), client B (on A's ids and cursors) and an operator (on A's ids too). Only the cells the
table allows succeed; a success for B or the operator never carries any of A's identifiers. A route
added to ``managed_accounts.routes.ROUTES`` without a row here fails the test.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from local_stack.remote import RunningStack, wait_for
from local_stack.tokens import issue_token, load_key
from managed_accounts.dfns.models import DecisionBody
from managed_accounts.routes import ROUTES, Route

pytestmark = pytest.mark.e2e

WAIT_S = 30
UNAUTHENTICATED = ("none", "malformed", "expired", "forged")
CALLERS = (*UNAUTHENTICATED, "A", "B", "operator")


@dataclass
class Fixture:
    """What client A owns, to aim every caller at it."""

    tokens: dict[str, str | None]
    request_id: str
    approved_address: str
    entry_id: str
    run_id: str
    cursors: dict[str, str]  # listing path -> A's next-page cursor
    secrets_of_a: list[str] = field(default_factory=list)  # A's identifiers: never in B's answers


@dataclass(frozen=True)
class Row:
    """One route: how to call it, and the status each caller must get (A, B, operator)."""

    a: int
    b: int
    operator: int
    path: Callable[[Fixture], str] | None = None  # the concrete path (default: the route's own)
    body: Callable[[], Any] | None = None
    cursor: bool = False  # send A's cursor of this listing


def _address() -> str:
    return "0x" + secrets.token_hex(20)


_RUN_ID = f"matrix-{secrets.token_hex(4)}"
EXCHANGE = {"exchange": "sandbox-exchange", "asset": "ETH", "amountPerRun": "0.01"}

# (method, path) -> Row. B and the operator act on their own "me" (their own account, requests and
# mandate): allowed, and never A's. Aimed at A's ids or cursors they get 404 or the cursor's 4xx.
MATRIX: dict[tuple[str, str], Row] = {
    ("POST", "/accounts"): Row(200, 200, 200),
    ("GET", "/accounts/me"): Row(200, 200, 200),
    ("GET", "/accounts/me/destinations"): Row(200, 200, 200),
    ("DELETE", "/accounts/me/destinations/{address}"): Row(
        202, 404, 404, path=lambda f: f"/accounts/me/destinations/{f.approved_address}"
    ),
    ("POST", "/accounts/me/destination-requests"): Row(202, 202, 202, body=lambda: {"address": _address()}),
    ("GET", "/accounts/me/destination-requests"): Row(200, 422, 422, cursor=True),
    ("GET", "/accounts/me/destination-requests/{requestId}"): Row(
        200, 404, 404, path=lambda f: f"/accounts/me/destination-requests/{f.request_id}"
    ),
    ("PUT", "/accounts/me/trading-authorization"): Row(202, 202, 202, body=lambda: EXCHANGE),
    ("GET", "/accounts/me/trading-authorization"): Row(200, 200, 200),
    ("DELETE", "/accounts/me/trading-authorization"): Row(200, 200, 200),
    ("GET", "/accounts/me/orders"): Row(200, 200, 200),
    ("POST", "/admin/order-runs"): Row(403, 403, 202, body=lambda: {"runId": _RUN_ID}),
    ("GET", "/admin/order-runs/{runId}"): Row(403, 403, 200, path=lambda f: f"/admin/order-runs/{f.run_id}"),
    # No token opens the webhook: its HMAC is the authentication, and none of these callers has it.
    ("POST", "/webhooks/dfns"): Row(401, 401, 401, body=lambda: {"kind": "wallet.transfer.confirmed"}),
    ("GET", "/accounts/me/restrictions"): Row(200, 200, 200),
    ("GET", "/accounts/me/activity"): Row(200, 400, 400, cursor=True),
    ("GET", "/accounts/me/audit"): Row(200, 400, 400, cursor=True),
    ("GET", "/accounts/me/audit/{entryId}/verification"): Row(
        200, 404, 404, path=lambda f: f"/accounts/me/audit/{f.entry_id}/verification"
    ),
    ("GET", "/accounts/me/statement"): Row(200, 200, 200),
}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _tokens(stack: RunningStack, a: str, b: str, operator: str) -> dict[str, str | None]:
    key = load_key(stack.state_dir)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    expired = issue_token(key, a, ttl_seconds=60, now=time.time() - 3600)
    return {
        "none": None,
        "malformed": "Bearer not-a-jwt",
        "expired": f"Bearer {expired}",
        "forged": f"Bearer {issue_token(stranger, a)}",  # A's claims, signed by someone else's key
        "A": f"Bearer {issue_token(key, a)}",
        "B": f"Bearer {issue_token(key, b)}",
        "operator": f"Bearer {issue_token(key, operator, operator=True)}",
    }


def _ask_for(stack: RunningStack, client: str, address: str) -> dict[str, Any]:
    body = {"address": address}
    return dict(_ok(stack.api("POST", "/accounts/me/destination-requests", client_id=client, json=body), 202))


def _approved_destination(stack: RunningStack, a: str) -> tuple[str, str]:
    """A destination of A's that compliance approved (the officer decides in the sandbox)."""
    address = _address()
    path = f"/accounts/me/destination-requests/{_ask_for(stack, a, address)['requestId']}"

    def read() -> dict[str, Any]:
        return dict(_ok(stack.api("GET", path, client_id=a)))

    submitted = wait_for(lambda: r if (r := read()).get("approvalId") else None, timeout=WAIT_S, what="Dfns")
    with stack.officer_client() as officer:
        officer.decide_approval(submitted["approvalId"], DecisionBody(value="Approved"))
    wait_for(lambda: True if read()["status"] == "approved" else None, timeout=WAIT_S, what="approved")
    return address, str(submitted["requestId"])


@pytest.fixture(scope="module")
def fixture(proof_stack: RunningStack) -> Fixture:
    stack = proof_stack
    a, b, operator = (f"{name}-{secrets.token_hex(4)}" for name in ("mx-a", "mx-b", "mx-ops"))
    tokens = _tokens(stack, a, b, operator)
    for client in (a, b, operator):
        _ok(stack.api("POST", "/accounts", client_id=client), 201)
    account = _ok(stack.api("GET", "/accounts/me", client_id=a))
    approved, approved_request = _approved_destination(stack, a)
    _ask_for(stack, a, _address())  # a second request: a page of one has a next cursor
    stack.deposit(account["walletId"], str(10**16))
    stack.deposit(account["walletId"], str(10**16))
    cursors = {}
    for listing in ("/accounts/me/destination-requests", "/accounts/me/activity", "/accounts/me/audit"):
        page = _ok(stack.api("GET", listing, client_id=a, params={"limit": "1"}))
        assert page["nextCursor"], f"A has more than one item in {listing}"
        cursors[listing] = page["nextCursor"]
    entry_id = _ok(stack.api("GET", "/accounts/me/audit", client_id=a))["items"][0]["entryId"]
    return Fixture(
        tokens=tokens,
        request_id=approved_request,
        approved_address=approved,
        entry_id=entry_id,
        run_id=_RUN_ID,
        cursors=cursors,
        secrets_of_a=[a, account["walletId"], account["address"], approved, approved_request, entry_id],
    )


def _expected(row: Row, caller: str) -> int:
    if caller in UNAUTHENTICATED:
        return 401
    return {"A": row.a, "B": row.b, "operator": row.operator}[caller]


def _call(stack: RunningStack, fixture: Fixture, route: Route, caller: str) -> Any:
    row = MATRIX[(route.method, route.path)]
    token = fixture.tokens[caller]
    headers = {"Authorization": token} if token else {}
    params = {"cursor": fixture.cursors[route.path]} if row.cursor else None
    url = row.path(fixture) if row.path else route.path
    body = row.body() if row.body else None
    return stack.api(route.method, url, headers=headers, params=params, json=body)


def test_every_route_has_a_row_in_the_matrix() -> None:
    assert set(MATRIX) == {(route.method, route.path) for route in ROUTES}


def test_only_the_allowed_cells_succeed(proof_stack: RunningStack, fixture: Fixture) -> None:
    stack = proof_stack
    assert set(MATRIX) == {(route.method, route.path) for route in ROUTES}
    wrong: list[str] = []
    for route in ROUTES:  # in table order: a mandate is granted before it is read and revoked
        row = MATRIX[(route.method, route.path)]
        for caller in CALLERS:
            response = _call(stack, fixture, route, caller)
            expected = _expected(row, caller)
            cell = f"{route.method} {route.path} as {caller}: {response.status_code} (expected {expected})"
            if response.status_code != expected:
                wrong.append(f"{cell} {response.text[:160]}")
            elif caller in ("B", "operator") and response.status_code < 300:
                leaked = [s for s in fixture.secrets_of_a if s in response.text]
                if leaked:
                    wrong.append(f"{cell} carries A's {leaked}")
            if response.status_code >= 400 and response.content:
                assert set(json.loads(response.content)) == {"error"}, cell  # the error shape, always
    assert not wrong, "\n".join(wrong)
