"""Security drift: a managed wallet lost the tags its policies are scoped by, or a client's whitelist in
Dfns no longer equals the product's mirror of approved destinations.

Either means Dfns may no longer enforce what the product shows the client, so it is reported three
ways: an error log, the ``SecurityDrift`` metric (an alarm watches it) and a ``SecurityDrift`` domain
event carrying the details.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from managed_accounts.dfns.models import Policy, Wallet, WhitelistRule
from managed_accounts.domain.addresses import address_key
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.models import Account, client_tag, limits_tag
from managed_accounts.domain.ports import Clock, EventPublisher, Metrics
from managed_accounts.logs import get_logger

logger = get_logger("drift")

SECURITY_DRIFT_METRIC = "SecurityDrift"

DriftKind = Literal[
    "wallet_tags_removed",
    "whitelist_mismatch",
    "whitelist_policy_inactive",
    "whitelist_rule_replaced",
]


@dataclass(frozen=True, slots=True)
class DriftFinding:
    kind: DriftKind
    client_id: str
    details: dict[str, Any] = field(default_factory=dict)


def required_tags(account: Account) -> set[str]:
    """The tags onboarding put on the wallet: the whitelist and the limit policies are scoped by them."""
    tags = {client_tag(account.client_id)}
    if account.limit_profile:
        tags.add(limits_tag(account.limit_profile))
    return tags


def tag_drift(account: Account, wallet: Wallet, *, removed: Iterable[str] = ()) -> DriftFinding | None:
    """Drift if a required tag is missing now, or was reported removed (even if re-added since: the
    wallet was outside its policies in between)."""
    required = required_tags(account)
    missing = sorted(required - set(wallet.tags))
    removed_required = sorted(required & set(removed))
    if not missing and not removed_required:
        return None
    return DriftFinding(
        "wallet_tags_removed",
        account.client_id,
        {
            "walletId": wallet.id,
            "missingTags": missing,
            "removedTags": removed_required,
            "liveTags": sorted(wallet.tags),
        },
    )


def whitelist_drift(account: Account, policy: Policy, mirror_addresses: Iterable[str]) -> DriftFinding | None:
    """Drift if the live whitelist policy is archived, is no longer a whitelist, or lists other addresses
    than the approved destinations the product mirrors."""
    base = {"policyId": policy.id}
    if policy.status != "Active":
        return DriftFinding("whitelist_policy_inactive", account.client_id, {**base, "status": policy.status})
    if not isinstance(policy.rule, WhitelistRule):
        return DriftFinding(
            "whitelist_rule_replaced", account.client_id, {**base, "ruleKind": policy.rule.kind}
        )
    live = {address_key(account.network, a) for a in policy.rule.configuration.addresses}
    mirror = {address_key(account.network, a) for a in mirror_addresses}
    if live == mirror:
        return None
    return DriftFinding(
        "whitelist_mismatch",
        account.client_id,
        {**base, "unexpectedAddresses": sorted(live - mirror), "missingAddresses": sorted(mirror - live)},
    )


class DriftReporter:
    """Logs, counts and publishes each finding. The log and the metric come first so that an alarm
    still fires when the event bus is down (publishing then raises to the caller)."""

    def __init__(self, publisher: EventPublisher, metrics: Metrics, clock: Clock) -> None:
        self._publisher = publisher
        self._metrics = metrics
        self._clock = clock

    def report(self, finding: DriftFinding, *, source: Literal["webhook", "reconciler"]) -> None:
        logger.error(
            "security drift",
            extra={
                "drift_kind": finding.kind,
                "client_id": finding.client_id,
                "source": source,
                **finding.details,
            },
        )
        self._metrics.add_metric(name=SECURITY_DRIFT_METRIC, unit="Count", value=1)
        self._publisher.publish(
            [
                DomainEvent(
                    type="SecurityDrift",
                    client_id=finding.client_id,
                    detail={"driftKind": finding.kind, "source": source, **finding.details},
                    occurred_at=self._clock.now(),
                )
            ]
        )
