"""The service account's credentials, the webhook secret, and the KMS key (rotated yearly) that encrypts
them and the product's SNS topics."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, SecretValue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constants import SERVICE_NAME
from infra.nag import acknowledge

# The deploy creates both secrets empty; the operator fills the first, the Dfns bootstrap the second.
_PLACEHOLDER = "{}"


def allow_service_to_publish_encrypted(key: kms.IKey, service: str) -> None:
    """An AWS service (EventBridge, CloudWatch alarms) may publish to a topic encrypted with ``key``
    only if the key lets it encrypt."""
    key.grant(iam.ServicePrincipal(service), "kms:Decrypt", "kms:GenerateDataKey*")


class SecretsConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        self.key = kms.Key(
            self,
            "Key",
            description=f"{SERVICE_NAME} {stage}: Dfns secrets and notification topics",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        # {"token", "credId", "privateKeyPem"} of the Dfns service account (docs/DEPLOY.md).
        self.dfns_secret = secretsmanager.Secret(
            self,
            "DfnsServiceAccount",
            secret_name=f"{SERVICE_NAME}/{stage}/dfns-service-account",
            description="Dfns service account: token, credId, privateKeyPem (filled by the operator)",
            encryption_key=self.key,
            secret_string_value=SecretValue.unsafe_plain_text(_PLACEHOLDER),
            removal_policy=removal,
        )
        # {"secret", "webhookId"}: written by the bootstrap when it registers the Dfns webhook.
        self.webhook_secret = secretsmanager.Secret(
            self,
            "DfnsWebhook",
            secret_name=f"{SERVICE_NAME}/{stage}/dfns-webhook",
            description="Dfns webhook HMAC secret (written by the Dfns bootstrap)",
            encryption_key=self.key,
            secret_string_value=SecretValue.unsafe_plain_text(_PLACEHOLDER),
            removal_policy=removal,
        )
        acknowledge(
            self.dfns_secret,
            "AwsSolutions-SMG4",
            "A Dfns service-account token is issued through a signed user action of a human Dfns "
            "administrator; no Lambda can mint one, so rotation is an operator procedure (DEPLOY.md).",
        )
        acknowledge(
            self.webhook_secret,
            "AwsSolutions-SMG4",
            "Dfns shows a webhook secret only when the webhook is created; rotating means recreating the "
            "webhook, which the bootstrap does when the stored secret is cleared (DEPLOY.md).",
        )
