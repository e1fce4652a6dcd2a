"""The one-time Dfns set-up, run on every deploy (a CloudFormation custom resource) and by the local stack.

It first reads the service account's own roles from Dfns and refuses to run if they grant anything the
service account must never do (remove wallet tags, vote on approvals, archive/delete policies, any
``Permissions:*``), or if the governance quorum cannot be met by the configured officers.

Then it creates, if missing, looking first by name so that a re-run changes nothing:
- the governance policy: ``Policies:Modify`` + ``AlwaysTrigger`` + ``RequestApproval`` to the compliance
  officers, no filters, so every policy change (every client's whitelist included) needs a human;
- one ``Block`` policy per limit of each limit profile, scoped by the wallet tag ``limits:<profile>``;
- the webhook for the product's endpoint, whose secret (shown by Dfns only once) goes to
  ``store_webhook_secret``.

A policy that exists but differs from the configuration is updated; under governance that update is a
change request the compliance officer approves in Dfns, which is what a limit change deserves. "Differs"
is semantic: numbers by value, an absent flag equals its default ``false``, list and key order do not
count, so a server that re-serialises what it stores never causes a change request.

The service account's user id (needed to read its roles) is ``Settings.dfns_service_account_id`` when
set, else the user id inside its Dfns token (``managed_accounts.dfns.identity``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from managed_accounts.config import LimitProfile, Settings
from managed_accounts.dfns.errors import DfnsAuthError, DfnsNotFound
from managed_accounts.dfns.identity import HeldPermissions
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
    """The Dfns calls bootstrap needs: the domain port, webhook management and reading the service
    account's own roles (``DfnsClient`` has all of them)."""

    def create_webhook(self, body: CreateWebhookBody) -> Webhook: ...
    def iter_webhooks(self, *, page_size: int = 100) -> Iterator[Webhook]: ...
    def delete_webhook(self, webhook_id: str) -> None: ...
    def token_user_id(self) -> str | None: ...
    def own_permissions(self, service_account_id: str | None = None) -> HeldPermissions: ...


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
    """Every policy change waits for ``compliance_quorum`` compliance officers; the initiator (our service
    account) never approves, and a service account is never listed."""
    approvers = set(settings.compliance_approver_ids)
    if not approvers:
        # A Policies:Modify policy nobody can approve would lock every policy in the org for good.
        raise BootstrapRefused(
            "compliance_approver_ids is empty: refusing to create a governance policy nobody can approve"
        )
    if settings.compliance_quorum > len(approvers):
        raise BootstrapRefused(
            f"compliance_quorum is {settings.compliance_quorum} but only {len(approvers)} compliance "
            "approver(s) are configured: no policy could ever be changed again. Lower COMPLIANCE_QUORUM "
            "or add officers to COMPLIANCE_APPROVER_IDS"
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


# --- the service account's own permissions ---------------------------------------------------------

# Operations the service account must never hold, and why (docs/DEPLOY.md §3).
FORBIDDEN_OPERATIONS: dict[str, str] = {
    "Wallets:Tags:Remove": "removing a client tag would lift that client's whitelist",
    "Wallets:Tags:Delete": "older name of Wallets:Tags:Remove: removing a client tag lifts its whitelist",
    "Policies:Evaluations:Vote": "the service account must never approve, its own change requests included",
    "Policies:Approvals:Approve": "deprecated name of Policies:Evaluations:Vote: it must never approve",
    "Policies:Delete": "archiving a policy lifts it (a client's whitelist, a limit, the governance itself)",
    "Policies:Archive": "older name of Policies:Delete: archiving a policy lifts it",
}


def forbidden_reason(operation: str) -> str | None:
    """Why the service account must not hold ``operation``, or None if it may."""
    if operation in FORBIDDEN_OPERATIONS:
        return FORBIDDEN_OPERATIONS[operation]
    if operation.startswith("Permissions:"):
        return "role administration: it could grant itself anything"
    if operation.rsplit(":", 1)[-1] in {"Vote", "Approve"}:
        return "an approval vote: only a human compliance officer approves"
    return None


def check_own_permissions(gateway: BootstrapGateway, settings: Settings) -> HeldPermissions:
    """Read the service account's roles from Dfns; refuse (``BootstrapRefused``) if it holds a forbidden
    operation, or if its roles cannot be read. Transient Dfns errors propagate unchanged."""
    user_id = settings.dfns_service_account_id or gateway.token_user_id()
    if not user_id:
        raise BootstrapRefused(
            "cannot tell which service account this is (its token names no user id): set "
            "DFNS_SERVICE_ACCOUNT_ID to its user id (us-…) so the bootstrap can check its permissions"
        )
    try:
        held = gateway.own_permissions(user_id)
    except (DfnsAuthError, DfnsNotFound) as exc:
        raise BootstrapRefused(
            f"cannot read the permissions of service account {user_id} ({exc}): its role needs "
            "Auth:ServiceAccounts:Read, and every role it holds must list its operations"
        ) from exc
    problems = [
        f"{op} (from {', '.join(held.sources_of(op))}): {reason}"
        for op in sorted(held.operations())
        if (reason := forbidden_reason(op)) is not None
    ]
    if problems:
        raise BootstrapRefused(
            f"service account {user_id} holds permissions it must never have: "
            + "; ".join(problems)
            + ". Remove them from its role in Dfns, then run the bootstrap again"
        )
    logger.info("dfns service account permissions checked", extra={"serviceAccountId": user_id})
    return held


# --- reconciling policies ---------------------------------------------------------------------------


def _unset(value: Any) -> bool:
    """Absent, ``null``, ``false``, ``{}`` and ``[]``: how a server may write a default it fills in."""
    return value is None or value is False or (isinstance(value, dict | list) and not value)


def _matches(live: Any, desired: Any) -> bool:
    """True when ``live`` (what Dfns returns) says what ``desired`` says, semantically: numbers by value
    (``10000`` = ``10000.0``, but ``true`` ≠ ``1``), an absent key equals its default (``false``, ``null``,
    ``{}``, ``[]``), and neither key order nor list order counts (ids, addresses, approval groups)."""
    if isinstance(live, dict) or isinstance(desired, dict):
        return _objects_match(live, desired)
    if isinstance(live, list) or isinstance(desired, list):
        return _lists_match(live, desired)
    return _scalars_match(live, desired)


def _objects_match(live: Any, desired: Any) -> bool:
    if not (isinstance(live, dict) and isinstance(desired, dict)):
        return _unset(live) and _unset(desired)
    return all(_values_match(live.get(key), desired.get(key)) for key in live.keys() | desired.keys())


def _values_match(live: Any, desired: Any) -> bool:
    return (_unset(live) and _unset(desired)) or _matches(live, desired)


def _lists_match(live: Any, desired: Any) -> bool:
    """The same items in any order (each live item matches one desired item)."""
    if not (isinstance(live, list) and isinstance(desired, list)) or len(live) != len(desired):
        return False
    remaining = list(live)
    for wanted in desired:
        found = next((i for i, candidate in enumerate(remaining) if _matches(candidate, wanted)), None)
        if found is None:
            return False
        remaining.pop(found)
    return True


def _scalars_match(live: Any, desired: Any) -> bool:
    if isinstance(live, bool) or isinstance(desired, bool):
        return live is desired
    if isinstance(live, int | float) and isinstance(desired, int | float):
        return live == desired
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


def _usable(webhook: Webhook, stored: WebhookSecretRecord | None) -> bool:
    """The webhook whose secret we hold, enabled and subscribed to every kind the endpoint handles."""
    return (
        stored is not None
        and webhook.id == stored.webhook_id
        and webhook.status == "Enabled"
        and set(WEBHOOK_EVENTS) <= set(webhook.events)
    )


def _ensure_webhook(
    gateway: BootstrapGateway,
    webhook_url: str,
    store_webhook_secret: Callable[[WebhookSecretRecord], None],
    stored: WebhookSecretRecord | None,
) -> tuple[str, WebhookOutcomeKind]:
    ours = [w for w in gateway.iter_webhooks() if w.url == webhook_url]
    keep = next((w for w in ours if _usable(w, stored)), None)
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
    check_own_permissions(gateway, settings)  # refuses before any write when the role is too wide
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
