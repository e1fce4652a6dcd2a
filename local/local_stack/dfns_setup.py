"""The Dfns side of the local stack: the sandbox, its service account and officer, and the bootstrap.

The service account gets a fresh Ed25519 key at every start; the sandbox only ever sees its public
key (``POST /sandbox/service-accounts``). The bootstrap is the product's own
(``managed_accounts.bootstrap``) run with the product's client, exactly as the deploy runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from dfns_sandbox.server import SandboxServer
from managed_accounts.config import Settings

if TYPE_CHECKING:
    from managed_accounts.bootstrap import BootstrapResult


@dataclass(frozen=True, slots=True)
class DfnsIdentity:
    """A Dfns user's credentials: a service account's, or the compliance officer's."""

    user_id: str
    cred_id: str
    token: str = field(repr=False)
    private_key_pem: str = field(repr=False)

    def secret_value(self) -> dict[str, str]:
        """The Secrets Manager JSON the product reads (``{token, credId, privateKeyPem}``)."""
        return {"token": self.token, "credId": self.cred_id, "privateKeyPem": self.private_key_pem}


def start_sandbox(port: int, *, realtime: bool = True) -> SandboxServer:
    """The embedded Dfns sandbox on loopback (``port=0``: any free port), started."""
    return SandboxServer(host="127.0.0.1", port=port, realtime=realtime).start()


def _ed25519_key_pair() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def register_service_account(server: SandboxServer, *, name: str) -> DfnsIdentity:
    """A new service account with a fresh Ed25519 key; the sandbox only ever sees the public key."""
    private_pem, public_pem = _ed25519_key_pair()
    created = server.register_service_account(public_pem, name)
    return DfnsIdentity(
        user_id=created.user_id,
        cred_id=created.cred_id,
        token=created.access_token,
        private_key_pem=private_pem,
    )


def officer_credentials(server: SandboxServer) -> DfnsIdentity:
    """The sandbox's compliance officer (a human user with a Key credential of their own)."""
    officer = server.officer
    return DfnsIdentity(
        user_id=officer.user_id,
        cred_id=officer.cred_id,
        token=officer.token,
        private_key_pem=officer.private_key_pem,
    )


def run_bootstrap(settings: Settings, *, webhook_url: str) -> dict[str, str]:
    """The product's Dfns bootstrap with the service-account secret; the webhook secret goes to
    ``settings.webhook_secret_name``. Returns the result as flat strings."""
    import boto3
    from managed_accounts.bootstrap import SecretsManagerWebhookSecrets, bootstrap_dfns
    from managed_accounts.dfns.factory import build_dfns_client
    from managed_accounts.secrets import get_dfns_credentials

    secretsmanager = boto3.client("secretsmanager", endpoint_url=settings.aws_endpoint_url)
    webhook_secrets = SecretsManagerWebhookSecrets(secretsmanager, settings.webhook_secret_name)
    client = build_dfns_client(settings, get_dfns_credentials(settings, force_fetch=True))
    try:
        result = bootstrap_dfns(
            client,
            settings,
            webhook_url=webhook_url,
            store_webhook_secret=webhook_secrets.store,
            load_webhook_secret=webhook_secrets.load,
        )
    finally:
        client.close()
    _record_shared_policies(settings, result)
    return result.as_dict()


def _record_shared_policies(settings: Settings, result: BootstrapResult) -> None:
    """What the deploy's bootstrap does too: the shared policy ids go to the table (restrictions view)."""
    from datetime import UTC, datetime

    import boto3
    from managed_accounts.data.audit_repository import DynamoPolicyRegistry
    from managed_accounts.shared_policies import shared_policy_ids

    table = boto3.resource("dynamodb", **settings.aws_client_kwargs()).Table(settings.table_name)
    DynamoPolicyRegistry(table).record_shared_policies(shared_policy_ids(result, settings, datetime.now(UTC)))
