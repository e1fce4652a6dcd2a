"""The one-time Dfns set-up, run on every deploy (a CloudFormation custom resource) and by the local stack.

It creates, if missing, looking first by name so that a re-run changes nothing:
- the governance policy: ``Policies:Modify`` + ``AlwaysTrigger`` + ``RequestApproval`` to the compliance
  officers, no filters, so every policy change (every client's whitelist included) needs a human;
- one ``Block`` policy per limit of each limit profile, scoped by the wallet tag ``limits:<profile>``;
- the webhook for the product's endpoint, whose secret (shown by Dfns only once) goes to
  ``store_webhook_secret``.

A policy that exists but differs from the configuration is updated; under governance that update is a
change request the compliance officer approves in Dfns, which is what a limit change deserves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from managed_accounts.config import LimitProfile, Settings
from managed_accounts.dfns.models import (
    AlwaysTriggerRule,
    AmountLimitConfiguration,
    AmountLimitRule,
    AmountVelocityConfiguration,
    AmountVelocityRule,
    BlockAction,
    CountVelocityConfiguration,
    CountVelocityRule,
    CreateWebhookBody,
    Policy,
    PolicyBody,
    PolicyFilters,
    TagsFilter,
    Webhook,
)
from managed_accounts.domain.compliance import compliance_approval
from managed_accounts.domain.ports import ChangeRequestPending, DfnsGateway
from managed_accounts.observability import logger

# The event kinds the webhook endpoint handles (functions/webhooks). Dfns documents no wildcard other
# than "*", which would flood the endpoint with kinds it ignores.
WEBHOOK_EVENTS: tuple[str, ...] = (
    "policy.approval.pending",
    "policy.approval.resolved",
    "wallet.transfer.requested",
    "wallet.transfer.broadcasted",
    "wallet.transfer.confirmed",
    "wallet.transfer.failed",
    "wallet.transfer.rejected",
    "wallet.tags.modified",
)

PolicyOutcomeKind = Literal["created", "unchanged", "updated", "change_requested", "change_pending"]
WebhookOutcomeKind = Literal["created", "recreated", "unchanged"]


class BootstrapRefused(ValueError):
    """The configuration would produce a dangerous Dfns set-up; nothing was sent to Dfns."""


class BootstrapGateway(DfnsGateway, Protocol):
    """The Dfns calls bootstrap needs: the domain port plus webhook management (``DfnsClient`` has both)."""

    def create_webhook(self, body: CreateWebhookBody) -> Webhook: ...
    def iter_webhooks(self, *, page_size: int = 100) -> Iterator[Webhook]: ...
    def delete_webhook(self, webhook_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    name: str
    policy_id: str
    outcome: PolicyOutcomeKind


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    governance_policy_id: str
    policies: list[PolicyOutcome] = field(default_factory=list)
    webhook_id: str = ""
    webhook_outcome: WebhookOutcomeKind = "unchanged"

    def as_dict(self) -> dict[str, str]:
        """Flat string values: what a CloudFormation custom resource may return as ``Data``."""
        data = {
            "GovernancePolicyId": self.governance_policy_id,
            "WebhookId": self.webhook_id,
            "WebhookOutcome": self.webhook_outcome,
        }
        data.update({f"Policy:{p.name}": f"{p.policy_id} {p.outcome}" for p in self.policies})
        return data

    def summary(self) -> dict[str, str]:
        """A bounded digest (a custom resource's whole response must stay under 4 KB): ids and counts."""
        counts = Counter(p.outcome for p in self.policies)
        return {
            "GovernancePolicyId": self.governance_policy_id,
            "WebhookId": self.webhook_id,
            "WebhookOutcome": self.webhook_outcome,
            "Policies": " ".join(f"{outcome}={n}" for outcome, n in sorted(counts.items())),
        }


# --- the desired policies ---------------------------------------------------------------------------


def governance_policy_name(settings: Settings) -> str:
    return f"{settings.service_name}:governance"


def governance_policy(settings: Settings) -> PolicyBody:
    """Every policy change waits for one compliance officer; the initiator (our service account) never
    approves, and a service account is never listed."""
    if not settings.compliance_approver_ids:
        # A Policies:Modify policy nobody can approve would lock every policy in the org for good.
        raise BootstrapRefused(
            "compliance_approver_ids is empty: refusing to create a governance policy nobody can approve"
        )
    return PolicyBody(
        name=governance_policy_name(settings),
        activity_kind="Policies:Modify",
        rule=AlwaysTriggerRule(),
        action=compliance_approval(settings),
    )


def limit_policies(settings: Settings) -> list[PolicyBody]:
    """One Block policy per limit that a profile sets, for wallets tagged ``limits:<profile>``."""
    bodies: list[PolicyBody] = []
    for profile_name, profile in sorted(settings.limit_profiles.items()):
        filters = PolicyFilters(wallet_tags=TagsFilter(has_all=[f"limits:{profile_name}"]))
        for suffix, rule in _limit_rules(profile):
            bodies.append(
                PolicyBody(
                    name=f"{settings.service_name}:limits:{profile_name}:{suffix}",
                    activity_kind="Wallets:Sign",
                    rule=rule,
                    action=BlockAction(),
                    filters=filters,
                )
            )
    return bodies


LimitRule = AmountLimitRule | AmountVelocityRule | CountVelocityRule


def _limit_rules(profile: LimitProfile) -> list[tuple[str, LimitRule]]:
    rules: list[tuple[str, LimitRule]] = []
    if profile.amount_limit_usd is not None:
        config = AmountLimitConfiguration(limit=profile.amount_limit_usd)
        rules.append(("amount", AmountLimitRule(configuration=config)))
    if profile.velocity_amount_usd is not None:
        velocity = AmountVelocityConfiguration(
            limit=profile.velocity_amount_usd, timeframe=profile.velocity_timeframe_minutes
        )
        rules.append(("amount-velocity", AmountVelocityRule(configuration=velocity)))
    if profile.count_limit is not None:
        count = CountVelocityConfiguration(
            limit=profile.count_limit, timeframe=profile.count_timeframe_minutes
        )
        rules.append(("count-velocity", CountVelocityRule(configuration=count)))
    return rules


# --- reconciling policies ---------------------------------------------------------------------------


def _matches(live: Any, desired: Any) -> bool:
    """True when ``live`` says what ``desired`` says. Dfns may echo defaults we never sent
    (``serviceAccountsCanApprove: false``), so a key only ``live`` has counts only when it is set."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        extra_set = any(
            value not in (None, False, {}, []) for key, value in live.items() if key not in desired
        )
        return not extra_set and all(_matches(live.get(k), v) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        if all(isinstance(item, str) for item in (*live, *desired)):
            return sorted(live) == sorted(desired)  # ids and tags: Dfns need not keep our order
        return all(_matches(a, b) for a, b in zip(live, desired, strict=True))
    return bool(live == desired)


def _ensure_policy(gateway: DfnsGateway, live: Policy | None, desired: PolicyBody) -> PolicyOutcome:
    if live is None:
        created = gateway.create_policy(desired)
        logger.info("dfns policy created", extra={"policyName": desired.name, "policyId": created.id})
        return PolicyOutcome(desired.name, created.id, "created")
    if _matches(live.body().to_wire(), desired.to_wire()):
        return PolicyOutcome(desired.name, live.id, "unchanged")
    if live.pending_change_request is not None:
        # One pending change per policy: wait for the officer's decision on the one already proposed.
        return PolicyOutcome(desired.name, live.id, "change_pending")
    outcome = gateway.update_policy(live.id, desired)
    kind: PolicyOutcomeKind = "change_requested" if isinstance(outcome, ChangeRequestPending) else "updated"
    logger.info("dfns policy differs from config", extra={"policyName": desired.name, "outcome": kind})
    return PolicyOutcome(desired.name, live.id, kind)


# --- the webhook ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookSecretRecord:
    """What the webhook secret's Secrets Manager entry holds: the secret and the webhook it belongs to.

    Dfns shows a secret only once, so the id is what tells a later run whether the stored secret still
    matches a live webhook (``{"secret": …}`` is what the webhook endpoint reads; the id rides along).
    """

    webhook_id: str
    secret: str = field(repr=False)

    def to_secret_string(self) -> str:
        return json.dumps({"secret": self.secret, "webhookId": self.webhook_id}, separators=(",", ":"))

    @classmethod
    def from_secret_string(cls, text: str | None) -> WebhookSecretRecord | None:
        """None for anything but a complete record (the deploy's ``{}`` placeholder, an older shape)."""
        try:
            raw = json.loads(text or "")
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        secret, webhook_id = raw.get("secret"), raw.get("webhookId")
        if isinstance(secret, str) and secret and isinstance(webhook_id, str) and webhook_id:
            return cls(webhook_id=webhook_id, secret=secret)
        return None


class SecretsManagerWebhookSecrets:
    """Keeps the ``WebhookSecretRecord`` in a Secrets Manager secret (the client is injected: boto3 or
    moto), for the deploy's custom resource and the local stack alike."""

    def __init__(self, secretsmanager_client: Any, secret_name: str) -> None:
        self._client = secretsmanager_client
        self._name = secret_name

    def load(self) -> WebhookSecretRecord | None:
        try:
            value = self._client.get_secret_value(SecretId=self._name).get("SecretString")
        except self._client.exceptions.ResourceNotFoundException:
            return None
        return WebhookSecretRecord.from_secret_string(value)

    def store(self, record: WebhookSecretRecord) -> None:
        self._client.put_secret_value(SecretId=self._name, SecretString=record.to_secret_string())


def _ensure_webhook(
    gateway: BootstrapGateway,
    webhook_url: str,
    store_webhook_secret: Callable[[WebhookSecretRecord], None],
    stored: WebhookSecretRecord | None,
) -> tuple[str, WebhookOutcomeKind]:
    ours = [w for w in gateway.iter_webhooks() if w.url == webhook_url]
    keep = next(
        (
            w
            for w in ours
            if stored is not None
            and w.id == stored.webhook_id
            and w.status == "Enabled"
            and set(WEBHOOK_EVENTS) <= set(w.events)
        ),
        None,
    )
    # Any other webhook on our URL signs with a secret we do not hold (e.g. a crash between create and
    # store): its events would only be refused, so it goes.
    for webhook in ours:
        if webhook is not keep:
            gateway.delete_webhook(webhook.id)
    if keep is not None:
        return keep.id, "unchanged"
    created = gateway.create_webhook(
        CreateWebhookBody(url=webhook_url, events=list(WEBHOOK_EVENTS), status="Enabled")
    )
    if not created.secret:
        raise RuntimeError(f"Dfns created webhook {created.id} without returning its secret")
    store_webhook_secret(WebhookSecretRecord(webhook_id=created.id, secret=created.secret))
    logger.info("dfns webhook registered", extra={"webhookId": created.id, "url": webhook_url})
    return created.id, "recreated" if ours else "created"


# --- entry point ------------------------------------------------------------------------------------


def bootstrap_dfns(
    gateway: BootstrapGateway,
    settings: Settings,
    *,
    webhook_url: str,
    store_webhook_secret: Callable[[WebhookSecretRecord], None],
    load_webhook_secret: Callable[[], WebhookSecretRecord | None] = lambda: None,
) -> BootstrapResult:
    """Bring the Dfns organisation to the configured set-up; safe to run any number of times.

    ``store_webhook_secret`` must persist the record (``to_secret_string()`` is the Secrets Manager value);
    ``load_webhook_secret`` returns what an earlier run stored (None if nothing usable): without it an
    existing webhook on ``webhook_url`` is replaced by a new one whose secret is stored.
    """
    governance = governance_policy(settings)  # refuses before any Dfns call when nobody can approve
    wanted = [governance, *limit_policies(settings)]
    live_by_name: dict[str, Policy] = {}
    for policy in gateway.iter_policies(status="Active"):
        live_by_name.setdefault(policy.name, policy)
    outcomes = [_ensure_policy(gateway, live_by_name.get(body.name), body) for body in wanted]
    webhook_id, webhook_outcome = _ensure_webhook(
        gateway, webhook_url, store_webhook_secret, load_webhook_secret()
    )
    return BootstrapResult(
        governance_policy_id=outcomes[0].policy_id,
        policies=outcomes,
        webhook_id=webhook_id,
        webhook_outcome=webhook_outcome,
    )
