"""User-action signing with a Key credential (DFNS.md §1.4), usable on its own.

The service account's client uses it for every POST/PUT/DELETE, and a compliance officer's CLI uses
it with the officer's own credential to sign approval decisions. The private key never leaves this
object: ``repr`` shows the credential id and key type only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

KeyType = Literal["Ed25519", "ECDSA-P256", "ECDSA-secp256k1", "RSA"]

_MIN_RSA_BITS = 2048


class SigningError(ValueError):
    """The key or the challenge cannot be used to sign a user action."""


def b64url(data: bytes) -> str:
    """Base64url without ``=`` padding, as Dfns expects for clientData and signatures."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def serialize_body(body: Mapping[str, Any] | None) -> bytes:
    """The one serialisation of a request body: these bytes are both declared and sent.

    ``None`` (no body) is the empty payload. ``ensure_ascii=False`` keeps non-ASCII text as UTF-8,
    exactly what goes on the wire.
    """
    if body is None:
        return b""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def client_data(challenge: str) -> bytes:
    """The clientData bytes for a ``key.get`` assertion: compact JSON, sorted keys (every SDK accepts it)."""
    return json.dumps(
        {"type": "key.get", "challenge": challenge}, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class KeyAssertion:
    """A signed challenge, ready for ``firstFactor.credentialAssertion``."""

    cred_id: str
    client_data: str  # b64url
    signature: str  # b64url

    def first_factor(self) -> dict[str, Any]:
        return {
            "kind": "Key",
            "credentialAssertion": {
                "credId": self.cred_id,
                "clientData": self.client_data,
                "signature": self.signature,
            },
        }


_PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _load_key(pem: str | bytes, password: bytes | None) -> tuple[_PrivateKey, KeyType]:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        # The library's message may quote parts of the input: keep it out of ours.
        raise SigningError("the private key is not a readable PEM private key") from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key, "Ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP256R1):
            return key, "ECDSA-P256"
        if isinstance(key.curve, ec.SECP256K1):
            return key, "ECDSA-secp256k1"
        raise SigningError(f"unsupported ECDSA curve {key.curve.name}")
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < _MIN_RSA_BITS:
            raise SigningError("RSA keys must be at least 2048 bits")
        return key, "RSA"
    raise SigningError(f"unsupported key type {type(key).__name__}")


class UserActionSigner:
    """Signs Dfns user-action challenges with one Key credential (Ed25519, ECDSA P-256/secp256k1, RSA)."""

    def __init__(self, cred_id: str, private_key_pem: str | bytes, *, password: bytes | None = None) -> None:
        if not cred_id:
            raise SigningError("a credential id is required")
        self.cred_id = cred_id
        self._key, self.key_type = _load_key(private_key_pem, password)

    def __repr__(self) -> str:
        return f"UserActionSigner(cred_id={self.cred_id!r}, key_type={self.key_type!r})"

    def sign_bytes(self, data: bytes) -> bytes:
        """The raw signature: Ed25519 raw 64 bytes, ECDSA DER over SHA-256, RSA PKCS#1 v1.5 SHA-256."""
        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hashes.SHA256()))
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def sign(self, challenge: str, *, allowed_cred_ids: Sequence[str] | None = None) -> KeyAssertion:
        """Sign ``challenge`` as returned by ``/auth/action/init``.

        When Dfns lists allowed Key credentials, ours must be one of them: signing with a credential
        Dfns will not accept would only burn the challenge.
        """
        if not challenge:
            raise SigningError("empty challenge")
        if allowed_cred_ids is not None and self.cred_id not in allowed_cred_ids:
            raise SigningError(f"credential {self.cred_id} is not allowed for this challenge")
        data = client_data(challenge)
        signature = b64url(self.sign_bytes(data))
        return KeyAssertion(cred_id=self.cred_id, client_data=b64url(data), signature=signature)

    def sign_init_response(self, init: Mapping[str, Any]) -> dict[str, Any]:
        """The ``/auth/action`` body for an ``/auth/action/init`` response."""
        challenge = init.get("challenge")
        identifier = init.get("challengeIdentifier")
        if not isinstance(challenge, str) or not isinstance(identifier, str):
            raise SigningError("the init response lacks challenge or challengeIdentifier")
        assertion = self.sign(challenge, allowed_cred_ids=allowed_key_credentials(init))
        return {"challengeIdentifier": identifier, "firstFactor": assertion.first_factor()}


def allowed_key_credentials(init: Mapping[str, Any]) -> list[str] | None:
    """The Key credential ids listed in ``allowCredentials.key``; ``None`` when Dfns lists none."""
    allow = init.get("allowCredentials")
    if not isinstance(allow, Mapping):
        return None
    keys = allow.get("key")
    if not isinstance(keys, list):
        return None
    return [str(item["id"]) for item in keys if isinstance(item, Mapping) and "id" in item]
