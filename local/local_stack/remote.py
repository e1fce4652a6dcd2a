"""A handle on a running local stack, from its ``stack.json``: what the CLI, the demo and the e2e tests use.

Everything goes over HTTP: the product's API with dev tokens, the Dfns sandbox's API with the
compliance officer's (or the service account's) own credentials, and moto for the secret that holds
the service account's key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.signing import UserActionSigner

from local_stack import aws
from local_stack.officer import OfficerDfnsClient
from local_stack.tokens import issue_token, load_key

T = TypeVar("T")

DEFAULT_STATE_DIR = Path(".local")


class StackNotRunning(Exception):
    """There is no ``stack.json``, or the stack it describes does not answer."""


class WaitTimeout(Exception):
    """A condition did not become true in time."""


class RunningStack:
    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR, *, timeout: float = 15.0) -> None:
        path = state_dir / "stack.json"
        if not path.exists():
            raise StackNotRunning(f"no {path}: start the stack first with `make run`")
        self.state_dir = state_dir
        self.info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.http = httpx.Client(base_url=self.info["apiUrl"], timeout=timeout)
        self._key = load_key(state_dir)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RunningStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the product's API ---------------------------------------------------------------------------

    def token(self, client_id: str, *, operator: bool = False) -> str:
        return issue_token(self._key, client_id, operator=operator)

    def api(
        self, method: str, path: str, *, client_id: str | None = None, operator: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """One API call, as ``client_id`` (None: no Authorization header at all)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if client_id is not None:
            headers["Authorization"] = f"Bearer {self.token(client_id, operator=operator)}"
        try:
            return self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise StackNotRunning(f"the API at {self.info['apiUrl']} does not answer: {exc}") from exc

    # --- Dfns, as the people and systems who hold credentials there ------------------------------------

    def officer_client(self) -> OfficerDfnsClient:
        """The compliance officer's own Dfns client: the only identity that may decide approvals."""
        officer = self.info["complianceOfficer"]
        signer = UserActionSigner(officer["credId"], officer["privateKeyPem"])
        return OfficerDfnsClient(self.info["sandboxUrl"], officer["token"], signer, max_attempts=1)

    def service_account_client(self) -> DfnsClient:
        """The service account's client, with the credentials the product reads from Secrets Manager."""
        secret = aws.get_secret_json(self.info["awsEndpointUrl"], self.info["secrets"]["dfnsServiceAccount"])
        signer = UserActionSigner(secret["credId"], secret["privateKeyPem"])
        return DfnsClient(self.info["sandboxUrl"], secret["token"], signer, max_attempts=1)

    def deposit(self, wallet_id: str, amount: str) -> dict[str, Any]:
        """Fund a sandbox wallet (sandbox-only admin route)."""
        response = httpx.post(
            f"{self.info['sandboxUrl']}/sandbox/deposits",
            json={"walletId": wallet_id, "amount": amount},
            timeout=10,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def advance_sandbox_clock(self, seconds: float) -> None:
        response = httpx.post(
            f"{self.info['sandboxUrl']}/sandbox/clock", json={"advanceSeconds": seconds}, timeout=10
        )
        response.raise_for_status()


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until it returns something other than None (webhooks arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
