"""The real composition of both webhook handlers, on moto: secrets from Secrets Manager, the de-dup store
and repository on DynamoDB, the Dfns client built lazily (no Dfns call is made here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from managed_accounts import secrets, wiring
from managed_accounts.api.webhook_signature import sign
from managed_accounts.config import get_settings
from managed_accounts.data.schema import main_table_definition
from managed_accounts.domain.reconciler import Reconciler

from functions.webhooks import handler as webhook_function
from functions.webhooks import reconciler as reconciler_function
from tests.fakes.apigw import FakeLambdaContext
from tests.fakes.webhook_events import api_event, compact

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

SECRET = "whs-wiring-secret"


def _clear_caches() -> None:
    get_settings.cache_clear()
    secrets.clear_cache()
    wiring.reset()


def _private_key_pem() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """One moto account for the module: the table and both secrets the functions read."""
    import boto3
    from moto import mock_aws

    environment = {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "TABLE_NAME": "wiring-test",
        "WEBHOOK_SECRET_NAME": "wiring/webhook",
        "DFNS_SECRET_NAME": "wiring/dfns",
    }
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in environment.items():
            env.setenv(name, value)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        _clear_caches()
        boto3.client("dynamodb").create_table(**main_table_definition("wiring-test"))
        manager = boto3.client("secretsmanager")
        manager.create_secret(Name="wiring/webhook", SecretString=json.dumps({"secret": SECRET}))
        credentials = {"token": "t", "credId": "cr-1", "privateKeyPem": _private_key_pem()}
        manager.create_secret(Name="wiring/dfns", SecretString=json.dumps(credentials))
        yield manager
    _clear_caches()


def _post(raw: bytes, signature: str) -> int:
    return int(webhook_function.handler(api_event(raw, signature), FakeLambdaContext())["statusCode"])


def test_an_unauthenticated_request_builds_no_adapters(aws: Any) -> None:
    wiring.reset()
    raw = compact({"id": "whe-1", "kind": "key.created", "timestampSent": 0, "data": {}})
    assert _post(raw, sign(raw, "guessed")) == 401
    assert wiring.webhook_receiver.cache_info().currsize == 1  # the secret was read, nothing else
    assert wiring.adapters.cache_info().currsize == 0


def test_an_authenticated_event_is_handled_over_the_real_adapters(aws: Any) -> None:
    import time

    for kind, data in [("key.created", {}), ("wallet.tags.modified", {"walletId": "wa-unknown"})]:
        raw = compact({"id": "whe-1", "kind": kind, "timestampSent": int(time.time()), "data": data})
        assert _post(raw, sign(raw, SECRET)) == 200
    assert wiring.adapters.cache_info().currsize == 1  # built once the tags event needed the repository


def test_the_reconciler_runs_on_an_empty_estate_and_returns_its_summary(aws: Any) -> None:
    summary = reconciler_function.handler({"detail-type": "Scheduled Event"}, FakeLambdaContext())
    assert summary["failures"] == 0
    assert summary["approvalsChecked"] == 0
    assert isinstance(wiring.reconciler(), Reconciler)
