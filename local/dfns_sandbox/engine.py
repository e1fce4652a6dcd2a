"""The policy engine for transfers (``Wallets:Sign``, DFNS.md §4.3–4.5).

Every active policy whose filters match the wallet is evaluated; a triggered ``Block`` wins; otherwise
each triggered ``RequestApproval`` policy must reach quorum; a triggered ``NoAction`` changes nothing.
Amount rules fail closed when the USD value is unknown (no price). Windows for velocity rules run on the
sandbox clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from dfns_sandbox.prices import normalise_address
from dfns_sandbox.store import Json, Policy, Transfer, Wallet

if TYPE_CHECKING:
    from dfns_sandbox.core import Sandbox

_NOT_COUNTED = {"Rejected", "Failed"}


@dataclass(slots=True)
class Outcome:
    evaluations: list[Json] = field(default_factory=list)
    blocked_by: Policy | None = None
    needs_approval: list[Policy] = field(default_factory=list)


def matches(policy: Policy, wallet: Wallet) -> bool:
    """Filters are ANDed: walletId.in, walletTags.hasAny, walletTags.hasAll."""
    filters = policy.filters or {}
    if "walletId" in filters and wallet.id not in filters["walletId"]["in"]:
        return False
    tags = filters.get("walletTags") or {}
    if "hasAny" in tags and not set(tags["hasAny"]) & set(wallet.tags):
        return False
    return not ("hasAll" in tags and not set(tags["hasAll"]) <= set(wallet.tags))


def _window(sb: Sandbox, wallet: Wallet, minutes: int, now: datetime) -> list[Transfer]:
    since = now - timedelta(minutes=minutes)
    return [
        t
        for t in sb.store.transfers_by_wallet.get(wallet.id, [])
        if t.date_requested > since and t.status not in _NOT_COUNTED
    ]


def _check(  # noqa: PLR0911 - one early answer per rule kind
    sb: Sandbox, policy: Policy, wallet: Wallet, transfer: Transfer
) -> tuple[bool, str]:
    kind, config = policy.rule["kind"], policy.rule.get("configuration", {})
    usd: Decimal | None = transfer.usd
    if kind == "AlwaysTrigger":
        return True, "AlwaysTrigger"
    if kind == "TransactionRecipientWhitelist":
        allowed = {normalise_address(wallet.network, a) for a in config["addresses"]}
        if normalise_address(wallet.network, transfer.to) in allowed:
            return False, "recipient is whitelisted"
        return True, f"recipient {transfer.to} is not whitelisted"
    if kind == "TransactionAmountLimit":
        if usd is None:
            return True, "transaction amount in USD is unknown"
        limit = Decimal(str(config["limit"]))
        return usd > limit, f"transaction amount {usd:.2f} USD vs limit {limit} USD"
    window = _window(sb, wallet, config["timeframe"], transfer.date_requested)
    if kind == "TransactionCountVelocity":
        count = len(window) + 1
        return count > config[
            "limit"
        ], f"{count} transactions in {config['timeframe']} min vs limit {config['limit']}"
    values = [t.usd for t in window] + [usd]
    if any(v is None for v in values):
        return True, "transaction amount in USD is unknown"
    total = sum((v for v in values if v is not None), Decimal(0))
    limit = Decimal(str(config["limit"]))
    return total > limit, f"{total:.2f} USD in {config['timeframe']} min vs limit {limit} USD"


@dataclass(slots=True)
class PolicyIndex:
    """Active Wallets:Sign policies by what their filters require, so a transfer only looks at the
    policies that can match its wallet (one whitelist per client makes thousands of policies)."""

    version: int
    order: dict[str, int]
    unscoped: list[Policy] = field(default_factory=list)
    by_tag: dict[str, list[Policy]] = field(default_factory=dict)
    by_wallet: dict[str, list[Policy]] = field(default_factory=dict)


def _index(sb: Sandbox) -> PolicyIndex:
    store = sb.store
    if isinstance(store.policy_index, PolicyIndex) and store.policy_index.version == store.policy_version:
        return store.policy_index
    index = PolicyIndex(store.policy_version, {pid: n for n, pid in enumerate(store.policies)})
    for policy in store.policies.values():
        if policy.status != "Active" or policy.activity_kind != "Wallets:Sign":
            continue
        filters = policy.filters or {}
        tags = filters.get("walletTags") or {}
        if "walletId" in filters:
            for wallet_id in filters["walletId"]["in"]:
                index.by_wallet.setdefault(wallet_id, []).append(policy)
        elif tags:
            for tag in tags.get("hasAny") or tags["hasAll"]:
                index.by_tag.setdefault(tag, []).append(policy)
        else:
            index.unscoped.append(policy)
    store.policy_index = index
    return index


def _candidates(sb: Sandbox, wallet: Wallet) -> list[Policy]:
    index = _index(sb)
    found = {p.id: p for p in index.unscoped}
    for tag in wallet.tags:
        found.update((p.id, p) for p in index.by_tag.get(tag, []))
    found.update((p.id, p) for p in index.by_wallet.get(wallet.id, []))
    return sorted(found.values(), key=lambda p: index.order[p.id])


def evaluate(sb: Sandbox, wallet: Wallet, transfer: Transfer) -> Outcome:
    outcome = Outcome()
    for policy in _candidates(sb, wallet):
        if not matches(policy, wallet):
            continue
        triggered, reason = _check(sb, policy, wallet, transfer)
        outcome.evaluations.append({"policyId": policy.id, "triggered": triggered, "reason": reason})
        if not triggered:
            continue
        if policy.action["kind"] == "Block":
            outcome.blocked_by = outcome.blocked_by or policy
        elif policy.action["kind"] == "RequestApproval":
            outcome.needs_approval.append(policy)
        # NoAction: evaluated (and listed in the approval's evaluations, if any), nothing else
    return outcome
