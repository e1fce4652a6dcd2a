"""Secrets Manager access for the Dfns service-account credentials and the webhook secret.

Values are cached per warm Lambda (Powertools parameters, ``max_age``) so a busy function does not
read Secrets Manager on every request. After a rotation, call with ``force_fetch=True`` (e.g. when
Dfns answers 401) or ``clear_cache()``. Secret values are ``SecretStr``: ``repr`` never shows them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from managed_accounts.config import Settings, aws_client_kwargs

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

SECRET_MAX_AGE_SECONDS = 300


class SecretFormatError(ValueError):
    """A secret exists but does not have the expected JSON shape (its value is never quoted)."""


class DfnsCredentials(BaseModel):
    """The service account's long-lived token and its signing key (``{token, credId, privateKeyPem}``)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    token: SecretStr = Field(min_length=1)
    cred_id: str = Field(alias="credId", min_length=1)
    private_key_pem: SecretStr = Field(alias="privateKeyPem", min_length=1)


class WebhookSecret(BaseModel):
    """The webhook's HMAC secret (``{secret}``), returned by Dfns once at webhook creation."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    secret: SecretStr = Field(min_length=1)


@lru_cache(maxsize=4)
def _provider(endpoint_url: str | None) -> SecretsProvider:
    """One provider (and so one cache) per endpoint, built on first use to keep cold starts short."""
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    client = boto3.client("secretsmanager", **aws_client_kwargs(endpoint_url))
    return SecretsProvider(boto3_client=client)


def _read_json(settings: Settings, name: str, *, force_fetch: bool) -> Any:
    return _provider(settings.aws_endpoint_url).get(
        name, max_age=SECRET_MAX_AGE_SECONDS, transform="json", force_fetch=force_fetch
    )


def get_dfns_credentials(settings: Settings, *, force_fetch: bool = False) -> DfnsCredentials:
    """The service-account credentials from ``settings.dfns_secret_name`` (cached ``max_age`` seconds)."""
    raw = _read_json(settings, settings.dfns_secret_name, force_fetch=force_fetch)
    try:
        return DfnsCredentials.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
        raise SecretFormatError(f"secret {settings.dfns_secret_name} lacks or misformats {fields}") from None


def get_webhook_secret(settings: Settings, *, force_fetch: bool = False) -> str:
    """The webhook HMAC secret from ``settings.webhook_secret_name`` (cached ``max_age`` seconds)."""
    raw = _read_json(settings, settings.webhook_secret_name, force_fetch=force_fetch)
    try:
        return WebhookSecret.model_validate(raw).secret.get_secret_value()
    except ValidationError:
        raise SecretFormatError(f"secret {settings.webhook_secret_name} has no usable 'secret'") from None


def clear_cache() -> None:
    """Forget every cached value, e.g. after rotating a secret or between tests.

    Dropping the providers drops their caches; the next read builds a fresh one.
    """
    _provider.cache_clear()
