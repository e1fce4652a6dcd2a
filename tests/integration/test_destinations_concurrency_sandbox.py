"""Concurrent destination requests for one client, against moto DynamoDB AND the Dfns sandbox over HTTP.

Same scenario as ``test_destinations_concurrency.py``, but Dfns is the sandbox on loopback (frozen clock),
driven by the product's real ``DfnsClient``: signed user actions, the governance policy the bootstrap
creates (``Policies:Modify`` + ``AlwaysTrigger`` + ``RequestApproval`` to the compliance officer), real
202 change requests and approvals. Each thread has its own Table, repository, Dfns client and service, as
concurrent Lambdas would. The test then acts as the compliance officer (a SIGNED decision with the
officer's own credential) and as the webhook (re-read the approval as the service account, then
``apply_approval``), until nothing is queued or submitted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
import pytest
from dfns_sandbox import SandboxServer
from local_stack.dfns_setup import DfnsIdentity, officer_credentials, register_service_account
from local_stack.officer import officer_client
from managed_accounts.bootstrap import governance_policy
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.models import DecisionBody, WhitelistRule
from managed_accounts.dfns.signing import UserActionSigner
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.models import DestinationRequest
from managed_accounts.domain.onboarding import OnboardingService

from tests.fakes.recording import FixedClock, RecordingPublisher
from tests.fakes.world import REGION, idempotency_table_for, make_settings

pytestmark = pytest.mark.usefixtures("atomic_moto")

CLIENT = "sandbox-concurrent-client"
COUNT = 20
PUT_POLICY = "PUT /v2/policies/{policyId}"
DECIDE = "POST /v2/policy-approvals/{approvalId}/decisions"


def _client(sandbox: SandboxServer, identity: DfnsIdentity) -> DfnsClient:
    # Plain http on loopback: skipping the CA bundle load makes each client ~100 ms cheaper to build.
    return DfnsClient(
        sandbox.url,
        identity.token,
        UserActionSigner(identity.cred_id, identity.private_key_pem),
        http_client=httpx.Client(timeout=10, verify=False),
    )


class Lambda:
    """What one concurrent Lambda holds: its own Table object, repository, Dfns client and service."""

    def __init__(self, stack: Stack) -> None:
        table = boto3.resource("dynamodb", region_name=REGION).Table(stack.table_name)
        self.repository = DynamoAccountsRepository(table)
        self.dfns = _client(stack.sandbox, stack.service_account)
        self.destinations = DestinationService(self.repository, self.dfns, stack.publisher, stack.clock)


class Stack:
    """moto + the sandbox, the service account, the compliance officer's own client, an active client."""

    def __init__(self, table: Any, sandbox: SandboxServer) -> None:
        self.table_name = str(table.name)
        self.sandbox = sandbox
        self.service_account = register_service_account(sandbox, name="managed-accounts")  # fresh Ed25519
        self.officer = officer_credentials(sandbox)
        self.publisher, self.clock = RecordingPublisher(), FixedClock()
        self.settings = make_settings(
            table_name=self.table_name,
            idempotency_table_name=idempotency_table_for(table),
            dfns_api_url=sandbox.url,
            compliance_approver_ids=[self.officer.user_id],
        )
        self.http = httpx.Client(base_url=sandbox.url, timeout=10, verify=False)
        # the officer's own token and key (their CLI)
        self.compliance = officer_client(
            sandbox.url, self.officer, http_client=httpx.Client(timeout=10, verify=False)
        )
        self.lambdas: list[Lambda] = []
        self.main = self.new_lambda()
        self.approval_ids: list[str] = []

    def new_lambda(self) -> Lambda:
        created = Lambda(self)
        self.lambdas.append(created)
        return created

    def close(self) -> None:
        for each in self.lambdas:
            each.dfns.close()
        self.compliance.close()
        self.http.close()

    def bootstrap_and_onboard(self) -> str:
        """The bootstrap's governance policy, then onboarding; returns the client's whitelist policy id."""
        governance = self.main.dfns.create_policy(governance_policy(self.settings))
        assert governance.activity_kind == "Policies:Modify"
        onboarding = OnboardingService(
            self.main.repository, self.main.dfns, self.settings, self.publisher, self.clock
        )
        account = onboarding.onboard(CLIENT).account
        assert account.status == "active"
        assert account.whitelist_policy_id
        assert self.http.delete("/sandbox/requests").status_code == 200  # count Dfns calls from here on
        return account.whitelist_policy_id

    def unfinished(self) -> list[DestinationRequest]:
        requests = self.main.repository.list_requests(CLIENT, limit=100).items
        return [r for r in requests if r.status in ("queued", "submitted")]

    def drain(self) -> None:
        """Compliance approves what Dfns asks; the webhook re-reads each approval and applies it."""
        for _ in range(COUNT + 1):  # every round resolves at least one batch
            if not self.unfinished():
                return
            pending = list(self.compliance.iter_approvals(status="Pending"))
            assert pending, f"stalled: {len(self.unfinished())} requests wait and no approval is pending"
            for waiting in pending:
                decided = self.compliance.decide_approval(waiting.id, DecisionBody(value="Approved"))
                assert decided.status == "Approved"
                approval = self.main.dfns.get_approval(waiting.id)  # as the service account
                assert self.main.destinations.apply_approval(approval)
                self.approval_ids.append(approval.id)
        pytest.fail("did not converge")

    def request_at_once(self, addresses: list[str]) -> list[DestinationRequest]:
        """One thread (and one Lambda) per address, all released together."""
        lambdas = [self.new_lambda() for _ in addresses]
        start = threading.Barrier(len(addresses))

        def ask(index: int) -> DestinationRequest:
            start.wait()
            return lambdas[index].destinations.request_destination(CLIENT, addresses[index], f"label {index}")

        with ThreadPoolExecutor(max_workers=len(addresses)) as pool:
            return list(pool.map(ask, range(len(addresses))))

    def assert_converged(self, policy_id: str, addresses: list[str]) -> None:
        """Live whitelist, requests, mirror and claim agree; only the officer voted; batching happened."""
        live = self.main.dfns.get_policy(policy_id)
        assert live.pending_change_request is None
        assert isinstance(live.rule, WhitelistRule)
        assert sorted(live.rule.configuration.addresses) == sorted(addresses)  # every one, no duplicates
        requests = self.main.repository.list_requests(CLIENT, limit=100).items
        assert len(requests) == len(addresses)
        assert {r.status for r in requests} == {"approved"}
        assert {r.approval_id for r in requests} == set(self.approval_ids)
        assert not any(r.ungoverned for r in requests)
        assert sorted(d.address for d in self.main.repository.list_destinations(CLIENT)) == sorted(addresses)
        assert self.main.repository.list_pending(CLIENT) == []
        account = self.main.repository.get_account(CLIENT)
        assert account is not None
        assert account.claim is None
        approved_events = [e for e in self.publisher.events if e.type == "DestinationApproved"]
        assert len(approved_events) == len(addresses)

        # The service account initiated every change; only the compliance officer ever voted.
        approvals = [self.main.dfns.get_approval(approval_id) for approval_id in self.approval_ids]
        assert {a.status for a in approvals} == {"Approved"}
        assert {a.initiator_id for a in approvals} == {self.service_account.user_id}
        assert [[d.user_id for d in a.decisions] for a in approvals] == [[self.officer.user_id]] * len(
            approvals
        )
        assert sum(x.dfns.stats.counts[DECIDE] for x in self.lambdas) == 0

        # One PUT (one change request) per approval: fewer than one per request.
        counts: dict[str, int] = self.http.get("/sandbox/requests").json()["counts"]
        assert counts[PUT_POLICY] == len(self.approval_ids)
        assert counts[PUT_POLICY] < len(addresses)
        assert counts[DECIDE] == len(self.approval_ids)
        assert sum(x.dfns.stats.counts[PUT_POLICY] for x in self.lambdas) == counts[PUT_POLICY]


@pytest.fixture
def stack(table: Any) -> Iterator[Stack]:
    with SandboxServer("127.0.0.1", 0, realtime=False) as sandbox:  # frozen clock: nothing moves by itself
        built = Stack(table, sandbox)
        try:
            yield built
        finally:
            built.close()


def test_twenty_concurrent_requests_end_approved_in_the_live_sandbox_whitelist(stack: Stack) -> None:
    policy_id = stack.bootstrap_and_onboard()
    addresses = [f"0x{i:040x}" for i in range(1, COUNT + 1)]

    created = stack.request_at_once(addresses)

    assert len({r.request_id for r in created}) == COUNT
    assert {r.status for r in created} <= {"queued", "submitted"}
    stack.drain()
    stack.assert_converged(policy_id, addresses)


def test_requests_made_while_a_change_awaits_approval_go_in_the_next_change(stack: Stack) -> None:
    """Deterministically the second path: the slot is held by a change awaiting the officer, so every
    concurrent request stays queued, and applying that approval submits them all as ONE change computed
    from the live whitelist (which by then holds the first address)."""
    policy_id = stack.bootstrap_and_onboard()
    first = stack.main.destinations.request_destination(CLIENT, "0x" + "ab" * 20, "first")
    assert first.status == "submitted"
    addresses = [f"0x{i:040x}" for i in range(1, 9)]

    created = stack.request_at_once(addresses)

    assert {r.status for r in created} == {"queued"}
    stack.drain()
    assert len(stack.approval_ids) == 2
    stack.assert_converged(policy_id, [first.address, *addresses])
