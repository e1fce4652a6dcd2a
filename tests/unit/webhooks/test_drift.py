"""Drift rules: which tags a managed wallet must keep, and when a live whitelist differs from the mirror."""

from __future__ import annotations

from managed_accounts.dfns.models import (
    AmountLimitConfiguration,
    AmountLimitRule,
    BlockAction,
    Policy,
    Wallet,
    WhitelistConfiguration,
    WhitelistRule,
)
from managed_accounts.domain.drift import (
    DriftFinding,
    DriftReporter,
    required_tags,
    tag_drift,
    whitelist_drift,
)
from managed_accounts.domain.models import Account

from tests.fakes.recording import EPOCH, FixedClock, RecordingMetrics, RecordingPublisher

EVM = "0x" + "Ab" * 20
SOLANA = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


def _account(
    client_id: str = "c1", network: str = "EthereumSepolia", limit_profile: str = "standard"
) -> Account:
    return Account(
        client_id=client_id,
        status="active",
        network=network,
        limit_profile=limit_profile,
        created_at=EPOCH,
        updated_at=EPOCH,
        wallet_id="wa-1",
        whitelist_policy_id="plc-1",
    )


ACCOUNT = _account()


def _wallet(tags: list[str]) -> Wallet:
    return Wallet(id="wa-1", network="EthereumSepolia", tags=tags)


def _whitelist(addresses: list[str], status: str = "Active") -> Policy:
    rule = WhitelistRule(configuration=WhitelistConfiguration(addresses=addresses))
    return Policy(
        id="plc-1", name="w", activity_kind="Wallets:Sign", rule=rule, action=BlockAction(), status=status
    )


def test_required_tags_are_the_client_and_limit_profile_tags() -> None:
    assert required_tags(ACCOUNT) == {"client:c1", "limits:standard"}
    assert required_tags(_account("c2", limit_profile="")) == {"client:c2"}


def test_extra_tags_are_fine_missing_ones_are_drift() -> None:
    assert tag_drift(ACCOUNT, _wallet(["client:c1", "limits:standard", "vip"])) is None
    finding = tag_drift(ACCOUNT, _wallet(["client:c1", "limits:premium"]))
    assert finding is not None
    assert finding.details["missingTags"] == ["limits:standard"]
    assert finding.details["liveTags"] == ["client:c1", "limits:premium"]


def test_evm_addresses_compare_case_insensitively_others_exactly() -> None:
    assert whitelist_drift(ACCOUNT, _whitelist([EVM]), [EVM.lower()]) is None
    solana = _account(network="Solana")
    assert whitelist_drift(solana, _whitelist([SOLANA]), [SOLANA]) is None
    finding = whitelist_drift(solana, _whitelist([SOLANA.lower()]), [SOLANA])
    assert finding is not None
    assert finding.details["unexpectedAddresses"] == [SOLANA.lower()]
    assert finding.details["missingAddresses"] == [SOLANA]


def test_a_replaced_rule_is_drift() -> None:
    rule = AmountLimitRule(configuration=AmountLimitConfiguration(limit=1))
    policy = _whitelist([]).model_copy(update={"rule": rule})
    finding = whitelist_drift(ACCOUNT, policy, [])
    assert finding is not None
    assert (finding.kind, finding.details["ruleKind"]) == (
        "whitelist_rule_replaced",
        "TransactionAmountLimit",
    )


def test_an_empty_whitelist_matches_an_empty_mirror() -> None:
    assert whitelist_drift(ACCOUNT, _whitelist([]), []) is None


def test_the_reporter_logs_counts_and_publishes_with_details() -> None:
    publisher, metrics, clock = RecordingPublisher(), RecordingMetrics(), FixedClock()
    DriftReporter(publisher, metrics, clock).report(
        DriftFinding("whitelist_mismatch", "c1", {"policyId": "plc-1"}), source="reconciler"
    )
    [event] = publisher.events
    assert event.type == "SecurityDrift"
    assert event.occurred_at == clock.now()
    assert event.detail == {"driftKind": "whitelist_mismatch", "source": "reconciler", "policyId": "plc-1"}
    assert metrics.metrics == [("SecurityDrift", "Count", 1)]
