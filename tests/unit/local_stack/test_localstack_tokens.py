"""The dev JWT checks behave as API Gateway's Cognito authorizer: only this stack's fresh ID tokens pass."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from local_stack.tokens import (
    ISSUER,
    Identity,
    InvalidToken,
    TokenVerifier,
    authorizer_claims,
    generate_key,
    issue_token,
    load_key,
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def verifier(key: rsa.RSAPrivateKey) -> TokenVerifier:
    return TokenVerifier(key.public_key())


def test_a_fresh_token_identifies_the_client(key, verifier):
    identity = verifier.verify(f"Bearer {issue_token(key, 'client-1')}")
    assert identity.client_id == "client-1"
    assert not identity.is_operator


def test_the_bare_token_without_bearer_is_accepted_like_api_gateway(key, verifier):
    assert verifier.verify(issue_token(key, "client-1")).client_id == "client-1"


def test_operators_carry_the_operators_group(key, verifier):
    identity = verifier.verify(f"Bearer {issue_token(key, 'ops-1', operator=True)}")
    assert identity.is_operator
    assert identity.groups == ("operators",)


def test_an_expired_token_is_refused(key, verifier):
    token = issue_token(key, "client-1", ttl_seconds=60, now=time.time() - 3600)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(f"Bearer {token}")


def test_a_token_signed_by_another_key_is_refused(verifier):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken, match=r"[Ss]ignature"):
        verifier.verify(f"Bearer {issue_token(other, 'client-1')}")


def test_a_token_from_another_issuer_is_refused(key, verifier):
    token = issue_token(key, "client-1", issuer="https://cognito-idp.eu-west-1.amazonaws.com/other-pool")
    with pytest.raises(InvalidToken, match="issuer"):
        verifier.verify(f"Bearer {token}")


def test_an_access_token_is_not_an_id_token(key, verifier):
    now = int(time.time())
    claims = {
        "sub": "c",
        "iss": ISSUER,
        "aud": "managed-accounts-local-client",
        "exp": now + 60,
        "token_use": "access",
    }
    with pytest.raises(InvalidToken, match="ID token"):
        verifier.verify(jwt.encode(claims, key, algorithm="RS256"))


def test_a_token_without_sub_is_refused(key, verifier):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "managed-accounts-local-client", "exp": now + 60, "token_use": "id"}
    with pytest.raises(InvalidToken):
        verifier.verify(jwt.encode(claims, key, algorithm="RS256"))


def test_an_unsigned_token_is_refused(verifier):
    claims = {"sub": "c", "iss": ISSUER, "token_use": "id", "exp": time.time() + 60}
    token = jwt.encode(claims, "", algorithm="none")
    with pytest.raises(InvalidToken):
        verifier.verify(token)


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"])
def test_missing_or_garbage_headers_are_refused(verifier, header):
    with pytest.raises(InvalidToken):
        verifier.verify(header)


def test_claims_reach_lambda_as_strings_like_a_rest_authorizer(key, verifier):
    identity = Identity(
        client_id="ops-1",
        groups=("operators",),
        claims={"sub": "ops-1", "token_use": "id", "iat": 1_700_000_000, "cognito:groups": ["operators"]},
    )
    claims = authorizer_claims(identity)
    assert claims["sub"] == "ops-1"
    assert claims["cognito:groups"] == "operators"
    assert claims["token_use"] == "id"
    assert claims["iat"] == "Tue Nov 14 22:13:20 UTC 2023"
    assert all(isinstance(v, str) for v in claims.values())


def test_the_key_written_to_the_state_folder_is_the_one_loaded_back(tmp_path):
    written = generate_key(tmp_path)
    loaded = load_key(tmp_path)
    token = issue_token(written, "client-1")
    assert TokenVerifier(loaded.public_key()).verify(token).client_id == "client-1"
    assert (tmp_path / "jwt-signing-key.pem").stat().st_mode & 0o077 == 0


def test_loading_without_a_stack_says_how_to_start_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="make run"):
        load_key(tmp_path)
