"""The product's own DfnsClient against the sandbox: the whole destination-approval story end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from dfns_sandbox import SandboxServer
from dfns_sandbox.permissions import SERVICE_ACCOUNT_ROLE
from local_stack.officer import OfficerDfnsClient
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.errors import DfnsAuthError, DfnsConflict
from managed_accounts.dfns.models import (
    AlwaysTriggerRule,
    ApprovalGroup,
    Approvers,
    BlockAction,
    CreateWalletBody,
    DecisionBody,
    IdsFilter,
    NativeTransferBody,
    PolicyBody,
    PolicyFilters,
    RequestApprovalAction,
    TagsFilter,
    UserIdIn,
    WhitelistConfiguration,
    WhitelistRule,
)
from managed_accounts.dfns.signing import UserActionSigner, b64url_decode
from managed_accounts.domain.ports import ChangeRequestPending, PolicyApplied

from tests.contract.dfns_helpers import new_key, public_pem

APPROVED = "0x" + "ab" * 20
ELSEWHERE = "0x" + "cd" * 20


def whitelist(addresses: list[str]) -> PolicyBody:
    return PolicyBody(
        name="whitelist client:c1",
        activity_kind="Wallets:Sign",
        rule=WhitelistRule(configuration=WhitelistConfiguration(addresses=addresses)),
        action=BlockAction(),
        filters=PolicyFilters(wallet_tags=TagsFilter(has_any=["client:c1"])),
    )


@pytest.fixture
def clients(sandbox: SandboxServer) -> Iterator[tuple[DfnsClient, OfficerDfnsClient, OfficerDfnsClient]]:
    """The service account's client (default role), the officer's, and an officer-style client holding
    the service account's credentials (to show the sandbox refuses what its role lacks)."""
    key = new_key("ed25519")
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    creds = sandbox.register_service_account(public_pem(key), "managed-accounts")
    officer = sandbox.officer
    with (
        DfnsClient(sandbox.url, creds.access_token, UserActionSigner(creds.cred_id, pem)) as service,
        OfficerDfnsClient(
            sandbox.url, officer.token, UserActionSigner(officer.cred_id, officer.private_key_pem)
        ) as human,
        OfficerDfnsClient(
            sandbox.url, creds.access_token, UserActionSigner(creds.cred_id, pem), max_attempts=1
        ) as impostor,
    ):
        yield service, human, impostor


Clients = tuple[DfnsClient, OfficerDfnsClient, OfficerDfnsClient]


def test_destination_approval_story(sandbox: SandboxServer, clients: Clients):
    service, officer, impostor = clients
    wallet = service.create_wallet(
        CreateWalletBody(network="EthereumSepolia", name="Café client", tags=["client:c1"], external_id="c1")
    )
    assert wallet.tags == ["client:c1"]
    assert wallet.name == "Café client"  # non-ASCII: the client signs the exact bytes it sends
    httpx.post(f"{sandbox.url}/sandbox/deposits", json={"walletId": wallet.id, "amount": str(10**18)})
    with pytest.raises(DfnsConflict):
        service.create_wallet(CreateWalletBody(network="EthereumSepolia", external_id="c1"))

    policy = service.create_policy(whitelist([]))
    governance = service.create_policy(
        PolicyBody(
            name="compliance governance",
            activity_kind="Policies:Modify",
            rule=AlwaysTriggerRule(),
            action=RequestApprovalAction(
                approval_groups=[
                    ApprovalGroup(
                        name="compliance",
                        quorum=1,
                        approvers=Approvers(user_id=UserIdIn(in_=[sandbox.officer.user_id])),
                    )
                ]
            ),
            filters=PolicyFilters(policy_id=IdsFilter(in_=[policy.id])),
        )
    )
    assert governance.activity_kind == "Policies:Modify"

    outcome = service.update_policy(policy.id, whitelist([APPROVED]))
    assert isinstance(outcome, ChangeRequestPending)
    change = outcome.change_request
    assert change.status == "Pending"
    assert change.approval_id is not None
    assert service.get_policy(policy.id).pending_change_request is not None
    pending = list(service.iter_approvals(status="Pending"))
    assert [a.id for a in pending] == [change.approval_id]

    assert not hasattr(service, "decide_approval")  # the product's client has no way to vote
    with pytest.raises(DfnsAuthError):  # and Dfns refuses the service account's vote anyway
        impostor.decide_approval(change.approval_id, DecisionBody(value="Approved"))
    approval = officer.decide_approval(change.approval_id, DecisionBody(value="Approved", reason="KYC ok"))
    assert approval.status == "Approved"
    assert [d.user_id for d in approval.decisions] == [sandbox.officer.user_id]

    applied = service.get_policy(policy.id)
    assert applied.pending_change_request is None
    assert applied.rule.configuration.addresses == [APPROVED]  # type: ignore[union-attr]

    paid = service.transfer(wallet.id, NativeTransferBody(to=APPROVED, amount="1000", external_id="run1:c1"))
    blocked = service.transfer(wallet.id, NativeTransferBody(to=ELSEWHERE, amount="1000"))
    assert blocked.status == "Rejected"
    assert blocked.reason == "Blocked by policy: whitelist client:c1"
    assert (
        service.transfer(wallet.id, NativeTransferBody(to=APPROVED, amount="1000", external_id="run1:c1")).id
        == paid.id
    )
    sandbox.advance(60)
    confirmed = service.get_transfer(wallet.id, paid.id)
    assert confirmed.status == "Confirmed"
    assert confirmed.tx_hash
    assert [t.id for t in service.iter_transfers(wallet.id, page_size=1)] == [blocked.id, paid.id]
    assert [e.direction for e in service.iter_wallet_history(wallet.id)] == ["Out", "In"]

    now = datetime.now(UTC)
    rows = officer.audit_logs(
        now - timedelta(days=1), now + timedelta(days=1), user_id=sandbox.officer.user_id
    )
    decided = f"POST /v2/policy-approvals/{change.approval_id}/decisions"
    assert [r.action_path for r in rows] == [decided]  # the concrete path: the approval is named
    log = service.get_audit_log(rows[0].audit_log_id)  # who approved, with the proof
    assert (log.user_id, log.response_status, log.action) == (sandbox.officer.user_id, 200, decided)
    credential = log.first_factor_credential
    assert credential is not None
    assert credential.public_key is not None
    assert credential.signature is not None
    assert credential.client_data is not None
    officer_key = serialization.load_pem_public_key(credential.public_key.encode())
    assert isinstance(officer_key, ed25519.Ed25519PublicKey)
    officer_key.verify(b64url_decode(credential.signature), b64url_decode(credential.client_data))
    assert json.loads(b64url_decode(credential.client_data))["challenge"] == log.challenge  # this action's


def test_the_service_account_reads_its_own_permissions(clients: Clients):
    service, officer, _ = clients
    user_id = service.token_user_id()
    assert user_id is not None
    assert user_id.startswith("us-")

    held = service.own_permissions()

    assert held.user_id == user_id
    [role] = held.roles
    assert role.name == "ManagedAccountsServiceAccount"
    assert sorted(role.operations) == sorted(SERVICE_ACCOUNT_ROLE)
    assert "Wallets:Tags:Remove" not in held.operations()
    assert held.sources_of("Wallets:Create") == [
        f"ManagedAccountsServiceAccount ({role.id})",
        "userInfo.permissions",  # the deprecated flat list says the same
    ]
    account = service.get_service_account(user_id)
    assert account.user_info.is_service_account is True
    assert [a.permission_id for a in account.assignments()] == [role.id]
    with pytest.raises(DfnsAuthError):  # reading a role needs Permissions:Read, not in its role
        service.get_permission(role.id)
    assert officer.get_permission(role.id).operations == role.operations


def test_ungoverned_update_applies_at_once(clients: Clients):
    service, officer, _ = clients
    policy = service.create_policy(whitelist([]))
    outcome = service.update_policy(policy.id, whitelist([APPROVED]))
    assert isinstance(outcome, PolicyApplied)
    with pytest.raises(DfnsAuthError):  # the service account's role has no Policies:Delete
        service.archive_policy(policy.id)
    archived = officer.archive_policy(policy.id)
    assert isinstance(archived, PolicyApplied)
    assert archived.policy.status == "Archived"
