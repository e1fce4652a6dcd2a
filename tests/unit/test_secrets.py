"""Secrets Manager reads through moto: shapes, caching, forced refresh after rotation, no leaks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from managed_accounts import secrets
from managed_accounts.config import Settings
from managed_accounts.dfns.factory import build_dfns_client
from managed_accounts.secrets import SecretFormatError, get_dfns_credentials, get_webhook_secret
from moto import mock_aws

PEM = (
    ed25519.Ed25519PrivateKey.generate()
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)
CREDS = {"token": "tok-1", "credId": "cr-1", "privateKeyPem": PEM}


@pytest.fixture
def settings() -> Settings:
    return Settings(
        dfns_secret_name="test/dfns", webhook_secret_name="test/webhook", dfns_api_url="http://127.0.0.1:9"
    )


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    secrets.clear_cache()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")
    secrets.clear_cache()


def test_credentials_are_read_typed_and_never_shown(secretsmanager, settings: Settings) -> None:
    secretsmanager.create_secret(Name="test/dfns", SecretString=json.dumps(CREDS))

    creds = get_dfns_credentials(settings)

    assert creds.cred_id == "cr-1"
    assert creds.token.get_secret_value() == "tok-1"
    assert creds.private_key_pem.get_secret_value() == PEM
    assert "tok-1" not in repr(creds)
    assert "PRIVATE" not in repr(creds)


def test_values_are_cached_until_forced(secretsmanager, settings: Settings) -> None:
    secretsmanager.create_secret(Name="test/webhook", SecretString='{"secret": "s-1"}')
    assert get_webhook_secret(settings) == "s-1"

    secretsmanager.put_secret_value(SecretId="test/webhook", SecretString='{"secret": "s-2"}')

    assert get_webhook_secret(settings) == "s-1"  # cached
    assert get_webhook_secret(settings, force_fetch=True) == "s-2"
    assert get_webhook_secret(settings) == "s-2"
    secretsmanager.put_secret_value(SecretId="test/webhook", SecretString='{"secret": "s-3"}')
    secrets.clear_cache()
    assert get_webhook_secret(settings) == "s-3"


def test_a_misshapen_secret_is_reported_without_its_value(secretsmanager, settings: Settings) -> None:
    secretsmanager.create_secret(
        Name="test/dfns", SecretString=json.dumps({"token": "tok-1", "credId": "cr-1"})
    )
    secretsmanager.create_secret(Name="test/webhook", SecretString='{"secret": ""}')

    with pytest.raises(SecretFormatError) as caught:
        get_dfns_credentials(settings)
    assert "privateKeyPem" in str(caught.value)
    assert "tok-1" not in str(caught.value)
    with pytest.raises(SecretFormatError):
        get_webhook_secret(settings)


def test_the_factory_builds_a_working_client_from_the_secret(secretsmanager, settings: Settings) -> None:
    secretsmanager.create_secret(Name="test/dfns", SecretString=json.dumps(CREDS))
    seen: list[httpx.Request] = []

    def dfns(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "wa-1", "network": "EthereumSepolia"})

    with (
        httpx.Client(transport=httpx.MockTransport(dfns)) as http,
        build_dfns_client(settings, http_client=http) as client,
    ):
        assert client.get_wallet("wa-1").id == "wa-1"

    assert str(seen[0].url) == "http://127.0.0.1:9/wallets/wa-1"
    assert seen[0].headers["authorization"] == "Bearer tok-1"
    assert seen[0].headers["user-agent"] == "managed-accounts/local"


def test_the_local_stack_endpoint_is_used_with_a_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    secrets.clear_cache()

    provider = secrets._provider("http://127.0.0.1:3002")

    assert provider.client.meta.endpoint_url == "http://127.0.0.1:3002"
    assert provider.client.meta.region_name == "us-east-1"
    secrets.clear_cache()
