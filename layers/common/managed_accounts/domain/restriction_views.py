"""The parts of the restrictions view, each built from what Dfns returned, with the drift it reveals.

Every builder appends to ``drift`` what differs from what the product shows the client: an address
Dfns allows that compliance never approved (or the reverse), a missing wallet tag (a policy no longer
binds the wallet), an archived, missing or re-scoped policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from managed_accounts.dfns.models import (
    AmountLimitRule,
    AmountVelocityRule,
    CountVelocityRule,
    Policy,
    PolicyFilters,
    RequestApprovalAction,
    Wallet,
    WhitelistRule,
)
from managed_accounts.domain.addresses import address_key
from managed_accounts.domain.models import Account, ApprovedDestination, client_tag, limits_tag

Severity = Literal["critical", "warning"]


@dataclass(frozen=True, slots=True)
class DriftItem:
    kind: str
    severity: Severity
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ViewContext:
    """What every part of the view is checked against: the account, its live wallet, the read time,
    and the drift found so far (each builder appends to it)."""

    account: Account
    wallet: Wallet | None
    now: datetime
    drift: list[DriftItem]


@dataclass(frozen=True, slots=True)
class WalletView:
    wallet_id: str
    address: str | None
    network: str
    found: bool
    tags: list[str]
    client_tag: str
    client_tag_present: bool
    limits_tag: str
    limits_tag_present: bool
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class WhitelistAddress:
    address: str
    label: str | None
    approval_id: str | None
    request_id: str | None
    approved_at: datetime | None
    enforced_by_dfns: bool
    approved_by_compliance: bool


@dataclass(frozen=True, slots=True)
class WhitelistView:
    policy_id: str | None
    found: bool
    status: str | None
    action: str | None
    binds_wallet: bool
    addresses: list[WhitelistAddress]
    pending_change_request_id: str | None
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class LimitView:
    policy_id: str
    found: bool
    name: str | None
    status: str | None
    rule: str | None
    limit: int | float | None
    currency: str | None
    timeframe_minutes: int | None
    action: str | None
    binds_wallet: bool
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class GovernanceView:
    policy_id: str | None
    present: bool
    active: bool
    approvers_count: int | None  # None: any user of the organisation may approve
    quorum: int | None
    approval_groups: int
    covers_whitelist: bool
    verified_at: datetime


def _tags_required(filters: PolicyFilters | None, tag: str) -> bool:
    scope = filters.wallet_tags if filters else None
    return scope is not None and tag in (scope.has_all or []) + (scope.has_any or [])


def _binds(policy: Policy, wallet: Wallet | None, tag: str) -> bool:
    """The policy applies to this wallet through ``tag`` (or names the wallet itself)."""
    if wallet is None or policy.status != "Active":
        return False
    by_id = policy.filters.wallet_id if policy.filters else None
    if by_id is not None and wallet.id in by_id.in_:
        return True
    return _tags_required(policy.filters, tag) and tag in wallet.tags


def wallet_view(ctx: ViewContext) -> WalletView:
    account, wallet, now, drift = ctx.account, ctx.wallet, ctx.now, ctx.drift
    wallet_id = str(account.wallet_id)
    tags = list(wallet.tags) if wallet else []
    own, limits = client_tag(account.client_id), limits_tag(account.limit_profile)
    if wallet is None:
        drift.append(
            DriftItem(
                "wallet_missing",
                "critical",
                f"Dfns does not know the wallet {wallet_id}",
                {"walletId": wallet_id},
            )
        )
    else:
        if own not in tags:
            drift.append(
                DriftItem(
                    "tag_missing",
                    "critical",
                    f"the wallet no longer carries the tag {own}: Dfns no longer applies the client's "
                    "whitelist to it, so it may pay any address",
                    {"walletId": wallet_id, "tag": own},
                )
            )
        if limits not in tags:
            drift.append(
                DriftItem(
                    "tag_missing",
                    "critical",
                    f"the wallet no longer carries the tag {limits}: the {account.limit_profile!r} limits "
                    "no longer apply to it",
                    {"walletId": wallet_id, "tag": limits},
                )
            )
    return WalletView(
        wallet_id=wallet_id,
        address=wallet.address if wallet else account.address,
        network=wallet.network if wallet else account.network,
        found=wallet is not None,
        tags=tags,
        client_tag=own,
        client_tag_present=own in tags,
        limits_tag=limits,
        limits_tag_present=limits in tags,
        verified_at=now,
    )


def _whitelist_drift(
    policy: Policy | None, policy_id: str | None, drift: list[DriftItem]
) -> list[str] | None:
    """The live addresses, or None (with the drift) when there is no usable whitelist."""
    if policy is None:
        drift.append(
            DriftItem(
                "policy_missing",
                "critical",
                "Dfns has no whitelist policy for this client",
                {"policyId": policy_id},
            )
        )
        return None
    if policy.status != "Active":
        drift.append(
            DriftItem(
                "policy_archived",
                "critical",
                f"the whitelist policy {policy.id} is {policy.status}: it no longer restricts recipients",
                {"policyId": policy.id, "status": policy.status},
            )
        )
    if not isinstance(policy.rule, WhitelistRule):
        drift.append(
            DriftItem(
                "whitelist_rule_replaced",
                "critical",
                f"the whitelist policy {policy.id} no longer holds a recipient whitelist",
                {"policyId": policy.id, "rule": policy.rule.kind},
            )
        )
        return None
    return list(policy.rule.configuration.addresses)


def _address_drift(
    key: str, destination: ApprovedDestination | None, enforced: dict[str, str]
) -> DriftItem | None:
    if destination is None:
        return DriftItem(
            "address_not_approved",
            "critical",
            f"Dfns allows {enforced[key]}, which has no approval on record",
            {"address": enforced[key]},
        )
    if key not in enforced:
        return DriftItem(
            "address_not_enforced",
            "warning",
            f"{destination.address} is approved but absent from the Dfns whitelist: "
            "transfers to it are refused",
            {"address": destination.address, "approvalId": destination.approval_id},
        )
    return None


def _address_row(
    key: str, destination: ApprovedDestination | None, enforced: dict[str, str]
) -> WhitelistAddress:
    if destination is None:
        return WhitelistAddress(enforced[key], None, None, None, None, True, False)
    return WhitelistAddress(
        address=destination.address,
        label=destination.label,
        approval_id=destination.approval_id,
        request_id=destination.request_id,
        approved_at=destination.approved_at,
        enforced_by_dfns=key in enforced,
        approved_by_compliance=True,
    )


def _address_rows(
    network: str, live: Sequence[str], mirror: Sequence[ApprovedDestination], drift: list[DriftItem]
) -> list[WhitelistAddress]:
    approved = {address_key(network, d.address): d for d in mirror}
    enforced = {address_key(network, a): a for a in live}
    rows: list[WhitelistAddress] = []
    for key in sorted(set(approved) | set(enforced)):
        rows.append(_address_row(key, approved.get(key), enforced))
        finding = _address_drift(key, approved.get(key), enforced)
        if finding is not None:
            drift.append(finding)
    return rows


def whitelist_view(
    ctx: ViewContext, policy: Policy | None, mirror: Sequence[ApprovedDestination]
) -> WhitelistView:
    account, wallet, now, drift = ctx.account, ctx.wallet, ctx.now, ctx.drift
    live = _whitelist_drift(policy, account.whitelist_policy_id, drift)
    rows = _address_rows(account.network, live, mirror, drift) if live is not None else []
    pending = policy.pending_change_request if policy else None
    return WhitelistView(
        policy_id=account.whitelist_policy_id,
        found=policy is not None,
        status=policy.status if policy else None,
        action=policy.action.kind if policy else None,
        binds_wallet=policy is not None and _binds(policy, wallet, client_tag(account.client_id)),
        addresses=rows,
        pending_change_request_id=pending.id if pending and pending.status == "Pending" else None,
        verified_at=now,
    )


def _number(value: float) -> int | float:
    """Dfns limits are JSON numbers: shown whole when they are (``10000``, not ``10000.0``)."""
    return int(value) if float(value).is_integer() else value


def _limit_terms(policy: Policy) -> tuple[int | float | None, str | None, int | None]:
    rule = policy.rule
    if isinstance(rule, AmountLimitRule):
        return _number(rule.configuration.limit), rule.configuration.currency, None
    if isinstance(rule, AmountVelocityRule):
        config = rule.configuration
        return _number(config.limit), config.currency, config.timeframe
    if isinstance(rule, CountVelocityRule):
        return rule.configuration.limit, None, rule.configuration.timeframe
    return None, None, None


def limit_view(ctx: ViewContext, policy_id: str, policy: Policy | None, fetched_at: datetime) -> LimitView:
    account, wallet, drift = ctx.account, ctx.wallet, ctx.drift
    tag = limits_tag(account.limit_profile)
    if policy is None:
        drift.append(
            DriftItem(
                "policy_missing",
                "critical",
                f"the limit policy {policy_id} no longer exists in Dfns",
                {"policyId": policy_id},
            )
        )
        return LimitView(policy_id, False, None, None, None, None, None, None, None, False, fetched_at)
    if policy.status != "Active":
        drift.append(
            DriftItem(
                "policy_archived",
                "critical",
                f"the limit policy {policy.name} is {policy.status}",
                {"policyId": policy.id, "status": policy.status},
            )
        )
    elif not _tags_required(policy.filters, tag):
        drift.append(
            DriftItem(
                "policy_rescoped",
                "critical",
                f"the limit policy {policy.name} no longer applies to wallets tagged {tag}",
                {"policyId": policy.id},
            )
        )
    limit, currency, timeframe = _limit_terms(policy)
    return LimitView(
        policy_id=policy.id,
        found=True,
        name=policy.name,
        status=policy.status,
        rule=policy.rule.kind,
        limit=limit,
        currency=currency,
        timeframe_minutes=timeframe,
        action=policy.action.kind,
        binds_wallet=_binds(policy, wallet, tag),
        verified_at=fetched_at,
    )


def _approvers(action: RequestApprovalAction) -> tuple[int | None, int | None]:
    """(listed approvers, quorum of the strictest group); None approvers: anyone may approve."""
    listed: set[str] = set()
    for group in action.approval_groups:
        if group.approvers.user_id is None:
            return None, max(g.quorum for g in action.approval_groups)
        listed.update(group.approvers.user_id.in_)
    return len(listed), max(g.quorum for g in action.approval_groups)


def _is_active_governance(policy: Policy | None) -> bool:
    return policy is not None and policy.status == "Active" and policy.activity_kind == "Policies:Modify"


def _approval_action(policy: Policy | None) -> RequestApprovalAction | None:
    return policy.action if policy and isinstance(policy.action, RequestApprovalAction) else None


def _covers(policy: Policy | None, whitelist_policy_id: str | None) -> bool:
    if policy is None:
        return False
    scope = policy.filters.policy_id if policy.filters else None
    return scope is None or (whitelist_policy_id is not None and whitelist_policy_id in scope.in_)


def _governance_drift(
    policy_id: str | None, policy: Policy | None, *, active: bool, covers: bool
) -> DriftItem | None:
    if not active:
        return DriftItem(
            "governance_inactive",
            "critical",
            "no active governance policy: a whitelist change would not wait for a compliance officer",
            {"policyId": policy_id, "status": policy.status if policy else None},
        )
    if not covers:
        return DriftItem(
            "governance_rescoped",
            "critical",
            "the governance policy no longer covers this client's whitelist policy",
            {"policyId": policy_id},
        )
    return None


def governance_view(
    ctx: ViewContext, policy_id: str | None, policy: Policy | None, fetched_at: datetime, *, known: bool
) -> GovernanceView:
    active = _is_active_governance(policy)
    approving = _approval_action(policy)
    approvers, quorum = _approvers(approving) if approving else (None, None)
    covers = active and _covers(policy, ctx.account.whitelist_policy_id)
    finding = _governance_drift(policy_id, policy, active=active, covers=covers) if known else None
    if finding is not None:
        ctx.drift.append(finding)
    return GovernanceView(
        policy_id=policy_id,
        present=policy is not None,
        active=active,
        approvers_count=approvers,
        quorum=quorum,
        approval_groups=len(approving.approval_groups) if approving else 0,
        covers_whitelist=covers,
        verified_at=fetched_at,
    )
