from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from managed_accounts.dfns.signing import (
    SigningError,
    UserActionSigner,
    b64url,
    b64url_decode,
    client_data,
    serialize_body,
)

from tests.unit.dfns.conftest import KEY_TYPES, pem_of
from tests.unit.dfns.fake_dfns import CRED_ID, verify


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_signature_verifies_with_the_public_key_over_the_exact_client_data(
    key_type: str, private_keys: dict[str, Any]
) -> None:
    key = private_keys[key_type]
    signer = UserActionSigner(CRED_ID, pem_of(key))

    assertion = signer.sign("Y2hhbGxlbmdl-_x")

    assert signer.key_type == key_type
    data = b64url_decode(assertion.client_data)
    assert data == b'{"challenge":"Y2hhbGxlbmdl-_x","type":"key.get"}'
    verify(key.public_key(), b64url_decode(assertion.signature), data)  # raises if wrong
    assert "=" not in assertion.client_data + assertion.signature
    assert assertion.first_factor() == {
        "kind": "Key",
        "credentialAssertion": {
            "credId": CRED_ID,
            "clientData": assertion.client_data,
            "signature": assertion.signature,
        },
    }


def test_ecdsa_signatures_are_der_encoded(private_keys: dict[str, Any]) -> None:
    signature = b64url_decode(
        UserActionSigner(CRED_ID, pem_of(private_keys["ECDSA-P256"])).sign("c").signature
    )
    assert signature[0] == 0x30  # ASN.1 SEQUENCE, not raw r||s
    assert len(signature) != 64


def test_init_response_is_answered_with_the_challenge_identifier(private_keys: dict[str, Any]) -> None:
    signer = UserActionSigner(CRED_ID, pem_of(private_keys["Ed25519"]))
    init = {
        "challenge": "abc",
        "challengeIdentifier": "jwt.id.x",
        "allowCredentials": {"key": [{"type": "public-key", "id": CRED_ID}], "webauthn": []},
    }

    body = signer.sign_init_response(init)

    assert body["challengeIdentifier"] == "jwt.id.x"
    assertion = body["firstFactor"]["credentialAssertion"]
    assert json.loads(b64url_decode(assertion["clientData"]))["challenge"] == "abc"


def test_a_credential_not_allowed_for_the_challenge_is_refused(private_keys: dict[str, Any]) -> None:
    signer = UserActionSigner(CRED_ID, pem_of(private_keys["Ed25519"]))
    init = {
        "challenge": "abc",
        "challengeIdentifier": "x",
        "allowCredentials": {"key": [{"type": "public-key", "id": "cr-other"}]},
    }
    with pytest.raises(SigningError, match="not allowed"):
        signer.sign_init_response(init)


def test_no_key_list_means_no_restriction(private_keys: dict[str, Any]) -> None:
    signer = UserActionSigner(CRED_ID, pem_of(private_keys["Ed25519"]))
    body = signer.sign_init_response({"challenge": "abc", "challengeIdentifier": "x"})
    assert body["firstFactor"]["credentialAssertion"]["credId"] == CRED_ID


def test_incomplete_init_response_is_refused(private_keys: dict[str, Any]) -> None:
    signer = UserActionSigner(CRED_ID, pem_of(private_keys["Ed25519"]))
    with pytest.raises(SigningError):
        signer.sign_init_response({"challenge": "abc"})
    with pytest.raises(SigningError):
        signer.sign("")


def test_repr_never_shows_the_key(private_keys: dict[str, Any]) -> None:
    pem = pem_of(private_keys["ECDSA-secp256k1"])
    signer = UserActionSigner(CRED_ID, pem)
    assert repr(signer) == f"UserActionSigner(cred_id='{CRED_ID}', key_type='ECDSA-secp256k1')"
    assert "PRIVATE" not in repr(signer)


@pytest.mark.parametrize(
    "pem",
    [
        pem_of(ec.generate_private_key(ec.SECP384R1())),
        pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    ],
    ids=["p384", "rsa1024", "garbage"],
)
def test_unusable_keys_are_rejected_without_quoting_them(pem: str) -> None:
    with pytest.raises(SigningError) as caught:
        UserActionSigner(CRED_ID, pem)
    assert "not a key" not in str(caught.value)


def test_missing_credential_id_is_rejected(private_keys: dict[str, Any]) -> None:
    with pytest.raises(SigningError):
        UserActionSigner("", pem_of(private_keys["Ed25519"]))


def test_bodies_are_compact_utf8_and_empty_bodies_are_empty() -> None:
    assert serialize_body({"name": "Café 東京", "n": 1}) == '{"name":"Café 東京","n":1}'.encode()
    assert serialize_body(None) == b""
    assert client_data("c") == b'{"challenge":"c","type":"key.get"}'
    assert b64url(b"\xff\xfe") == "__4"
    assert b64url_decode("__4") == b"\xff\xfe"
