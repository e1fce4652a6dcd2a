"""Verifying an approval decision from the officer's signed action (DFNS.md §6 signature material),
with keys these tests generate: Ed25519, ECDSA P-256 and secp256k1, RSA, and a passkey-style assertion."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from managed_accounts.dfns.assertions import CryptographySignatureVerifier
from managed_accounts.dfns.signing import b64url, b64url_decode
from managed_accounts.domain.approval_evidence import verify_decision
from managed_accounts.domain.report_models import DECISION_KIND, AuditEntry, DecisionEvidence, entry_id_for

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
OFFICER = "us-officer-1"
APPROVAL = "ap-12345-abcde-0123456789abcdef"
ACTION = f"POST /v2/policy-approvals/{APPROVAL}/decisions"
VERIFIER = CryptographySignatureVerifier()


def _key(kind: str) -> Any:
    if kind == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "P-256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _sign(key: Any, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return bytes(key.sign(data, padding.PKCS1v15(), hashes.SHA256()))


def _pem(key: Any) -> str:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return bytes(public).decode()


def signed_decision(
    kind: str = "Ed25519", *, passkey: bool = False, challenge: str = "chal-lenge_1"
) -> AuditEntry:
    """An officer's decision whose signed action a Key credential (or a passkey) really signed."""
    key = _key(kind)
    client_data = json.dumps(
        {"type": "webauthn.get" if passkey else "key.get", "challenge": challenge}, separators=(",", ":")
    ).encode()
    authenticator_data = hashlib.sha256(b"app.dfns.io").digest() + b"\x05\x00\x00\x00\x01"
    message = authenticator_data + hashlib.sha256(client_data).digest() if passkey else client_data
    evidence = DecisionEvidence(
        audit_log_id="al-1",
        user_id=OFFICER,
        username="compliance-officer-1",
        action=ACTION,
        challenge=challenge,
        cred_id="cr-officer",
        credential_kind="Fido2" if passkey else "Key",
        public_key=_pem(key),
        signature=b64url(_sign(key, message)),
        client_data=b64url(client_data),
        authenticator_data=b64url(authenticator_data) if passkey else None,
    )
    return AuditEntry(
        client_id="c1",
        entry_id=entry_id_for(AT, f"decision:{APPROVAL}:{OFFICER}"),
        occurred_at=AT,
        kind=DECISION_KIND,
        source="dfns",
        summary=f"Approval {APPROVAL} approved by a compliance officer",
        actor_id=OFFICER,
        approval_id=APPROVAL,
        dfns_audit_log_id="al-1",
        evidence=evidence,
    )


def _with_evidence(entry: AuditEntry, **changes: Any) -> AuditEntry:
    assert entry.evidence is not None
    return replace(entry, evidence=replace(entry.evidence, **changes))


def _flip_one_byte(text: str, index: int = 10) -> str:
    raw = bytearray(b64url_decode(text))
    raw[index] ^= 0x01
    return b64url(bytes(raw))


@pytest.mark.parametrize("kind", ["Ed25519", "P-256", "secp256k1", "RSA"])
def test_a_decision_signed_by_the_officers_key_verifies(kind: str) -> None:
    result = verify_decision(signed_decision(kind), VERIFIER)
    assert result.verified, result.reason
    assert result.checks == {"action": True, "challenge": True, "signature": True}
    assert (result.signer_id, result.credential_id, result.audit_log_id) == (OFFICER, "cr-officer", "al-1")


def test_a_passkey_assertion_verifies_over_authenticator_data_and_the_client_data_hash() -> None:
    result = verify_decision(signed_decision("P-256", passkey=True), VERIFIER)
    assert result.verified, result.reason


@pytest.mark.parametrize("kind", ["Ed25519", "P-256", "RSA"])
def test_a_signature_altered_by_one_byte_does_not_verify(kind: str) -> None:
    entry = signed_decision(kind)
    assert entry.evidence is not None
    assert entry.evidence.signature is not None
    tampered = _with_evidence(entry, signature=_flip_one_byte(entry.evidence.signature))

    result = verify_decision(tampered, VERIFIER)

    assert not result.verified
    assert result.checks["signature"] is False
    assert "does not verify" in result.reason


def test_altered_client_data_does_not_verify() -> None:
    entry = signed_decision()
    forged = b64url(json.dumps({"type": "key.get", "challenge": "chal-lenge_2"}).encode())
    result = verify_decision(_with_evidence(entry, client_data=forged, challenge="chal-lenge_2"), VERIFIER)
    assert not result.verified
    assert result.checks["signature"] is False


def test_a_challenge_dfns_did_not_issue_for_this_action_does_not_verify() -> None:
    result = verify_decision(
        _with_evidence(signed_decision(), challenge="another-actions-challenge"), VERIFIER
    )
    assert not result.verified
    assert result.checks["challenge"] is False
    assert "not the one Dfns issued" in result.reason


def test_without_dfns_naming_the_challenge_the_signature_cannot_be_tied_to_the_action() -> None:
    result = verify_decision(_with_evidence(signed_decision(), challenge=None), VERIFIER)
    assert not result.verified
    assert "names no challenge" in result.reason


def test_another_users_action_or_another_approvals_action_does_not_verify() -> None:
    by_someone_else = verify_decision(_with_evidence(signed_decision(), user_id="us-intruder"), VERIFIER)
    other_approval = verify_decision(
        _with_evidence(signed_decision(), action="POST /v2/policy-approvals/ap-other/decisions"), VERIFIER
    )
    assert not by_someone_else.verified
    assert "another user" in by_someone_else.reason
    assert not other_approval.verified
    assert "not a decision on this approval" in other_approval.reason


def test_a_decision_without_its_signed_action_on_record_is_not_verified() -> None:
    pending = verify_decision(replace(signed_decision(), evidence=None), VERIFIER)
    refused = verify_decision(
        replace(signed_decision(), evidence=DecisionEvidence("al-1", retrieved=False, note="Dfns said 403")),
        VERIFIER,
    )
    assert not pending.verified
    assert "not on record" in pending.reason
    assert (refused.verified, refused.reason) == (False, "Dfns said 403")


def test_only_decisions_are_verifiable_and_garbage_never_raises() -> None:
    other = replace(signed_decision(), kind="DestinationRequested")
    assert verify_decision(other, VERIFIER).reason == "only approval decisions carry a signed action"
    for broken in (
        {"signature": "***"},
        {"client_data": b64url(b"not json")},
        {"client_data": b64url(b'{"type":"webauthn.create","challenge":"chal-lenge_1"}')},
        {"public_key": "not a key"},
    ):
        assert not verify_decision(_with_evidence(signed_decision(), **broken), VERIFIER).verified
