"""GET /accounts/me/restrictions: what Dfns enforces on the client's wallet now, read from Dfns.

Reads by id only, a fixed number whatever the number of clients: the client's wallet and whitelist
policy live on every call; the governance policy and the client's limit-profile policies, whose ids the
bootstrap recorded (``PolicyRegistry``), through a warm-container cache of at most 60 s. Never a
listing. Each difference between Dfns and the product's mirror is reported as drift, a missing tag
loudest of all: it means a policy no longer binds the wallet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from managed_accounts.dfns.errors import DfnsError, DfnsNotFound
from managed_accounts.dfns.models import Policy, Wallet
from managed_accounts.domain.models import DestinationRequest
from managed_accounts.domain.ports import AccountsRepository, Clock, PolicyRegistry, ReportsDfnsGateway
from managed_accounts.domain.report_accounts import client_account
from managed_accounts.domain.report_models import SharedPolicyIds
from managed_accounts.domain.restriction_views import (
    DriftItem,
    GovernanceView,
    LimitView,
    ViewContext,
    WalletView,
    WhitelistView,
    governance_view,
    limit_view,
    wallet_view,
    whitelist_view,
)
from managed_accounts.errors import from_dfns

SHARED_POLICY_TTL = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Restrictions:
    client_id: str
    wallet: WalletView
    whitelist: WhitelistView
    limit_profile: str
    limits: list[LimitView]
    governance: GovernanceView
    pending: list[DestinationRequest]
    policy_ids: list[str]
    drift: list[DriftItem]
    generated_at: datetime

    @property
    def enforced_as_shown(self) -> bool:
        return not self.drift


@dataclass(slots=True)
class _Cached:
    policy: Policy | None  # None: Dfns answered 404
    fetched_at: datetime


@dataclass(slots=True)
class SharedPolicyCache:
    """The shared policies and their recorded ids, kept for ``ttl`` in the warm container."""

    registry: PolicyRegistry
    dfns: ReportsDfnsGateway
    clock: Clock
    ttl: timedelta = SHARED_POLICY_TTL
    _ids: tuple[SharedPolicyIds | None, datetime] | None = None
    _policies: dict[str, _Cached] = field(default_factory=dict)

    def ids(self) -> SharedPolicyIds | None:
        now = self.clock.now()
        if self._ids is None or now - self._ids[1] >= self.ttl:
            self._ids = (self.registry.shared_policies(), now)
        return self._ids[0]

    def policy(self, policy_id: str) -> tuple[Policy | None, datetime]:
        now = self.clock.now()
        cached = self._policies.get(policy_id)
        if cached is None or now - cached.fetched_at >= self.ttl:
            cached = _Cached(_read_policy(self.dfns, policy_id), now)
            self._policies[policy_id] = cached
        return cached.policy, cached.fetched_at


def _read_policy(dfns: ReportsDfnsGateway, policy_id: str) -> Policy | None:
    try:
        return dfns.get_policy(policy_id)
    except DfnsNotFound:
        return None
    except DfnsError as error:
        raise from_dfns(error) from error


def _read_wallet(dfns: ReportsDfnsGateway, wallet_id: str) -> Wallet | None:
    try:
        return dfns.get_wallet(wallet_id)
    except DfnsNotFound:
        return None
    except DfnsError as error:
        raise from_dfns(error) from error


class RestrictionsService:
    def __init__(
        self,
        accounts: AccountsRepository,
        dfns: ReportsDfnsGateway,
        registry: PolicyRegistry,
        clock: Clock,
        *,
        cache_ttl: timedelta = SHARED_POLICY_TTL,
    ) -> None:
        self._accounts = accounts
        self._dfns = dfns
        self._clock = clock
        self._shared = SharedPolicyCache(registry, dfns, clock, cache_ttl)

    def restrictions(self, client_id: str) -> Restrictions:
        account = client_account(self._accounts, client_id)
        now = self._clock.now()
        wallet = _read_wallet(self._dfns, str(account.wallet_id))
        whitelist = (
            _read_policy(self._dfns, account.whitelist_policy_id) if account.whitelist_policy_id else None
        )
        ctx = ViewContext(account, wallet, now, [])
        wallet_part = wallet_view(ctx)
        whitelist_part = whitelist_view(ctx, whitelist, self._accounts.list_destinations(client_id))
        shared = self._shared.ids()
        limit_ids = self._limit_ids(ctx, shared)
        limits = [limit_view(ctx, pid, *self._shared.policy(pid)) for pid in limit_ids]
        governance_id = shared.governance_policy_id if shared else None
        governance_policy, governance_read = (
            self._shared.policy(governance_id) if governance_id else (None, now)
        )
        governance = governance_view(
            ctx, governance_id, governance_policy, governance_read, known=shared is not None
        )
        policy_ids = sorted(
            {pid for pid in (account.whitelist_policy_id, governance_id, *limit_ids) if pid is not None}
        )
        return Restrictions(
            client_id=client_id,
            wallet=wallet_part,
            whitelist=whitelist_part,
            limit_profile=account.limit_profile,
            limits=limits,
            governance=governance,
            pending=self._pending(client_id),
            policy_ids=policy_ids,
            drift=ctx.drift,
            generated_at=now,
        )

    @staticmethod
    def _limit_ids(ctx: ViewContext, shared: SharedPolicyIds | None) -> tuple[str, ...]:
        if shared is None:
            ctx.drift.append(
                DriftItem(
                    "shared_policies_unknown",
                    "critical",
                    "the ids of the governance and limit policies were never recorded by the bootstrap: "
                    "the limits and the governance cannot be verified",
                )
            )
            return ()
        limit_ids = shared.for_profile(ctx.account.limit_profile)
        if not limit_ids:
            ctx.drift.append(
                DriftItem(
                    "limits_unknown",
                    "critical",
                    f"no limit policies are recorded for the profile {ctx.account.limit_profile!r}",
                    {"limitProfile": ctx.account.limit_profile},
                )
            )
        return limit_ids

    def _pending(self, client_id: str) -> list[DestinationRequest]:
        entries = self._accounts.list_pending(client_id)
        return self._accounts.get_requests(client_id, [e.request_id for e in entries])
