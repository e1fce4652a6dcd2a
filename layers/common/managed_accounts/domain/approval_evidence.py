"""Verifying an approval decision from the officer's signed action (GET /accounts/me/audit/{id}/verification).

The decision entry carries what ``GET /auth/action/logs/{id}`` returned for the officer's signed
``POST /v2/policy-approvals/{approvalId}/decisions``: the credential's public key, the clientData the
officer's key signed and the signature (plus authenticatorData for a passkey). It verifies when:
1. the signed action is this decision: the audit log's user is the officer who decided, and its action
   (when Dfns names it) is a decision on this approval;
2. the clientData is a ``key.get`` (or ``webauthn.get``) assertion whose challenge is the one Dfns
   issued for that action;
3. the signature verifies under the credential's public key over the clientData (Key credentials sign
   clientData itself; passkeys sign authenticatorData ‖ SHA-256(clientData)).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field

from managed_accounts.domain.ports import SignatureVerifier
from managed_accounts.domain.report_models import DECISION_KIND, AuditEntry, DecisionEvidence

ASSERTION_TYPES = frozenset({"key.get", "webauthn.get"})


@dataclass(frozen=True, slots=True)
class Verification:
    entry_id: str
    verified: bool
    reason: str
    audit_log_id: str | None = None
    signer_id: str | None = None
    credential_id: str | None = None
    checks: dict[str, bool] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64url(text: str | None, what: str) -> bytes:
    if not text:
        raise _Refused(f"the signed action has no {what}")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _Refused(f"the {what} is not base64url") from None


def _challenge(client_data: bytes) -> str:
    try:
        data = json.loads(client_data)
    except (UnicodeDecodeError, ValueError):
        raise _Refused("the clientData is not JSON") from None
    if not isinstance(data, dict) or data.get("type") not in ASSERTION_TYPES:
        raise _Refused("the clientData is not a credential assertion (type key.get or webauthn.get)")
    challenge = data.get("challenge")
    if not isinstance(challenge, str) or not challenge:
        raise _Refused("the clientData carries no challenge")
    return challenge


def _same_action(entry: AuditEntry, evidence: DecisionEvidence) -> None:
    if evidence.user_id and entry.actor_id and evidence.user_id != entry.actor_id:
        raise _Refused("the signed action is another user's, not the deciding officer's")
    action = evidence.action
    if action and (entry.approval_id is None or entry.approval_id not in action or "decisions" not in action):
        raise _Refused("the signed action is not a decision on this approval")


def _check(
    entry: AuditEntry, evidence: DecisionEvidence, verifier: SignatureVerifier, checks: dict[str, bool]
) -> None:
    _same_action(entry, evidence)
    checks["action"] = True
    client_data = _b64url(evidence.client_data, "clientData")
    signature = _b64url(evidence.signature, "signature")
    if not evidence.public_key:
        raise _Refused("the signed action names no credential public key")
    challenge = _challenge(client_data)
    if not evidence.challenge:
        raise _Refused("Dfns's record of the action names no challenge: the signature cannot be tied to it")
    checks["challenge"] = challenge == evidence.challenge
    if not checks["challenge"]:
        raise _Refused("the signed challenge is not the one Dfns issued for this action")
    message = client_data
    if evidence.authenticator_data:
        message = (
            _b64url(evidence.authenticator_data, "authenticatorData") + hashlib.sha256(client_data).digest()
        )
    checks["signature"] = verifier.verify(evidence.public_key, signature, message)
    if not checks["signature"]:
        raise _Refused("the signature does not verify under the officer's credential public key")


def verify_decision(entry: AuditEntry, verifier: SignatureVerifier) -> Verification:
    evidence = entry.evidence

    def outcome(verified: bool, reason: str, checks: dict[str, bool] | None = None) -> Verification:
        return Verification(
            entry_id=entry.entry_id,
            verified=verified,
            reason=reason,
            audit_log_id=entry.dfns_audit_log_id,
            signer_id=entry.actor_id,
            credential_id=evidence.cred_id if evidence else None,
            checks=checks or {},
        )

    if entry.kind != DECISION_KIND:
        return outcome(False, "only approval decisions carry a signed action")
    if evidence is None or not evidence.retrieved:
        return outcome(
            False, (evidence.note if evidence else None) or "the officer's signed action is not on record yet"
        )
    checks: dict[str, bool] = {"action": False, "challenge": False, "signature": False}
    try:
        _check(entry, evidence, verifier, checks)
    except _Refused as refused:
        return outcome(False, refused.reason, checks)
    return outcome(True, "the officer's credential signed this decision's challenge", checks)
