"""Schemathesis over the live ``/openapi.json`` of the local stack: every route, with valid tokens (an
operator's on operator routes, none on the webhook), schema-valid and schema-invalid input alike. No
answer may be a 5xx, carry an undocumented status or content type, or break its documented schema.

Reproducible: every operation runs a derandomized Hypothesis search (no example database), so CI
sends the same cases each time. The test prints how many cases it sent and fails under ``MIN_CASES``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from local_stack import aws
from local_stack.remote import RunningStack
from managed_accounts.api.webhook_signature import sign
from managed_accounts.routes import ROUTES, Route
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.e2e

MIN_CASES = 2_000
# Cases per operation, (schema-valid, schema-invalid). Schema-invalid cases cost ~70 ms each to
# generate and nearly all end in the validator's 422, so a few per operation do; operations without
# input have little to vary (headers); the slow reads (Dfns round trips) get fewer, the cheap ones the
# rest of the budget. The whole run takes about a minute and a half on 2 cores.
DEFAULT_EXAMPLES = (70, 15)
EXAMPLES: dict[str, tuple[int, int]] = {
    "DELETE /accounts/me/destinations/{address}": (290, 15),
    "GET /accounts/me/destination-requests/{requestId}": (290, 15),
    "GET /accounts/me/orders": (290, 15),
    "GET /admin/order-runs/{runId}": (290, 15),
    "GET /accounts/me/audit/{entryId}/verification": (290, 15),
    "GET /accounts/me/restrictions": (3, 3),
    # Each new run plans a leg for every mandate on the stack: a backlog slows the stack's shutdown.
    "POST /admin/order-runs": (30, 15),
}
WITHOUT_INPUT = (6, 3)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_REPORTED = 3  # failures shown per operation
# Identifiers and cursors the API hands out, fed back into the parameters of the same name, so the
# fuzzer reaches real objects (and sends one listing's cursor to every other listing).
HARVESTED = {"requestId": "requestId", "runId": "runId", "entryId": "entryId", "address": "address",
             "nextCursor": "cursor"}  # fmt: skip
EXCHANGE_BODIES = st.fixed_dictionaries(
    {
        "exchange": st.just("sandbox-exchange"),
        "asset": st.sampled_from(["ETH", "USDC", "eth", "BTC"]),
        "amountPerRun": st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,20})?\Z"),
    }
)
EVM_ADDRESSES = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())


@dataclass
class Tally:
    sent: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    harvest: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, label: str, message: str) -> None:
        found = self.failures.setdefault(label, [])
        if len(found) < MAX_REPORTED:
            found.append(message)

    def collect(self, node: Any) -> None:
        """Remember identifiers and cursors from an answer (a few of each)."""
        if isinstance(node, list):
            for value in node:
                self.collect(value)
        elif isinstance(node, dict):
            for key, value in node.items():
                name = HARVESTED.get(key)
                if name and isinstance(value, str) and value not in self.harvest.get(name, []):
                    self.harvest.setdefault(name, []).append(value)
                    del self.harvest[name][:-8]
                self.collect(value)


def _route(method: str, path: str) -> Route:
    return next(r for r in ROUTES if r.method == method.upper() and r.path == path)


def _headers(stack: RunningStack, route: Route, client_id: str) -> dict[str, str]:
    if route.auth == "webhook":
        return {}
    operator = route.auth == "operator"
    token = stack.token(f"fuzz-operator-{client_id}" if operator else client_id, operator=operator)
    return {"Authorization": f"Bearer {token}"}


def _parameters(operation: Any) -> list[tuple[str, str]]:
    return [("path", p.name) for p in operation.path_parameters] + [
        ("query", p.name) for p in operation.query
    ]


def _with(operation: Any, values: Any, place: Callable[[Any], dict[str, Any]]) -> Any:
    """Cases of ``operation`` with one input taken from ``values`` (placed by ``place``)."""

    def cases(value: Any) -> Any:
        return operation.as_strategy(**place(value))

    return values.flatmap(cases)


def _placing(where: str, name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {where: {name: value}}


def _strategy(operation: Any, mode: GenerationMode, harvest: dict[str, list[str]]) -> Any:
    """Schemathesis's cases, and in the positive mode also cases built on values the API handed out."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode is not GenerationMode.POSITIVE:
        return generated
    known = []
    for location, name in _parameters(operation):
        if harvest.get(name):
            where = "path_parameters" if location == "path" else "query"
            known.append(_with(operation, st.sampled_from(harvest[name]), _placing(where, name)))
    if operation.label == "POST /accounts/me/destination-requests":
        known.append(_with(operation, EVM_ADDRESSES, lambda address: {"body": {"address": address}}))
    if operation.label == "PUT /accounts/me/trading-authorization":
        known.append(_with(operation, EXCHANGE_BODIES, lambda body: {"body": body}))
    return st.one_of(generated, *known)


def _run(strategy: Any, max_examples: int, send: Callable[[Any], None]) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        send(case)

    fuzz()


def _fuzz_operation(stack: RunningStack, operation: Any, client_id: str, tally: Tally) -> None:
    route = _route(operation.method, operation.path)
    headers = _headers(stack, route, client_id)
    base_url = stack.info["apiUrl"]
    label = operation.label
    has_input = bool(_parameters(operation)) or bool(operation.body)
    budget = EXAMPLES.get(label, DEFAULT_EXAMPLES if has_input else WITHOUT_INPUT)
    session = requests.Session()

    def send(case: Any) -> None:
        tally.sent += 1
        tally.per_operation[label] = tally.per_operation.get(label, 0) + 1
        if headers:  # the token always (the authorization matrix tests tokens): reach the handler
            case.headers = {**dict(case.headers or {}), **headers}
        response = case.call(base_url=base_url, session=session, timeout=30)
        if response.status_code < 300 and "json" in response.headers.get("Content-Type", ""):
            tally.collect(response.json())
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failures:
            for failure in failures.exceptions:
                tally.fail(label, f"{failure.title}: {failure.message}\n  {case.as_curl_command()}")

    started = time.perf_counter()
    for mode, examples in zip((GenerationMode.POSITIVE, GenerationMode.NEGATIVE), budget, strict=True):
        try:
            _run(_strategy(operation, mode, tally.harvest), examples, send)
        except Unsatisfiable:  # nothing schema-invalid to generate for an operation without input
            if mode is GenerationMode.POSITIVE:
                raise
    tally.seconds[label] = time.perf_counter() - started


def test_no_generated_request_gets_a_5xx_or_an_answer_outside_the_documented_schema(
    proof_stack: RunningStack,
):
    stack = proof_stack
    schema = schemathesis.openapi.from_url(f"{stack.info['apiUrl']}/openapi.json")
    client_id = f"fuzz-{secrets.token_hex(4)}"
    tally = Tally()
    operations: list[Any] = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    assert {(o.method.upper(), o.path) for o in operations} == {(r.method, r.path) for r in ROUTES}
    # POST /accounts first (route table order): its first case onboards the fuzzing client (a 201).
    order = {(r.method.lower(), r.path): i for i, r in enumerate(ROUTES)}
    for operation in sorted(operations, key=lambda o: order[(o.method.lower(), o.path)]):
        _fuzz_operation(stack, operation, client_id, tally)
    summary = ", ".join(
        f"{label}: {n} in {tally.seconds[label]:.1f}s" for label, n in tally.per_operation.items()
    )
    print(
        f"\nschemathesis sent {tally.sent} generated requests over {len(operations)} operations ({summary})"
    )
    report = "\n".join(f"{label}\n  " + "\n  ".join(found) for label, found in tally.failures.items())
    assert not tally.failures, f"{sum(map(len, tally.failures.values()))} failing cases:\n{report}"
    assert tally.sent >= MIN_CASES, f"only {tally.sent} cases were sent"


WEBHOOK_EXAMPLES = 100  # per kind of junk
# What a header can carry (Latin-1, no control characters): junk, and well-formed signatures of other bodies.
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)
SIGNATURES = st.none() | HEADER_TEXT | st.binary(min_size=32, max_size=32).map(lambda b: "sha256=" + b.hex())
JUNK = st.binary(max_size=2_000) | st.text(max_size=500).map(str.encode)
EVENT_KINDS = st.sampled_from(
    ["policy.approval.pending", "policy.approval.resolved", "wallet.transfer.confirmed",
     "wallet.transfer.failed", "wallet.tags.modified", "wallet.created", ""]
)  # fmt: skip


def _containers(inner: Any) -> Any:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    _containers,
    max_leaves=12,
)


@st.composite
def signed_events(draw: st.DrawFn, now: float) -> bytes:
    """Authenticated nonsense: events of every kind with junk data, sent now or outside the window."""
    event = {
        "id": draw(st.text(max_size=20)),
        "kind": draw(EVENT_KINDS | st.text(max_size=20)),
        "data": draw(JSON_VALUES),
        "timestampSent": now + draw(st.sampled_from([0, -5, 400, -4000])),
        **draw(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3)),
    }
    return json.dumps(event, separators=(",", ":")).encode()


def test_the_webhook_answers_junk_401_and_signed_junk_never_a_5xx(proof_stack: RunningStack) -> None:
    """The webhook route has no token: its HMAC is the authentication. Unsigned or wrongly signed
    bodies are a 401; bodies signed with the real secret but carrying nonsense are never a 5xx."""
    url = f"{proof_stack.info['apiUrl']}/webhooks/dfns"
    secret = aws.get_secret_json(proof_stack.info["awsEndpointUrl"], proof_stack.info["secrets"]["webhook"])
    session = requests.Session()
    answers: dict[str, list[int]] = {"unsigned": [], "signed": []}

    def post(raw: bytes, signature: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-DFNS-WEBHOOK-SIGNATURE"] = signature
        return session.post(url, data=raw, headers=headers, timeout=30).status_code

    @settings(max_examples=WEBHOOK_EXAMPLES, deadline=None, derandomize=True, database=None)
    @given(raw=JUNK, signature=SIGNATURES)
    def unsigned(raw: bytes, signature: str | None) -> None:
        status = post(raw, signature)
        answers["unsigned"].append(status)
        assert status == 401, (raw[:80], signature)

    @settings(max_examples=WEBHOOK_EXAMPLES, deadline=None, derandomize=True, database=None)
    @given(raw=JUNK | signed_events(time.time()))
    def signed(raw: bytes) -> None:
        status = post(raw, sign(raw, secret["secret"]))
        answers["signed"].append(status)
        assert status < 500, raw[:200]

    unsigned()
    signed()
    counts = {kind: dict(Counter(statuses)) for kind, statuses in answers.items()}
    print(f"\nwebhook fuzzing: {sum(map(len, answers.values()))} deliveries, statuses {counts}")
