"""Small fakes for the webhook and reconciler tests: Dfns re-reads, the approval sink, accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from managed_accounts.dfns.errors import DfnsNotFound, DfnsUnavailable
from managed_accounts.dfns.models import (
    Approval,
    BlockAction,
    Policy,
    TransferRequest,
    Wallet,
    WhitelistConfiguration,
    WhitelistRule,
)


@dataclass(frozen=True)
class Claim:
    approval_id: str | None


@dataclass(frozen=True)
class Account:
    client_id: str
    wallet_id: str | None
    whitelist_policy_id: str | None = None
    limit_profile: str | None = "standard"
    status: str = "active"
    claim: Claim | None = None


@dataclass(frozen=True)
class Destination:
    address: str


class FakeDfns:
    """What Dfns says now. ``down`` makes every read raise DfnsUnavailable; ``down_for`` only for some ids."""

    def __init__(self) -> None:
        self.approvals: dict[str, Approval] = {}
        self.transfers: dict[str, TransferRequest] = {}
        self.wallets: dict[str, Wallet] = {}
        self.policies: dict[str, Policy] = {}
        self.down = False
        self.down_for: set[str] = set()
        self.reads: list[str] = []

    def _read(self, object_id: str) -> None:
        self.reads.append(object_id)
        if self.down or object_id in self.down_for:
            raise DfnsUnavailable("Dfns is down", status=503)

    def get_approval(self, approval_id: str) -> Approval:
        self._read(approval_id)
        if approval_id not in self.approvals:
            raise DfnsNotFound("no such approval", status=404)
        return self.approvals[approval_id]

    def get_transfer(self, wallet_id: str, transfer_id: str) -> TransferRequest:
        self._read(transfer_id)
        transfer = self.transfers.get(transfer_id)
        if transfer is None or transfer.wallet_id != wallet_id:
            raise DfnsNotFound("no such transfer", status=404)
        return transfer

    def get_wallet(self, wallet_id: str) -> Wallet:
        self._read(wallet_id)
        if wallet_id not in self.wallets:
            raise DfnsNotFound("no such wallet", status=404)
        return self.wallets[wallet_id]

    def get_policy(self, policy_id: str) -> Policy:
        self._read(policy_id)
        if policy_id not in self.policies:
            raise DfnsNotFound("no such policy", status=404)
        return self.policies[policy_id]

    # helpers for tests
    def set_approval(self, approval_id: str, status: str) -> None:
        self.approvals[approval_id] = Approval(id=approval_id, status=status)

    def add_wallet(self, wallet_id: str, tags: list[str]) -> None:
        self.wallets[wallet_id] = Wallet(id=wallet_id, network="EthereumSepolia", tags=tags)

    def add_whitelist(self, policy_id: str, addresses: list[str], *, status: str = "Active") -> None:
        self.policies[policy_id] = Policy(
            id=policy_id,
            name=f"whitelist {policy_id}",
            activity_kind="Wallets:Sign",
            rule=WhitelistRule(configuration=WhitelistConfiguration(addresses=addresses)),
            action=BlockAction(),
            status=status,
        )


class FakeApprovalSink:
    """Forward-only like DestinationService.apply_approval: knows some approval ids, resolves each once."""

    def __init__(self, known: set[str] | None = None) -> None:
        self.known = set(known or ())
        self.resolved: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None
        self.submitted_for: list[str] = []
        # What applying does beyond recording it (e.g. updating a test's mirror).
        self.on_apply: Callable[[Approval], None] = lambda approval: None

    def submit_next_batch(self, client_id: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.submitted_for.append(client_id)

    def apply_approval(self, approval: Approval) -> bool:
        self.calls.append((approval.id, approval.status))
        if self.fail_with is not None:
            raise self.fail_with
        if approval.id not in self.known or approval.status == "Pending" or approval.id in self.resolved:
            return False
        self.resolved[approval.id] = approval.status
        self.on_apply(approval)
        return True


class FakeOrders:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str]] = []

    def record_transfer(self, client_id: str, transfer: TransferRequest) -> bool:
        self.recorded.append((client_id, transfer.id, transfer.status))
        return True


@dataclass
class FakeAccounts:
    """The repository slice the webhook and the reconciler use."""

    accounts: list[Account] = field(default_factory=list)
    submitted: list[tuple[str, str]] = field(default_factory=list)
    mirror: dict[str, list[str]] = field(default_factory=dict)
    queued: list[str] = field(default_factory=list)

    def iter_clients_with_queued_requests(self) -> Iterator[str]:
        return iter(list(self.queued))

    def get_account_by_wallet(self, wallet_id: str) -> Account | None:
        return next((a for a in self.accounts if a.wallet_id == wallet_id), None)

    def iter_accounts(self) -> Iterator[Account]:
        return iter(self.accounts)

    def iter_submitted_approval_ids(self) -> Iterator[tuple[str, str]]:
        return iter(list(self.submitted))

    def list_destinations(self, client_id: str) -> list[Destination]:
        return [Destination(a) for a in self.mirror.get(client_id, [])]
