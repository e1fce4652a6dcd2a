"""Pure helpers: the whitelist a batch of destination requests asks for, computed from the LIVE policy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from managed_accounts.dfns.models import Policy, PolicyBody, WhitelistConfiguration, WhitelistRule
from managed_accounts.domain.addresses import address_key
from managed_accounts.domain.models import DestinationRequest
from managed_accounts.errors import UpstreamError


def _key(network: str) -> Callable[[str], str]:
    return lambda address: address_key(network, address)


def live_addresses(policy: Policy) -> list[str]:
    if not isinstance(policy.rule, WhitelistRule):
        raise UpstreamError(f"policy {policy.id} is not a TransactionRecipientWhitelist policy")
    return list(policy.rule.configuration.addresses)


def proposed_addresses(body: dict[str, Any] | None) -> list[str] | None:
    """The address list inside a pending change request's body, if it has one."""
    rule = (body or {}).get("rule")
    configuration = rule.get("configuration") if isinstance(rule, dict) else None
    addresses = configuration.get("addresses") if isinstance(configuration, dict) else None
    if isinstance(addresses, list) and all(isinstance(a, str) for a in addresses):
        return list(addresses)
    return None


def apply_batch(live: Sequence[str], batch: Sequence[DestinationRequest], network: str) -> list[str]:
    """The live list with the batch's removals taken out and its additions appended (order kept)."""
    key = _key(network)
    removed = {key(r.address) for r in batch if r.action == "remove"}
    result = [a for a in live if key(a) not in removed]
    present = {key(a) for a in result}
    for request in batch:
        if request.action == "add" and key(request.address) not in present:
            result.append(request.address)
            present.add(key(request.address))
    return result


def same_addresses(left: Sequence[str], right: Sequence[str], network: str) -> bool:
    key = _key(network)
    return {key(a) for a in left} == {key(a) for a in right}


def covered_by_change(
    live: Sequence[str], proposed: Sequence[str], requests: Sequence[DestinationRequest], network: str
) -> list[DestinationRequest]:
    """The requests a pending change (live -> proposed) carries out: used to adopt a change request
    whose submission was never recorded (crash or lost answer after the PUT reached Dfns)."""
    key = _key(network)
    before, after = {key(a) for a in live}, {key(a) for a in proposed}
    added, removed = after - before, before - after
    return [
        r
        for r in requests
        if (r.action == "add" and key(r.address) in added)
        or (r.action == "remove" and key(r.address) in removed)
    ]


def with_addresses(policy: Policy, addresses: list[str]) -> PolicyBody:
    """A full-replacement update body: the live policy unchanged except its address list."""
    body = policy.body()
    return body.model_copy(
        update={"rule": WhitelistRule(configuration=WhitelistConfiguration(addresses=addresses))}
    )
