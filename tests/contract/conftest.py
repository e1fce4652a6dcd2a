"""Contract tests: the sandbox on an ephemeral loopback port, driven over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from dfns_sandbox import SandboxServer
from dfns_sandbox.permissions import OPERATIONS

from tests.contract.dfns_helpers import DfnsUser, Receiver, load_private, new_key, public_pem


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer("127.0.0.1", 0) as server:
        yield server


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    # Plain http on loopback: skipping the CA bundle load makes each client ~100 ms cheaper to build.
    with httpx.Client(base_url=sandbox.url, timeout=10, verify=False) as client:
        yield client


@pytest.fixture
def make_service_account(sandbox: SandboxServer, http: httpx.Client) -> Callable[..., DfnsUser]:
    """A service account; ``permissions=None`` gives it the product's role, a list a role of its own."""

    def make(kind: str = "ed25519", name: str = "svc", permissions: list[str] | None = None) -> DfnsUser:
        key = new_key(kind)
        body: dict[str, Any] = {"name": name, "publicKey": public_pem(key)}
        if permissions is not None:
            body["permissions"] = permissions
        response = http.post("/sandbox/service-accounts", json=body)
        assert response.status_code == 200, response.text
        creds = response.json()
        return DfnsUser(http, creds["accessToken"], creds["credId"], key, creds["userId"])

    return make


@pytest.fixture
def svc(make_service_account: Callable[..., DfnsUser]) -> DfnsUser:
    """The product's service account: its default role has no tag removal, votes or policy deletion."""
    return make_service_account()


@pytest.fixture
def admin(make_service_account: Callable[..., DfnsUser]) -> DfnsUser:
    """A service account holding every operation (for what the product's role must not do)."""
    return make_service_account(name="admin", permissions=list(OPERATIONS))


@pytest.fixture
def officer(sandbox: SandboxServer, http: httpx.Client) -> DfnsUser:
    creds = sandbox.officer
    return DfnsUser(http, creds.token, creds.cred_id, load_private(creds.private_key_pem), creds.user_id)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture
def advance(http: httpx.Client) -> Callable[[float], None]:
    def move(seconds: float) -> None:
        assert http.post("/sandbox/clock", json={"advanceSeconds": seconds}).status_code == 200

    return move


@pytest.fixture
def wallet(svc: DfnsUser, http: httpx.Client) -> dict[str, Any]:
    """A funded EthereumSepolia wallet tagged client:c1 (10 ETH)."""
    created = svc.signed("POST", "/wallets", {"network": "EthereumSepolia", "tags": ["client:c1"]})
    assert created.status_code == 200, created.text
    body: dict[str, Any] = created.json()
    funded = http.post("/sandbox/deposits", json={"walletId": body["id"], "amount": str(10 * 10**18)})
    assert funded.status_code == 200, funded.text
    return body
