"""Onboarding: the resumable state machine ``creating_policy -> creating_wallet -> active`` (DESIGN §4).

It fails closed: the client's whitelist policy (scoped by the tag ``client:<id>``, an empty list, so it
triggers on every recipient) exists BEFORE the wallet, and the wallet carries that tag from its create
call, so no wallet ever exists unguarded. Happy path: 2 signed Dfns calls (create the policy, create the
wallet with its tags). Every Dfns create is preceded by a stored "started" marker and a short lease: if
the outcome of a create is unknown (crash, timeout after the request left), the retry LOOKS before
creating: the policy by its name, the wallet by ``externalId = clientId`` (listings: Dfns filters
neither). Those listings happen only on that recovery path. So a retry never makes a second wallet or
policy. An account that stays short of ``active`` is resumed by the reconciler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TypeVar

from managed_accounts.config import Settings
from managed_accounts.dfns.errors import DfnsConflict, DfnsError
from managed_accounts.dfns.models import (
    BlockAction,
    CreateWalletBody,
    Policy,
    PolicyBody,
    PolicyFilters,
    RequestApprovalAction,
    TagsFilter,
    Wallet,
    WhitelistConfiguration,
    WhitelistRule,
)
from managed_accounts.domain.compliance import compliance_approval
from managed_accounts.domain.events import DomainEvent
from managed_accounts.domain.models import (
    Account,
    client_tag,
    limits_tag,
    validate_client_id,
    whitelist_policy_name,
)
from managed_accounts.domain.outbox import Outbox
from managed_accounts.domain.ports import AccountsRepository, Clock, DfnsGateway, EventPublisher
from managed_accounts.errors import (
    AccountNotReady,
    ConcurrentUpdate,
    NotFound,
    from_dfns,
    may_have_taken_effect,
)
from managed_accounts.logs import get_logger

logger = get_logger("onboarding")

ONBOARDING_LEASE = timedelta(seconds=60)
_MAX_STEPS = 6
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OnboardingResult:
    account: Account
    created: bool  # True when this call made the account active (201); False if it already was (200)


class OnboardingService:
    def __init__(
        self,
        repository: AccountsRepository,
        dfns: DfnsGateway,
        settings: Settings,
        publisher: EventPublisher,
        clock: Clock,
    ) -> None:
        self._repo = repository
        self._dfns = dfns
        self._settings = settings
        self._outbox = Outbox(repository, publisher)
        self._clock = clock

    def get_account(self, client_id: str) -> Account:
        account = self._repo.get_account(validate_client_id(client_id))
        if account is None:
            raise NotFound("no account yet: POST /accounts first")
        return account

    def onboard(self, client_id: str) -> OnboardingResult:
        validate_client_id(client_id)
        account = self._repo.get_account(client_id)
        if account is None:
            now = self._clock.now()
            self._repo.create_account(
                Account(
                    client_id=client_id,
                    status="creating_policy",
                    network=self._settings.default_network,
                    limit_profile=self._settings.default_limit_profile,
                    created_at=now,
                    updated_at=now,
                )
            )
            account = self._repo.get_account(client_id)
            assert account is not None
        if account.status == "active":
            return OnboardingResult(account, created=False)
        for _ in range(_MAX_STEPS):
            try:
                account = self._advance(account)
            except ConcurrentUpdate:
                # Another call moved the record on: continue from what it wrote.
                reread = self._repo.get_account(client_id)
                assert reread is not None
                account = reread
            if account.status == "active":
                return OnboardingResult(account, created=True)
        raise ConcurrentUpdate("onboarding is busy; retry")

    # --- steps --------------------------------------------------------------------------------------

    def _advance(self, account: Account) -> Account:
        now = self._clock.now()
        if account.onboarding_lease_until and account.onboarding_lease_until > now:
            raise AccountNotReady("onboarding is in progress; retry shortly")
        if account.whitelist_policy_id is None:
            return self._guard_first(account)
        if account.wallet_id is None:
            return self._open_wallet(account)
        return self._save(replace(account, status="active", updated_at=now))

    def _guard_first(self, account: Account) -> Account:
        """The whitelist policy, before any wallet: it needs only the client id (its tag filter)."""
        policy = self._find_policy(account.client_id) if account.policy_create_started else None
        if policy is None:
            account = self._take_lease(replace(account, policy_create_started=True))
            policy = self._guarded(
                account, "policy", lambda: self._dfns.create_policy(self._policy_body(account))
            )
        return self._save(
            replace(
                account,
                status="creating_wallet" if account.wallet_id is None else "active",
                whitelist_policy_id=policy.id,
                onboarding_lease_until=None,
                updated_at=self._clock.now(),
            )
        )

    def _open_wallet(self, account: Account) -> Account:
        """The wallet, born with the tags that put it under the whitelist and the limits."""
        wallet = self._find_wallet(account.client_id) if account.wallet_create_started else None
        if wallet is None:
            account = self._take_lease(replace(account, wallet_create_started=True))
            wallet = self._guarded(account, "wallet", lambda: self._create_wallet(account))
        wallet = self._ensure_tags(account, wallet)
        return self._save(
            replace(
                account,
                status="active",
                wallet_id=wallet.id,
                address=wallet.address,
                network=wallet.network,
                onboarding_lease_until=None,
                updated_at=self._clock.now(),
            )
        )

    def _save(self, account: Account) -> Account:
        """A step's outcome; the step that makes the account active commits ``AccountOnboarded`` with it."""
        if account.status != "active":
            return self._repo.update_onboarding(account)
        events = [
            DomainEvent(
                "AccountOnboarded",
                account.client_id,
                {"walletId": account.wallet_id, "whitelistPolicyId": account.whitelist_policy_id},
                occurred_at=self._clock.now(),
            )
        ]
        saved = self._repo.update_onboarding(account, events=events)
        self._outbox.publish(events)
        return saved

    def _take_lease(self, account: Account) -> Account:
        now = self._clock.now()
        return self._repo.update_onboarding(
            replace(account, onboarding_lease_until=now + ONBOARDING_LEASE, updated_at=now)
        )

    def _guarded(self, account: Account, what: str, create: Callable[[], T]) -> T:
        """Runs a Dfns create; on failure frees the lease, and clears the "started" marker when Dfns
        certainly did not act (so the retry does not pay for a listing)."""
        try:
            return create()
        except DfnsError as error:
            reached = may_have_taken_effect(error)
            logger.warning(
                "Dfns create failed", extra={"what": what, "error": str(error), "mayHaveReached": reached}
            )
            if what == "wallet":
                account = replace(account, wallet_create_started=reached)
            else:
                account = replace(account, policy_create_started=reached)
            try:
                self._repo.update_onboarding(replace(account, onboarding_lease_until=None))
            except ConcurrentUpdate:
                logger.warning("could not free the onboarding lease; it expires by itself")
            raise from_dfns(error) from error

    def _create_wallet(self, account: Account) -> Wallet:
        body = CreateWalletBody(
            network=account.network,
            name=f"client:{account.client_id}",
            tags=[client_tag(account.client_id), limits_tag(account.limit_profile)],
            external_id=account.client_id,
        )
        try:
            # A 200 for a repeated externalId (if Dfns dedupes) simply returns the existing wallet.
            return self._dfns.create_wallet(body)
        except DfnsConflict as conflict:
            # The externalId is taken: a create that reached Dfns before (DFNS.md §3.2 shape).
            if conflict.duplicate_id:
                return self._dfns.get_wallet(conflict.duplicate_id)
            found = self._find_wallet(account.client_id)
            if found is None:
                raise
            return found

    def _ensure_tags(self, account: Account, wallet: Wallet) -> Wallet:
        """A wallet found again (not created just now) might lack a tag: add what is missing."""
        missing = [
            t
            for t in (client_tag(account.client_id), limits_tag(account.limit_profile))
            if t not in wallet.tags
        ]
        if missing:
            try:
                self._dfns.tag_wallet(wallet.id, missing)
            except DfnsError as error:
                raise from_dfns(error) from error
            wallet = wallet.model_copy(update={"tags": [*wallet.tags, *missing]})
        return wallet

    def _find_wallet(self, client_id: str) -> Wallet | None:
        try:
            for wallet in self._dfns.iter_wallets():
                if wallet.external_id == client_id and wallet.status != "Archived":
                    return wallet
        except DfnsError as error:
            raise from_dfns(error) from error
        return None

    def _find_policy(self, client_id: str) -> Policy | None:
        name = whitelist_policy_name(client_id)
        try:
            for policy in self._dfns.iter_policies(status="Active"):
                if policy.name == name and policy.rule.kind == "TransactionRecipientWhitelist":
                    return policy
        except DfnsError as error:
            raise from_dfns(error) from error
        return None

    def _policy_body(self, account: Account) -> PolicyBody:
        action: BlockAction | RequestApprovalAction = BlockAction()
        if self._settings.whitelist_action == "RequestApproval":
            action = compliance_approval(self._settings)
        return PolicyBody(
            name=whitelist_policy_name(account.client_id),
            activity_kind="Wallets:Sign",
            # Empty: Dfns triggers on every recipient, which is right while nothing is approved.
            rule=WhitelistRule(configuration=WhitelistConfiguration(addresses=[])),
            action=action,
            filters=PolicyFilters(wallet_tags=TagsFilter(has_all=[client_tag(account.client_id)])),
        )
