"""Service-account bearer tokens and the user-action signing flow (DFNS.md §1.4), verified for real.

Decision on the UNCONFIRMED payload check: the declared ``userActionPayload`` must equal the raw request
body BYTES (UTF-8 of the declared string), not merely the same parsed JSON. Re-serialised bodies fail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import ApiError, bad_request, forbidden
from dfns_sandbox.prices import random_id
from dfns_sandbox.store import AuditRow, Challenge, Credential, Json, Store, User, UserAction

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

CHALLENGE_TTL = timedelta(minutes=15)
USER_ACTION_TTL = timedelta(minutes=15)
INVALID_SIGNATURE = "user action signature is missing or invalid"
_JWT_KEY = secrets.token_bytes(32)
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=256)
def load_public_key(pem: str) -> PublicKey:
    """A PEM SPKI key of a kind Dfns accepts (§1.3); 400 for anything else."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise bad_request("publicKey must be a PEM SPKI public key") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1 | ec.SECP256K1):
        return key
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return key
    raise bad_request("unsupported key type: use Ed25519, ECDSA P-256/secp256k1 or RSA >= 2048")


def verify_signature(pem: str, signature: bytes, data: bytes) -> bool:
    key = load_public_key(pem)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))  # DER-encoded, as Dfns requires
        else:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _jwt(claims: Json) -> str:
    """A JWT signed HS256 with a sandbox-only key (Dfns signs its own; nobody but the server checks it)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(_JWT_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


TOKEN_LIFETIME = timedelta(days=730)  # Dfns's default (and maximum) for a service-account token


def access_token(store: Store, user: User, token_id: str, now: datetime) -> str:
    """A bearer token shaped like Dfns's: a JWT whose ``https://custom/app_metadata`` claim names the org,
    the user and the token kind (the claim Dfns's TS SDK reads the org from; the user id in it is what
    tells a service account who it is)."""
    kind = "ServiceAccount" if user.is_service_account else "Token"
    return _jwt(
        {
            "iss": "auth.sandbox.dfns.local",
            "aud": "dfns:auth:user",
            "sub": store.org_id,
            "jti": token_id,
            "iat": int(now.timestamp()),
            "exp": int((now + TOKEN_LIFETIME).timestamp()),
            "https://custom/username": user.username,
            "https://custom/app_metadata": {
                "userId": user.user_id,
                "orgId": store.org_id,
                "tokenKind": kind,
            },
        }
    )


def register_user(
    store: Store, *, name: str, public_key_pem: str, kind: str, now: datetime
) -> tuple[User, str, str]:
    """Create a user with one Key credential and one bearer token → (user, credId, token)."""
    load_public_key(public_key_pem)
    user = User(user_id=random_id("us"), username=name, kind=kind, token_id=random_id("to"), date_created=now)
    cred_id = random_id("cr")
    user.credentials[cred_id] = Credential(cred_id, public_key_pem)
    token = access_token(store, user, user.token_id, now)
    store.users[user.user_id] = user
    store.tokens[token] = (user.user_id, user.token_id)
    return user, cred_id, token


def authenticate(store: Store, request: Request) -> tuple[User, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = store.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise ApiError(401, "Unauthorized: the bearer token is missing, invalid or expired")
    return store.users[found[0]], found[1]


def _challenge_identifier(user_id: str, challenge: str) -> str:
    """JWT-shaped like Dfns's (HS256 over a sandbox-only key); the server looks it up, never trusts it."""
    return _jwt({"sub": user_id, "challenge": challenge, "jti": secrets.token_hex(8)})


_INIT_FIELDS = {"userActionHttpMethod", "userActionHttpPath", "userActionPayload", "userActionServerKind"}


def init_action(ctx: Ctx) -> Reply:
    body = ctx.body()
    unknown = set(body) - _INIT_FIELDS
    if unknown:
        raise bad_request("unknown fields", fields=sorted(unknown))
    method, path, payload = (
        body.get(k) for k in ("userActionHttpMethod", "userActionHttpPath", "userActionPayload")
    )
    if method not in {"POST", "PUT", "DELETE", "GET"}:
        raise bad_request(
            "userActionHttpMethod must be POST, PUT, DELETE or GET", field="userActionHttpMethod"
        )
    if not isinstance(path, str) or not path:
        raise bad_request("userActionHttpPath is required", field="userActionHttpPath")
    if not isinstance(payload, str):
        raise bad_request("userActionPayload must be a string", field="userActionPayload")
    if body.get("userActionServerKind", "Api") != "Api":
        raise bad_request("userActionServerKind must be Api", field="userActionServerKind")
    challenge = _b64url(secrets.token_bytes(32))
    identifier = _challenge_identifier(ctx.me.user_id, challenge)
    ctx.sb.store.challenges[identifier] = Challenge(
        ctx.me.user_id, method, path, payload, challenge, ctx.sb.clock.now() + CHALLENGE_TTL
    )
    credentials = [{"type": "public-key", "id": c.cred_id} for c in ctx.me.credentials.values() if c.active]
    return ok(
        {
            "challenge": challenge,
            "challengeIdentifier": identifier,
            "allowCredentials": {"key": credentials, "webauthn": []},
            "supportedCredentialKinds": [{"kind": "Key", "factor": "first", "requiresSecondFactor": False}],
            "userVerification": "required",
            "attestation": "direct",
            "externalAuthenticationUrl": "",
            "rp": {"id": "sandbox.dfns.local", "name": "Dfns sandbox"},
        }
    )


def _assertion(body: Json) -> tuple[str, bytes, bytes]:
    factor = body.get("firstFactor")
    if not isinstance(factor, dict) or factor.get("kind") != "Key":
        raise bad_request("firstFactor must be a Key credential assertion", field="firstFactor")
    assertion = factor.get("credentialAssertion")
    if not isinstance(assertion, dict):
        raise bad_request("firstFactor.credentialAssertion is required")
    cred_id, client_data, signature = (assertion.get(k) for k in ("credId", "clientData", "signature"))
    if not all(isinstance(v, str) and v for v in (cred_id, client_data, signature)):
        raise bad_request("credId, clientData and signature are required strings")
    assert isinstance(cred_id, str)
    assert isinstance(client_data, str)
    assert isinstance(signature, str)
    try:
        return cred_id, _unb64url(client_data), _unb64url(signature)
    except (binascii.Error, ValueError) as exc:
        raise forbidden(INVALID_SIGNATURE) from exc


def complete_action(ctx: Ctx) -> Reply:
    body = ctx.body()
    store, now = ctx.sb.store, ctx.sb.clock.now()
    record = store.challenges.get(str(body.get("challengeIdentifier")))
    if record is None or record.used or record.expires_at <= now or record.user_id != ctx.me.user_id:
        raise bad_request("Challenge token is not valid.")
    record.used = True  # single use, whatever the outcome of the verification below
    cred_id, client_data, signature = _assertion(body)
    credential = ctx.me.credentials.get(cred_id)
    if credential is None or not credential.active:
        raise forbidden(INVALID_SIGNATURE, reason="unknown credential")
    try:
        data = json.loads(client_data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise forbidden(INVALID_SIGNATURE, reason="clientData is not JSON") from exc
    if (
        not isinstance(data, dict)
        or data.get("type") != "key.get"
        or data.get("challenge") != record.challenge
    ):
        raise forbidden(INVALID_SIGNATURE, reason="clientData does not carry this challenge")
    if not verify_signature(credential.public_key_pem, signature, client_data):
        raise forbidden(INVALID_SIGNATURE, reason="signature does not verify")
    token = "ua." + secrets.token_urlsafe(40)
    assertion = body["firstFactor"]["credentialAssertion"]
    store.user_actions[token] = UserAction(
        ctx.me.user_id,
        cred_id,
        record.method,
        record.path,
        record.payload,
        now + USER_ACTION_TTL,
        token=token,
        date_signed=now,
        client_data=assertion["clientData"],
        signature=assertion["signature"],
        challenge=record.challenge,
    )
    return ok({"userAction": token})


def consume_user_action(ctx: Ctx, route: Route) -> AuditRow:
    """Check X-DFNS-USERACTION against this exact request, burn it, and log the action (§6)."""
    store, now = ctx.sb.store, ctx.sb.clock.now()
    action = store.user_actions.get(ctx.request.headers.get("X-DFNS-USERACTION", ""))
    if action is None or action.user_id != ctx.me.user_id:
        raise forbidden(INVALID_SIGNATURE)
    if action.used:
        raise bad_request("user action has already been used")
    action.used = True
    if action.expires_at <= now:
        raise forbidden(INVALID_SIGNATURE, reason="user action expired")
    if action.method != ctx.request.method or action.path != ctx.request.path:
        raise forbidden(INVALID_SIGNATURE, reason="user action was signed for another method or path")
    if action.payload.encode() != ctx.raw:
        raise forbidden(INVALID_SIGNATURE, reason="request body differs from the signed userActionPayload")
    row = AuditRow(
        random_id("al"),
        now,
        ctx.me.user_id,
        ctx.me.username,
        action.cred_id,
        f"{ctx.request.method} {ctx.request.path}",  # concrete: which wallet, policy or approval
        action=action,
        safe=route.audit_safe,
    )
    store.audit.append(row)
    store.audit_by_id[row.id] = row
    return row


ROUTES = [
    Route("POST", "/auth/action/init", init_action),
    Route("POST", "/auth/action", complete_action),
]
