"""The client against the local Dfns sandbox in-process (WSGI, no sockets): the sandbox really verifies
user-action signatures and declared payloads, so this checks the two sides agree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from dfns_sandbox.app import SandboxApp
from dfns_sandbox.core import Sandbox
from local_stack.officer import OfficerDfnsClient
from managed_accounts.dfns.errors import DfnsAuthError
from managed_accounts.dfns.models import (
    AlwaysTriggerRule,
    ApprovalGroup,
    Approvers,
    BlockAction,
    CreateWalletBody,
    DecisionBody,
    IdsFilter,
    PolicyBody,
    PolicyFilters,
    RequestApprovalAction,
    UserIdIn,
    WhitelistConfiguration,
    WhitelistRule,
)
from managed_accounts.dfns.signing import UserActionSigner
from managed_accounts.domain.ports import ChangeRequestPending

from tests.unit.dfns.conftest import KEY_TYPES, pem_of


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def connect(sandbox: Sandbox) -> Iterator[Any]:
    app = SandboxApp(sandbox)
    opened: list[httpx.Client] = []

    def client(token: str, cred_id: str, pem: str) -> OfficerDfnsClient:
        """A client with the officer-only calls too: whether they work is up to the sandbox's roles."""
        opened.append(httpx.Client(transport=httpx.WSGITransport(app=app, remote_addr="127.0.0.1")))
        signer = UserActionSigner(cred_id, pem)
        return OfficerDfnsClient("http://sandbox", token, signer, http_client=opened[-1])

    yield client
    for http in opened:
        http.close()


def _service_account(sandbox: Sandbox, connect: Any, key: Any) -> OfficerDfnsClient:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    account = sandbox.register_service_account(public.decode(), "managed-accounts")
    client: OfficerDfnsClient = connect(account.access_token, account.cred_id, pem_of(key))
    return client


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_signed_calls_are_accepted_for_every_key_type(
    key_type: str, private_keys: dict[str, Any], sandbox: Sandbox, connect: Any
) -> None:
    client = _service_account(sandbox, connect, private_keys[key_type])
    officer_creds = sandbox.officers[0]
    officer = connect(officer_creds.token, officer_creds.cred_id, officer_creds.private_key_pem)

    wallet = client.create_wallet(CreateWalletBody(network="EthereumSepolia", name="Café 東京"))
    client.tag_wallet(wallet.id, ["client:c-1"])
    officer.untag_wallet(wallet.id, ["client:c-1"])  # the service account's role cannot untag

    assert client.get_wallet(wallet.id).name == "Café 東京"
    assert client.get_wallet(wallet.id).tags == []
    assert [w.id for w in client.iter_wallets(page_size=1)] == [wallet.id]


def test_governed_policy_change_waits_for_the_officer(
    private_keys: dict[str, Any], sandbox: Sandbox, connect: Any
) -> None:
    service = _service_account(sandbox, connect, private_keys["ECDSA-P256"])
    officer_creds = sandbox.officers[0]
    officer = connect(officer_creds.token, officer_creds.cred_id, officer_creds.private_key_pem)
    whitelist = service.create_policy(
        PolicyBody(
            name="whitelist c-1",
            activity_kind="Wallets:Sign",
            rule=WhitelistRule(configuration=WhitelistConfiguration(addresses=["0xabc"])),
            action=BlockAction(),
        )
    )
    approvers = Approvers(user_id=UserIdIn(in_=[officer_creds.user_id]))
    service.create_policy(
        PolicyBody(
            name="governance",
            activity_kind="Policies:Modify",
            rule=AlwaysTriggerRule(),
            action=RequestApprovalAction(approval_groups=[ApprovalGroup(quorum=1, approvers=approvers)]),
            filters=PolicyFilters(policy_id=IdsFilter(in_=[whitelist.id])),
        )
    )
    change = whitelist.body()
    change.rule = WhitelistRule(configuration=WhitelistConfiguration(addresses=["0xabc", "0xdef"]))

    outcome = service.update_policy(whitelist.id, change)

    assert isinstance(outcome, ChangeRequestPending)
    approval_id = outcome.change_request.approval_id
    assert approval_id is not None
    with pytest.raises(DfnsAuthError):  # its role has no vote (and a service account never votes)
        service.decide_approval(approval_id, DecisionBody(value="Approved"))
    assert officer.decide_approval(approval_id, DecisionBody(value="Approved", reason="checked")).status == (
        "Approved"
    )
    rule = service.get_policy(whitelist.id).rule
    assert isinstance(rule, WhitelistRule)
    assert rule.configuration.addresses == ["0xabc", "0xdef"]
    now = datetime.now(UTC)
    rows = service.audit_logs(now - timedelta(days=1), now + timedelta(days=1))
    assert any(r.action_path.startswith("PUT /v2/policies") for r in rows)
