"""Builds the service account's ``DfnsClient`` from settings and Secrets Manager."""

from __future__ import annotations

import httpx

from managed_accounts.config import Settings
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.signing import UserActionSigner
from managed_accounts.secrets import DfnsCredentials, get_dfns_credentials


def build_dfns_client(
    settings: Settings,
    credentials: DfnsCredentials | None = None,
    *,
    http_client: httpx.Client | None = None,
) -> DfnsClient:
    """A client for ``settings.dfns_api_url`` acting as the service account.

    ``credentials`` default to the secret ``settings.dfns_secret_name`` (cached). Build one client per
    warm Lambda and reuse it: it keeps its HTTP connections open.
    """
    creds = credentials if credentials is not None else get_dfns_credentials(settings)
    signer = UserActionSigner(creds.cred_id, creds.private_key_pem.get_secret_value())
    return DfnsClient(
        str(settings.dfns_api_url),
        creds.token.get_secret_value(),
        signer,
        http_client=http_client,
        timeout=settings.dfns_timeout_seconds,
        deadline=settings.dfns_deadline_seconds,
        user_agent=f"{settings.service_name}/{settings.stage}",
    )
