"""Benchmarks for ``make bench``: start-up time, plain reads/s and signed calls/s over keep-alive.

.venv/bin/python -m dfns_sandbox.bench           # prints the numbers as JSON
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from dfns_sandbox.server import SandboxServer


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _signed_post(
    client: httpx.Client, key: ed25519.Ed25519PrivateKey, cred_id: str, path: str, body: Any
) -> None:
    content = json.dumps(body, separators=(",", ":")).encode()
    init = client.post(
        "/auth/action/init",
        json={
            "userActionHttpMethod": "POST",
            "userActionHttpPath": path,
            "userActionPayload": content.decode(),
        },
    ).json()
    client_data = json.dumps(
        {"challenge": init["challenge"], "type": "key.get"}, separators=(",", ":")
    ).encode()
    assertion = {
        "credId": cred_id,
        "clientData": _b64url(client_data),
        "signature": _b64url(key.sign(client_data)),
    }
    action = client.post(
        "/auth/action",
        json={
            "challengeIdentifier": init["challengeIdentifier"],
            "firstFactor": {"kind": "Key", "credentialAssertion": assertion},
        },
    )
    response = client.post(
        path,
        content=content,
        headers={"X-DFNS-USERACTION": action.json()["userAction"], "Content-Type": "application/json"},
    )
    response.raise_for_status()


def signed_calls_per_second(url: str, calls: int = 200) -> float:
    """Signed ``POST /wallets`` calls per second against a running sandbox at ``url`` (its own throughput,
    measured over one keep-alive connection with a fresh service account: the baseline of the order run)."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    body = {"name": "bench-throughput", "publicKey": pem}
    created = httpx.post(f"{url}/sandbox/service-accounts", json=body)
    created.raise_for_status()
    account = created.json()
    headers = {"Authorization": f"Bearer {account['accessToken']}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        began = time.perf_counter()
        for _ in range(calls):
            _signed_post(client, key, account["credId"], "/wallets", {"network": "EthereumSepolia"})
        return calls / (time.perf_counter() - began)


def measure(reads: int = 1000, signed: int = 200) -> dict[str, float]:
    """Start a sandbox, then time ``reads`` GET /wallets/{id} and ``signed`` signed POST /wallets calls."""
    started = time.perf_counter()
    server = SandboxServer(port=0).start()
    startup = time.perf_counter() - started
    try:
        key = ed25519.Ed25519PrivateKey.generate()
        pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        creds = server.register_service_account(pem, "bench")
        headers = {"Authorization": f"Bearer {creds.access_token}"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            _signed_post(client, key, creds.cred_id, "/wallets", {"network": "EthereumSepolia"})
            wallet_id = client.get("/wallets").json()["items"][0]["id"]
            began = time.perf_counter()
            for _ in range(reads):
                client.get(f"/wallets/{wallet_id}").raise_for_status()
            read_seconds = time.perf_counter() - began
            began = time.perf_counter()
            for _ in range(signed):
                _signed_post(client, key, creds.cred_id, "/wallets", {"network": "EthereumSepolia"})
            signed_seconds = time.perf_counter() - began
    finally:
        server.stop()
    return {
        "startup_seconds": round(startup, 4),
        "reads": reads,
        "reads_per_second": round(reads / read_seconds, 1),
        "signed_calls": signed,
        "signed_calls_per_second": round(signed / signed_seconds, 1),
        "http_requests_per_second_signed": round(3 * signed / signed_seconds, 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
