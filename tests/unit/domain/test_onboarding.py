"""Onboarding converges to exactly one wallet and one whitelist policy, whatever fails on the way."""

from __future__ import annotations

from dataclasses import replace

import pytest
from managed_accounts.dfns.errors import DfnsBadRequest, DfnsUnavailable
from managed_accounts.dfns.models import BlockAction, RequestApprovalAction, WhitelistRule
from managed_accounts.domain.drift import DriftReporter
from managed_accounts.domain.onboarding import ONBOARDING_LEASE
from managed_accounts.domain.reconciler import Reconciler
from managed_accounts.errors import AccountNotReady, Forbidden, NotFound, UpstreamError, UpstreamUnavailable

from tests.fakes.recording import RecordingMetrics
from tests.fakes.world import World, build_world

CLIENT = "c-7f3a"


def _wallets_of(world: World, client_id: str) -> list[str]:
    return [w.id for w in world.dfns.wallets.values() if w.external_id == client_id]


def _policies_of(world: World, client_id: str) -> list[str]:
    return [p.id for p in world.dfns.policies_named(f"whitelist:client:{client_id}")]


def _assert_one_of_each(world: World, client_id: str = CLIENT) -> None:
    account = world.repo.get_account(client_id)
    assert account is not None
    assert account.status == "active"
    assert _wallets_of(world, client_id) == [account.wallet_id]
    assert _policies_of(world, client_id) == [account.whitelist_policy_id]


def test_first_onboarding_creates_a_tagged_wallet_and_an_empty_whitelist_in_two_signed_calls(
    world: World,
) -> None:
    result = world.onboarding.onboard(CLIENT)

    assert result.created is True
    account = result.account
    assert account.status == "active"
    wallet = world.dfns.wallets[str(account.wallet_id)]
    assert wallet.external_id == CLIENT
    assert wallet.tags == [f"client:{CLIENT}", "limits:standard"]
    assert account.address == wallet.address
    policy = world.dfns.policies[str(account.whitelist_policy_id)]
    assert isinstance(policy.rule, WhitelistRule)
    assert policy.rule.configuration.addresses == []
    assert isinstance(policy.action, BlockAction)
    assert policy.filters is not None
    assert policy.filters.wallet_tags is not None
    assert policy.filters.wallet_tags.has_all == [f"client:{CLIENT}"]
    assert world.dfns.calls["create_wallet"] + world.dfns.calls["create_policy"] == 2
    assert sum(world.dfns.calls.values()) == 2
    assert world.publisher.types() == ["AccountOnboarded"]


def test_onboarding_again_returns_the_same_account_without_calling_dfns(world: World) -> None:
    first = world.onboarding.onboard(CLIENT).account
    calls = sum(world.dfns.calls.values())

    again = world.onboarding.onboard(CLIENT)

    assert again.created is False
    assert again.account.wallet_id == first.wallet_id
    assert sum(world.dfns.calls.values()) == calls
    _assert_one_of_each(world)


def test_request_approval_whitelist_names_the_compliance_officers() -> None:
    world = build_world(
        whitelist_action="RequestApproval",
        compliance_approver_ids=["us-officer"],
        approval_timeout_minutes=60,
    )
    account = world.onboarding.onboard(CLIENT).account
    action = world.dfns.policies[str(account.whitelist_policy_id)].action
    assert isinstance(action, RequestApprovalAction)
    group = action.approval_groups[0]
    assert group.approvers.user_id is not None
    assert group.approvers.user_id.in_ == ["us-officer"]
    assert action.auto_reject_timeout == 60


def test_dfns_down_before_the_wallet_is_created_then_retry_converges(world: World) -> None:
    world.dfns.fail("create_wallet", error=DfnsUnavailable("down", status=503, may_have_reached_dfns=False))
    with pytest.raises(UpstreamUnavailable):
        world.onboarding.onboard(CLIENT)
    account = world.repo.get_account(CLIENT)
    assert account is not None
    assert account.status == "creating_wallet"
    assert account.wallet_create_started is False  # Dfns certainly did not act: no listing needed next time

    assert world.onboarding.onboard(CLIENT).created is True
    _assert_one_of_each(world)
    assert world.dfns.calls["iter_wallets"] == 0


def test_wallet_created_but_answer_lost_then_retry_finds_it_by_external_id(world: World) -> None:
    world.dfns.fail("create_wallet", after_effect=True)
    with pytest.raises(UpstreamUnavailable):
        world.onboarding.onboard(CLIENT)
    assert len(_wallets_of(world, CLIENT)) == 1

    world.onboarding.onboard(CLIENT)

    _assert_one_of_each(world)
    assert world.dfns.calls["iter_wallets"] == 1  # looked before creating
    assert world.dfns.calls["create_wallet"] == 1


@pytest.mark.parametrize("duplicates", ["conflict", "return_existing"])
def test_a_crash_after_the_wallet_create_recovers_whatever_dfns_does_with_a_repeated_external_id(
    world: World, duplicates: str
) -> None:
    world.dfns.duplicate_external_id = duplicates  # type: ignore[assignment]
    world.dfns.fail("create_wallet", after_effect=True)
    with pytest.raises(UpstreamUnavailable):
        world.onboarding.onboard(CLIENT)
    # The record forgot it started (as after a crash before the marker was read): Dfns dedupes.
    account = world.repo.get_account(CLIENT)
    assert account is not None
    world.repo.update_onboarding(replace(account, wallet_create_started=False))
    world.onboarding.onboard(CLIENT)
    _assert_one_of_each(world)


def test_a_dynamodb_write_failing_after_the_wallet_was_created_converges(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = world.repo.update_onboarding
    calls = {"n": 0}

    def flaky(account, **kwargs):  # the write that stores the wallet id (the 4th write) fails once
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("DynamoDB unavailable")
        return real(account, **kwargs)

    monkeypatch.setattr(world.repo, "update_onboarding", flaky)
    with pytest.raises(RuntimeError):
        world.onboarding.onboard(CLIENT)
    assert len(_wallets_of(world, CLIENT)) == 1
    # The process "died" holding the lease: a retry right away is told to wait, then proceeds.
    with pytest.raises(AccountNotReady):
        world.onboarding.onboard(CLIENT)
    world.clock.advance(ONBOARDING_LEASE.total_seconds() + 1)

    world.onboarding.onboard(CLIENT)

    _assert_one_of_each(world)


def test_dfns_down_during_the_policy_create_then_retry_converges(world: World) -> None:
    world.dfns.fail("create_policy", after_effect=True)
    with pytest.raises(UpstreamUnavailable):
        world.onboarding.onboard(CLIENT)
    account = world.repo.get_account(CLIENT)
    assert account is not None
    assert account.status == "creating_policy"
    assert len(_policies_of(world, CLIENT)) == 1

    assert world.onboarding.onboard(CLIENT).created is True

    _assert_one_of_each(world)
    assert world.dfns.calls["create_policy"] == 1
    assert world.dfns.calls["iter_policies"] == 1


def test_a_refused_policy_create_is_a_502_and_the_retry_creates_it(world: World) -> None:
    world.dfns.fail("create_policy", error=DfnsBadRequest("bad body", status=400, error_id="e-1"))
    with pytest.raises(UpstreamError):
        world.onboarding.onboard(CLIENT)
    world.onboarding.onboard(CLIENT)
    _assert_one_of_each(world)


def test_two_clients_get_separate_wallets_and_policies(world: World) -> None:
    world.onboarding.onboard("alice")
    world.onboarding.onboard("bob")
    _assert_one_of_each(world, "alice")
    _assert_one_of_each(world, "bob")


def test_unknown_account_is_404_and_bad_client_ids_are_refused(world: World) -> None:
    with pytest.raises(NotFound):
        world.onboarding.get_account(CLIENT)
    with pytest.raises(Forbidden):
        world.onboarding.onboard("has space")
    with pytest.raises(Forbidden):
        world.onboarding.onboard("x" * 91)
    assert sum(world.dfns.calls.values()) == 0


def test_the_reconciler_resumes_and_counts_an_onboarding_left_half_way(world: World) -> None:
    world.dfns.fail("create_wallet")
    with pytest.raises(UpstreamUnavailable):
        world.onboarding.onboard(CLIENT)
    account = world.repo.get_account(CLIENT)
    assert account is not None
    assert account.status == "creating_wallet"  # guarded already: the whitelist policy came first
    reconciler = Reconciler(
        dfns=world.dfns,
        repository=world.repo,
        destinations=world.destinations,
        drift=DriftReporter(world.publisher, RecordingMetrics(), world.clock),
        clock=world.clock,
        onboarding=world.onboarding,
    )
    assert reconciler.run()["onboardingStuck"] == 0  # still within the lease: the client may retry

    world.clock.advance(ONBOARDING_LEASE.total_seconds() + 1)
    summary = reconciler.run()

    assert summary["onboardingStuck"] == 1
    assert summary["onboardingResumed"] == 1
    resumed = world.repo.get_account(CLIENT)
    assert resumed is not None
    assert resumed.status == "active"
    _assert_one_of_each(world)
