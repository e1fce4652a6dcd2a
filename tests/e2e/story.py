"""The whole product story on a running local stack, played as a patient frontend would, and the final state
it leaves, normalised so that two plays (one clean, one under faults) can be compared field by field.

The story, for three clients named ``<tag>-alice|bob|carol``: all onboard; Alice asks for a destination
(approved), Bob for one (denied), Carol for two in a row (the second is batched behind the first: both
approved); Alice is funded, authorises trading (the exchange address approved), and an operator runs an
order run; then every client reads their reports. Destination addresses depend on the role only, so the
final states of two plays compare directly; ids and timestamps are dropped.

The frontend retries a 429/5xx answer (and a 409 ``request_in_progress``, after its Retry-After) with
the same ``Idempotency-Key`` (DESIGN.md §3), as any client of an API behind a flaky dependency would;
the compliance officer retries a decision that Dfns refused with a 429/5xx (faults are injected before
Dfns changes anything). Everything goes over HTTP. The stack's
sandbox runs on the wall clock (transfers confirm in about 13 s, and Dfns's audit log is stamped with
real times, which the product's ingestion follows).
"""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from local_stack.notifications import read_notifications
from local_stack.officer import OfficerDfnsClient
from local_stack.remote import RunningStack, wait_for
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.models import DecisionBody
from managed_accounts.domain.trading import order_external_id

ONE_ETH = 10**18
WAIT_S = 90  # ceilings for asynchronous steps: each returns as soon as done
# A leg whose write DynamoDB still refused after the SDK's retries comes back after a backoff (10 s, 20 s,
# 40 s, ...), and a leg that met a duplicate's claim after the claim's lease (60 s).
ORDER_RUN_WAIT_S = 180
RETRY_STATUSES = {429, 500, 502, 503, 504}
ADDRESSES = {
    "alice": "0x" + "a1" * 20,
    "bob": "0x" + "b0" * 20,
    "carol-1": "0x" + "c1" * 20,
    "carol-2": "0x" + "c2" * 20,
}
ROLES = ("alice", "bob", "carol")
REPORTS = ("restrictions", "activity", "audit", "statement")


def _retryable(response: httpx.Response) -> bool:
    """429/5xx, and the 409 that says the same call is still in progress (not a business conflict)."""
    if response.status_code == 409:
        return bool(response.json().get("error", {}).get("code") == "request_in_progress")
    return response.status_code in RETRY_STATUSES


class Frontend:
    """The company's frontend: every call retried on 429/5xx, writes with a stable Idempotency-Key."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.answers: Counter[int] = Counter()  # every status the API answered, retries included

    def call(
        self, method: str, path: str, client_id: str, *, operator: bool = False, json: Any = None
    ) -> httpx.Response:
        headers = {} if method == "GET" else {"Idempotency-Key": secrets.token_hex(16)}
        deadline = time.monotonic() + WAIT_S
        while True:
            response = self.stack.api(
                method, path, client_id=client_id, operator=operator, json=json, headers=headers
            )
            self.answers[response.status_code] += 1
            if not _retryable(response) or time.monotonic() > deadline:
                return response
            time.sleep(float(response.headers.get("Retry-After", "0.2")))

    def ok(self, method: str, path: str, client_id: str, *expect: int, **kwargs: Any) -> Any:
        response = self.call(method, path, client_id, **kwargs)
        assert response.status_code in (expect or (200,)), f"{method} {path}: {response.text[:300]}"
        return response.json()


def _decide(stack: RunningStack, approval_id: str, value: str) -> None:
    """The officer's signed decision, retried while Dfns refuses it with a fault (nothing was decided)."""
    reason = None if value == "Approved" else "unknown counterparty"
    deadline = time.monotonic() + WAIT_S
    with stack.officer_client() as officer:
        while True:
            try:
                officer.decide_approval(approval_id, DecisionBody(value=value, reason=reason))
                return
            except DfnsError:
                if time.monotonic() > deadline or _status(officer, approval_id) not in {"Pending", None}:
                    raise
                time.sleep(0.2)


def _status(officer: OfficerDfnsClient, approval_id: str) -> str | None:
    try:
        return str(officer.get_approval(approval_id).status)
    except DfnsError:
        return None  # a faulted read: unknown


def _request(front: Frontend, client_id: str, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = front.ok("GET", f"/accounts/me/destination-requests/{request_id}", client_id)
    return body


def _await_request(front: Frontend, client_id: str, request_id: str, *statuses: str) -> dict[str, Any]:
    return wait_for(
        lambda: r if (r := _request(front, client_id, request_id))["status"] in statuses else None,
        timeout=WAIT_S,
        interval=0.3,
        what=f"request {request_id} of {client_id} to become {statuses}",
    )


def _approval_of(front: Frontend, client_id: str, request_id: str) -> str:
    request = _await_request(front, client_id, request_id, "submitted")
    return str(request["approvalId"])


def _ask(front: Frontend, client_id: str, address: str, label: str) -> str:
    body = {"address": address, "label": label}
    asked = front.ok("POST", "/accounts/me/destination-requests", client_id, 202, json=body)
    return str(asked["requestId"])


def _destinations_story(front: Frontend, clients: dict[str, str]) -> None:
    stack = front.stack
    alice, bob, carol = clients["alice"], clients["bob"], clients["carol"]
    alice_request = _ask(front, alice, ADDRESSES["alice"], "bank")
    bob_request = _ask(front, bob, ADDRESSES["bob"], "other exchange")
    carol_first = _ask(front, carol, ADDRESSES["carol-1"], "savings")
    carol_second = _ask(front, carol, ADDRESSES["carol-2"], "pension")  # queued behind the first
    _decide(stack, _approval_of(front, alice, alice_request), "Approved")
    _decide(stack, _approval_of(front, bob, bob_request), "Denied")
    _decide(stack, _approval_of(front, carol, carol_first), "Approved")
    _await_request(front, carol, carol_first, "approved")
    if _request(front, carol, carol_second)["status"] != "approved":
        _decide(stack, _approval_of(front, carol, carol_second), "Approved")
    _await_request(front, alice, alice_request, "approved")
    _await_request(front, bob, bob_request, "rejected")
    _await_request(front, carol, carol_second, "approved")


def _trading_story(front: Frontend, alice: str, run_id: str) -> None:
    stack = front.stack
    account = front.ok("GET", "/accounts/me", alice)
    stack.deposit(account["walletId"], str(ONE_ETH))
    body = {"exchange": "sandbox-exchange", "asset": "ETH", "amountPerRun": "0.05"}
    mandate = front.ok("PUT", "/accounts/me/trading-authorization", alice, 202, json=body)
    _decide(stack, _approval_of(front, alice, mandate["destinationRequestId"]), "Approved")
    wait_for(
        lambda: front.ok("GET", "/accounts/me/trading-authorization", alice)["status"] == "active" or None,
        timeout=WAIT_S,
        interval=0.3,
        what="Alice's mandate to become active",
    )
    front.ok("POST", "/admin/order-runs", "ops", 202, operator=True, json={"runId": run_id})
    wait_for(  # see ORDER_RUN_WAIT_S
        lambda: (
            r
            if (r := front.ok("GET", f"/admin/order-runs/{run_id}", "ops", operator=True))["status"]
            == "planned"
            and r["pending"] == 0
            else None
        ),
        timeout=ORDER_RUN_WAIT_S,
        interval=0.3,
        what=f"order run {run_id} to be processed",
    )

    def confirmed() -> bool | None:
        orders = front.ok("GET", "/accounts/me/orders", alice)["items"]
        return (bool(orders) and all(o["status"] == "confirmed" for o in orders)) or None

    wait_for(confirmed, timeout=WAIT_S, interval=0.3, what="Alice's order to be confirmed")


def play(stack: RunningStack, tag: str) -> tuple[dict[str, str], Frontend]:
    """Play the story for ``<tag>-alice|bob|carol``; returns the clients by role, and the frontend."""
    front = Frontend(stack)
    clients = {role: f"{tag}-{role}" for role in ROLES}
    for client_id in clients.values():
        front.ok("POST", "/accounts", client_id, 200, 201)
    _destinations_story(front, clients)
    _trading_story(front, clients["alice"], f"{tag}-run")
    return clients, front


# --- the final state, normalised ---------------------------------------------------------------------

DFNS_ID = re.compile(r"\b[a-z]{2,3}-[0-9a-z]{5}-[0-9a-z]{5}-[0-9a-z]+\b")
EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
EXCHANGE_DEPOSIT = (
    "0x23500496cbf658fdf12b36f38220767ca26d85dc"  # the local configuration's, for EthereumSepolia
)
STABLE_ADDRESSES = {*ADDRESSES.values(), EXCHANGE_DEPOSIT}
VOLATILE = {
    "walletId", "requestId", "approvalId", "changeRequestId", "policyId", "id", "txHash", "transferId",
    "externalId", "runId", "clientId", "destinationRequestId", "eventId", "entryId", "cursor", "nextCursor",
    "verifiedAt", "fee", "period", "actor", "reason", "dfnsAuditLogId",
}  # fmt: skip


def _normal(value: Any, renames: dict[str, str]) -> Any:
    """Ids and timestamps out; the client's own wallet id, address and tag renamed to placeholders.
    Destination addresses stay: they depend on the role only, so they are the same in every play."""
    if isinstance(value, dict):
        return {
            key: _normal(item, renames)
            for key, item in value.items()
            if key not in VOLATILE
            and not key.endswith(("At", "Date", "Id", "Ids"))
            and not key.startswith("date")
        }
    if isinstance(value, list):
        return [_normal(item, renames) for item in value]
    if isinstance(value, str):
        for old, new in renames.items():
            value = value.replace(old, new)
        if EVM_ADDRESS.fullmatch(value) and value.lower() not in STABLE_ADDRESSES:
            return "<sandbox-address>"  # e.g. where the sandbox's deposits come from: random per deposit
    return value


def _audit(front: Frontend, client_id: str) -> tuple[list[str], list[str]]:
    """The audit trail: the product's own facts, each as often as it is filed (a lost or doubled fact
    changes the list), and the kinds of rows ingested from Dfns's audit log, each once: how many change
    requests carry a client's requests depends on timing (requests made while Dfns is failing are batched
    into one change), so the number of such rows legitimately varies between plays."""
    items = front.ok("GET", "/accounts/me/audit", client_id)["items"]
    lines = [(i["source"], DFNS_ID.sub("<id>", f"{i['kind']}: {i['summary']}")) for i in items]
    return sorted(line for source, line in lines if source != "dfns"), sorted(
        {line for source, line in lines if source == "dfns"}
    )


def _notifications(stack: RunningStack, client_id: str) -> list[str]:
    """Each domain event once by its stable id (delivery is at-least-once): its type."""
    unique = {
        n.get("id") or n.get("eventId") or str(n): n["type"]
        for n in read_notifications(stack.state_dir, client_id)
    }
    return sorted(unique.values())


def final_state(front: Frontend, clients: dict[str, str], tag: str) -> dict[str, Any]:
    """What each client sees through the API, normalised, plus the product's notifications."""
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    state: dict[str, Any] = {}
    for role, client_id in clients.items():
        product_facts, dfns_rows = _audit(front, client_id)
        views = {
            "account": front.ok("GET", "/accounts/me", client_id),
            "destinations": front.ok("GET", "/accounts/me/destinations", client_id),
            "requests": front.ok("GET", "/accounts/me/destination-requests", client_id),
            "mandate": front.call("GET", "/accounts/me/trading-authorization", client_id).json(),
            "orders": front.ok("GET", "/accounts/me/orders", client_id),
            "restrictions": front.ok("GET", "/accounts/me/restrictions", client_id),
            "activity": front.ok("GET", "/accounts/me/activity", client_id),
            "statement": front.ok("GET", f"/accounts/me/statement?to={tomorrow}", client_id),
            "auditProduct": product_facts,
            "auditDfns": dfns_rows,
            "notifications": _notifications(front.stack, client_id),
        }
        account = views["account"]
        renames = {account["walletId"]: "<wallet>", account["address"]: "<wallet-address>", tag: "<tag>"}
        state[role] = _normal(views, renames)
    return state


def dfns_counts(stack: RunningStack, clients: dict[str, str], run_id: str) -> dict[str, Any]:
    """Counted in the sandbox, as Dfns holds them: wallets, whitelist policies, change requests (approvals
    on the client's whitelist policy) and transfers of the run, per client."""
    counts: dict[str, Any] = {}
    with stack.service_account_client() as dfns:
        wallets = list(dfns.iter_wallets())
        policies = list(dfns.iter_policies(status=None))
        approvals = list(dfns.iter_approvals())
        for role, client_id in clients.items():
            tag = f"client:{client_id}"
            mine = [w for w in wallets if tag in w.tags]
            whitelist = [p for p in policies if f'"{tag}"' in p.model_dump_json()]
            ids = {p.id for p in whitelist}
            changes = [a for a in approvals if any(i in a.model_dump_json() for i in ids)]
            transfers = [t for w in mine for t in dfns.iter_transfers(w.id)]
            wanted = order_external_id(run_id, client_id)
            counts[role] = {
                "wallets": len(mine),
                "whitelistPolicies": len(whitelist),
                "changeRequests": dict(Counter(a.status for a in changes)),
                "transfers": len(transfers),
                "transfersOfTheRun": sum(1 for t in transfers if t.external_id == wanted),
            }
    return counts
