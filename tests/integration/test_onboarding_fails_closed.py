"""Onboarding fails closed (security review, finding 1), proven against the Dfns sandbox's policy engine.

A failure is injected at every Dfns call of onboarding in turn, both before the call reaches Dfns and
after Dfns acted (the answer lost). After each failure, and again once a retry completes, every wallet
tagged for the client is asked to pay an arbitrary address: the sandbox must block each transfer. The
account shows no address before it is active, and the retries never make a second wallet or policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from dfns_sandbox import SandboxServer
from local_stack.dfns_setup import register_service_account
from managed_accounts.api.models import AccountOut
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.errors import DfnsUnavailable
from managed_accounts.dfns.models import NativeTransferBody
from managed_accounts.dfns.signing import UserActionSigner
from managed_accounts.domain.onboarding import ONBOARDING_LEASE, OnboardingService
from managed_accounts.errors import AccountNotReady, DomainError

from tests.fakes.memory_repository import MemoryAccountsRepository
from tests.fakes.recording import FixedClock, RecordingPublisher
from tests.fakes.world import make_settings

ANYWHERE = "0x" + "ab" * 20
ONBOARDING_CALLS = 2  # create the policy, create the wallet (the happy path)


class FailOnce:
    """The Dfns client, except that its ``fail_at``-th call fails; ``reached`` makes Dfns act first."""

    def __init__(self, inner: DfnsClient, fail_at: int, *, reached: bool) -> None:
        self._inner = inner
        self._fail_at = fail_at
        self._reached = reached
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self._fail_at:
                if self._reached:
                    attr(*args, **kwargs)
                raise DfnsUnavailable("injected failure", may_have_reached_dfns=self._reached)
            return attr(*args, **kwargs)

        return call


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer("127.0.0.1", 0) as server:
        yield server


@pytest.fixture(scope="module")
def dfns(sandbox: SandboxServer) -> Iterator[DfnsClient]:
    identity = register_service_account(sandbox, name="managed-accounts")
    client = DfnsClient(
        sandbox.url,
        identity.token,
        UserActionSigner(identity.cred_id, identity.private_key_pem),
        http_client=httpx.Client(timeout=10, verify=False),
    )
    yield client
    client.close()


def _client_wallets(dfns: DfnsClient, client_id: str) -> list[str]:
    return [w.id for w in dfns.iter_wallets() if f"client:{client_id}" in w.tags]


def _assert_every_wallet_is_guarded(sandbox: SandboxServer, dfns: DfnsClient, client_id: str) -> None:
    for wallet_id in _client_wallets(dfns, client_id):
        httpx.post(f"{sandbox.url}/sandbox/deposits", json={"walletId": wallet_id, "amount": "10"})
        transfer = dfns.transfer(wallet_id, NativeTransferBody(to=ANYWHERE, amount="1"))
        assert transfer.status == "Rejected", f"{wallet_id} paid an unapproved address"


def _onboard_until_active(service: OnboardingService, clock: FixedClock, client_id: str) -> None:
    for _ in range(5):
        try:
            service.onboard(client_id)
            return
        except AccountNotReady:
            clock.advance(ONBOARDING_LEASE.total_seconds() + 1)
    raise AssertionError("onboarding did not converge")


@pytest.mark.parametrize("reached", [False, True], ids=["lost-before-dfns", "lost-after-dfns"])
@pytest.mark.parametrize("fail_at", range(1, ONBOARDING_CALLS + 1))
def test_a_failure_at_any_onboarding_step_never_leaves_a_wallet_unguarded(
    sandbox: SandboxServer, dfns: DfnsClient, fail_at: int, reached: bool
) -> None:
    client_id = f"closed-{fail_at}-{int(reached)}"
    repo, clock = MemoryAccountsRepository(), FixedClock()
    settings = make_settings(dfns_api_url=sandbox.url)
    failing = FailOnce(dfns, fail_at, reached=reached)

    def service(gateway: Any) -> OnboardingService:
        return OnboardingService(repo, gateway, settings, RecordingPublisher(), clock)

    with pytest.raises(DomainError):
        service(failing).onboard(client_id)
    account = repo.get_account(client_id)
    assert account is not None
    assert account.status != "active"
    assert AccountOut.of(account).address is None  # nothing to fund before the account is active
    _assert_every_wallet_is_guarded(sandbox, dfns, client_id)

    _onboard_until_active(service(dfns), clock, client_id)

    assert len(_client_wallets(dfns, client_id)) == 1
    names = [p.name for p in dfns.iter_policies() if client_id in p.name]
    assert len(names) == 1
    _assert_every_wallet_is_guarded(sandbox, dfns, client_id)


def test_the_whitelist_exists_before_the_wallet(sandbox: SandboxServer, dfns: DfnsClient) -> None:
    order: list[str] = []

    class Recording:
        def __getattr__(self, name: str) -> Callable[..., Any]:
            attr: Callable[..., Any] = getattr(dfns, name)
            if name.startswith("create_"):
                order.append(name)
            return attr

    OnboardingService(
        MemoryAccountsRepository(), Recording(), make_settings(), RecordingPublisher(), FixedClock()
    ).onboard("ordered")
    assert order == ["create_policy", "create_wallet"]
