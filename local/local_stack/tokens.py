"""Dev JWTs shaped like Cognito ID tokens, and the checks API Gateway's Cognito authorizer makes on them.

Each stack generates its own RSA key in the state folder (``.local/``), so a token minted for one
stack is refused by the next. The authorizer accepts a token only when the RS256 signature verifies
with that key, ``iss`` and ``aud`` are this dev pool's, ``exp`` has not passed, ``token_use`` is ``id``
and ``sub`` is present. Anything else is the API Gateway 401 (``GATEWAY_ERRORS["UNAUTHORIZED"]``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from managed_accounts.routes import OPERATORS_GROUP

ISSUER = "https://cognito-idp.local.amazonaws.com/local_managedaccounts"
AUDIENCE = "managed-accounts-local-client"
KEY_FILE = "jwt-signing-key.pem"
KEY_ID = "local-dev-key"
DEFAULT_TTL_SECONDS = 12 * 3600


class InvalidToken(Exception):
    """The token would not pass the Cognito authorizer (the reason is for logs, never for the caller)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified token belongs to."""

    client_id: str
    groups: tuple[str, ...]
    claims: Mapping[str, Any]

    @property
    def is_operator(self) -> bool:
        return OPERATORS_GROUP in self.groups


def generate_key(state_dir: Path) -> rsa.RSAPrivateKey:
    """A fresh signing key for this stack, written to ``state_dir`` (owner-readable only)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / KEY_FILE
    path.write_bytes(pem)
    path.chmod(0o600)
    return key


def load_key(state_dir: Path) -> rsa.RSAPrivateKey:
    path = state_dir / KEY_FILE
    if not path.exists():
        raise FileNotFoundError(f"no dev signing key at {path}: start the stack first (`make run`)")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return key


def issue_token(
    key: rsa.RSAPrivateKey,
    client_id: str,
    *,
    operator: bool = False,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
    issuer: str = ISSUER,
) -> str:
    """An ID token for ``client_id`` (its ``sub``); operators carry the ``operators`` group."""
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": client_id,
        "iss": issuer,
        "aud": AUDIENCE,
        "token_use": "id",
        "auth_time": issued_at,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "cognito:username": client_id,
    }
    if operator:
        claims["cognito:groups"] = [OPERATORS_GROUP]
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KEY_ID})


class TokenVerifier:
    """The Cognito user pool authorizer's checks, against this stack's key."""

    def __init__(self, public_key: rsa.RSAPublicKey, *, issuer: str = ISSUER) -> None:
        self._public_key = public_key
        self._issuer = issuer

    def verify(self, authorization: str | None) -> Identity:
        """The identity behind an ``Authorization`` header value (``Bearer <jwt>`` or the bare JWT,
        as API Gateway accepts both)."""
        if not authorization:
            raise InvalidToken("missing token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "sub", "token_use"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims.get("token_use") != "id":
            raise InvalidToken("not an ID token")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("empty sub")
        groups = claims.get("cognito:groups") or []
        if isinstance(groups, str):
            groups = [groups]
        return Identity(client_id=subject, groups=tuple(str(g) for g in groups), claims=claims)


def authorizer_claims(identity: Identity) -> dict[str, str]:
    """The claims as a REST API Cognito authorizer hands them to Lambda: every value a string,
    times as ``Sun Nov 22 02:00:00 UTC 2026``, groups comma-joined."""
    out: dict[str, str] = {}
    for name, value in identity.claims.items():
        if name in ("exp", "iat") and isinstance(value, int):
            out[name] = datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        elif isinstance(value, list):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = str(value)
    return out
