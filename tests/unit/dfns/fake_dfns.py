"""An in-memory Dfns for client tests, served through ``httpx.MockTransport`` (no sockets).

It plays the user-action protocol for real: issues challenges, verifies the client's signature with
the credential's public key over the exact clientData bytes, and accepts the real call only when its
method, path and body bytes equal what was declared at init. Responses of other routes are scripted.
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from managed_accounts.dfns.signing import b64url, b64url_decode

CRED_ID = "cr-test1-abcde-0123456789abcd"
TOKEN = "tok-service-account-secret"

Scripted = httpx.Response | Exception


def verify(public_key: Any, signature: bytes, data: bytes) -> None:
    """Raises InvalidSignature unless ``signature`` is the right one for ``data``."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise TypeError(type(public_key))


def dfns_error(status: int, message: str, *, error_id: str = "err-1", **details: Any) -> httpx.Response:
    body = {"error": {"id": error_id, "status": status, "message": message, "details": details}}
    return httpx.Response(status, json=body)


@dataclass
class Seen:
    method: str
    path: str
    query: str
    content: bytes
    headers: httpx.Headers


@dataclass
class FakeDfns:
    public_key: Any
    cred_id: str = CRED_ID
    token: str = TOKEN
    allowed_cred_ids: list[str] | None = None
    scripts: dict[tuple[str, str], deque[Scripted]] = field(default_factory=dict)
    init_failures: deque[Scripted] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    inits: list[dict[str, Any]] = field(default_factory=list)
    client_data: list[bytes] = field(default_factory=list)
    user_actions_used: list[str] = field(default_factory=list)
    _challenges: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    _actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _issued: int = 0

    def script(self, method: str, path: str, *responses: Scripted) -> None:
        """Answers for ``method path`` in order; the last one repeats."""
        self.scripts[(method, path)] = deque(responses)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]  # as on the wire, still quoted
        seen = Seen(request.method, raw_path, request.url.query.decode(), request.read(), request.headers)
        self.seen.append(seen)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return dfns_error(401, "token missing or invalid")
        if seen.path == "/auth/action/init":
            return self._init(seen)
        if seen.path == "/auth/action":
            return self._action(seen)
        if seen.method != "GET":
            refused = self._check_user_action(seen)
            if refused is not None:
                return refused
        queue = self.scripts.get((seen.method, seen.path))
        if not queue:
            return dfns_error(404, f"no script for {seen.method} {seen.path}")
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _init(self, seen: Seen) -> httpx.Response:
        if self.init_failures:
            failure = self.init_failures.popleft()
            if isinstance(failure, Exception):
                raise failure
            return failure
        body = json.loads(seen.content)
        self.inits.append(body)
        challenge = b64url(secrets.token_bytes(32))
        identifier = f"chid-{len(self.inits)}"
        self._challenges[identifier] = (challenge, body)
        allowed = self.allowed_cred_ids if self.allowed_cred_ids is not None else [self.cred_id]
        return httpx.Response(
            200,
            json={
                "challenge": challenge,
                "challengeIdentifier": identifier,
                "allowCredentials": {
                    "key": [{"type": "public-key", "id": c} for c in allowed],
                    "webauthn": [],
                },
                "supportedCredentialKinds": [
                    {"kind": "Key", "factor": "first", "requiresSecondFactor": False}
                ],
                "userVerification": "required",
                "attestation": "direct",
            },
        )

    def _action(self, seen: Seen) -> httpx.Response:
        body = json.loads(seen.content)
        challenge, init = self._challenges.pop(body["challengeIdentifier"], (None, None))
        if challenge is None or init is None:
            return dfns_error(400, "Challenge token is not valid.")
        assertion = body["firstFactor"]["credentialAssertion"]
        data = b64url_decode(assertion["clientData"])
        self.client_data.append(data)
        parsed = json.loads(data)
        if (
            body["firstFactor"]["kind"] != "Key"
            or assertion["credId"] != self.cred_id
            or parsed != {"type": "key.get", "challenge": challenge}
        ):
            return dfns_error(403, "user action signature is missing or invalid")
        verify(self.public_key, b64url_decode(assertion["signature"]), data)
        self._issued += 1
        token = f"ua-{self._issued}"
        self._actions[token] = init
        return httpx.Response(200, json={"userAction": token})

    def _check_user_action(self, seen: Seen) -> httpx.Response | None:
        token = seen.headers.get("x-dfns-useraction", "")
        init = self._actions.pop(token, None)  # single use
        if init is None:
            return dfns_error(403, "user action signature is missing or invalid")
        self.user_actions_used.append(token)
        declared = (init["userActionHttpMethod"], init["userActionHttpPath"], init["userActionPayload"])
        if declared != (seen.method, seen.path, seen.content.decode("utf-8")):
            return dfns_error(403, "user action does not match the request")
        return None
