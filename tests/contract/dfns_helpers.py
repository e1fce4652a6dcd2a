"""A tiny, independent Dfns client for the contract tests: bearer auth and user-action signing built
directly from DFNS.md §1.4 with ``cryptography`` (deliberately not the product's client)."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def compact(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def new_key(kind: str = "ed25519") -> PrivateKey:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def load_private(pem: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key


@dataclass
class DfnsUser:
    """One Dfns identity (service account or officer) talking to the sandbox over real HTTP."""

    http: httpx.Client
    token: str
    cred_id: str
    key: PrivateKey
    user_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None, headers=self.auth)

    def challenge(self, method: str, path: str, payload: str) -> dict[str, Any]:
        body = {
            "userActionHttpMethod": method,
            "userActionHttpPath": path,
            "userActionPayload": payload,
            "userActionServerKind": "Api",
        }
        response = self.http.post("/auth/action/init", json=body, headers=self.auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def assertion(self, challenge: dict[str, Any], *, key: PrivateKey | None = None) -> dict[str, Any]:
        client_data = compact({"challenge": challenge["challenge"], "type": "key.get"})
        signature = sign_bytes(key or self.key, client_data)
        assertion = {
            "credId": self.cred_id,
            "clientData": b64url(client_data),
            "signature": b64url(signature),
        }
        return {
            "challengeIdentifier": challenge["challengeIdentifier"],
            "firstFactor": {"kind": "Key", "credentialAssertion": assertion},
        }

    def user_action(self, method: str, path: str, payload: str) -> str:
        challenge = self.challenge(method, path, payload)
        response = self.http.post("/auth/action", json=self.assertion(challenge), headers=self.auth)
        assert response.status_code == 200, response.text
        return str(response.json()["userAction"])

    def send(self, method: str, path: str, content: bytes, user_action: str) -> httpx.Response:
        headers = {**self.auth, "Content-Type": "application/json", "X-DFNS-USERACTION": user_action}
        return self.http.request(method, path, content=content, headers=headers)

    def signed(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """The whole flow: serialise once, sign those bytes as the payload, send the same bytes."""
        content = b"" if body is None else compact(body)
        return self.send(method, path, content, self.user_action(method, path, content.decode()))


@dataclass
class Receiver:
    """A loopback webhook endpoint that records raw deliveries and answers the statuses it is told to."""

    statuses: list[int] = field(default_factory=list)
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.deliveries.append((dict(request.headers), request.get_data()))
            status = self.statuses.pop(0) if self.statuses else 200
        return Response("ok", status)(environ, start_response)

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body in self.deliveries]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
