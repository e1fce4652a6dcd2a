from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.signing import UserActionSigner

from tests.unit.dfns.fake_dfns import CRED_ID, TOKEN, FakeDfns

KEY_TYPES = ("Ed25519", "ECDSA-P256", "ECDSA-secp256k1", "RSA")


def _generate(key_type: str) -> Any:
    if key_type == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ECDSA-P256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ECDSA-secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(key: Any) -> str:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


@pytest.fixture(scope="session")
def private_keys() -> dict[str, Any]:
    return {kind: _generate(kind) for kind in KEY_TYPES}


@dataclass
class FakeTime:
    """Monotonic clock that moves only when the client sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fake(private_keys: dict[str, Any]) -> FakeDfns:
    return FakeDfns(public_key=private_keys["Ed25519"].public_key())


ClientFactory = Callable[..., DfnsClient]


@pytest.fixture
def make_client(private_keys: dict[str, Any], fake_time: FakeTime) -> Iterator[ClientFactory]:
    clients: list[DfnsClient] = []
    http_clients: list[httpx.Client] = []

    def build(
        fake: FakeDfns,
        key_type: str = "Ed25519",
        *,
        client_class: type[DfnsClient] = DfnsClient,
        token: str = TOKEN,
        **options: Any,
    ) -> DfnsClient:
        signer = UserActionSigner(CRED_ID, pem_of(private_keys[key_type]))
        http_clients.append(httpx.Client(transport=fake.transport()))
        settings: dict[str, Any] = {
            "http_client": http_clients[-1],
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "rng": lambda: 0.5,
            **options,
        }
        client = client_class("https://api.dfns.test/", token, signer, **settings)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
    for http_client in http_clients:
        http_client.close()


@pytest.fixture
def client(fake: FakeDfns, make_client: ClientFactory) -> DfnsClient:
    return make_client(fake)
