"""The product's reports wired over moto DynamoDB and the Dfns sandbox in-process, as ``wiring`` builds
them: the real Dfns client (signed user actions), the product's own bootstrap, onboarding and
destinations, the audit trail filed by the publishing wrapper and the decision recorder, the audit-log
ingestion, and the reports handler.

The compliance officer decides with their own client (``local_stack.officer``: their token and key);
the ingestion reads the officer's signed actions from the sandbox's ``GET /auth/action/logs/{id}`` (the
real clientData, signature, credential public key, and the challenge ``/auth/action/init`` issued).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3
import httpx
from dfns_sandbox import SandboxServer
from local_stack.dfns_setup import DfnsIdentity, officer_credentials, register_service_account
from local_stack.officer import officer_client
from managed_accounts.bootstrap import bootstrap_dfns
from managed_accounts.data.audit_repository import DynamoAuditRepository, DynamoPolicyRegistry
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.data.schema import main_table_definition
from managed_accounts.dfns.assertions import CryptographySignatureVerifier
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.models import DecisionBody, NativeTransferBody, TransferRequest
from managed_accounts.dfns.signing import UserActionSigner, b64url_decode
from managed_accounts.domain.activity import ActivityService
from managed_accounts.domain.audit_ingest import AuditIngestJob
from managed_accounts.domain.audit_trail import AuditingPublisher, AuditTrailService, DecisionRecorder
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.models import Account, DestinationRequest
from managed_accounts.domain.onboarding import OnboardingService
from managed_accounts.domain.reports import ClientReports
from managed_accounts.domain.restrictions import RestrictionsService
from managed_accounts.domain.statement import StatementService
from managed_accounts.shared_policies import shared_policy_ids

import functions.reports.handler as reports_handler
from tests.fakes.apigw import HttpResult, call, rest_event
from tests.fakes.recording import RecordingPublisher
from tests.fakes.world import REGION, make_settings

ONE_ETH = 10**18


class SandboxTime:
    """The product's clock reads the sandbox's (frozen) clock, so product facts and Dfns facts share a
    time line."""

    def __init__(self, server: SandboxServer) -> None:
        self._server = server

    def now(self) -> datetime:
        return self._server.sandbox.clock.now()


def _client(server: SandboxServer, identity: DfnsIdentity) -> DfnsClient:
    return DfnsClient(
        server.url,
        identity.token,
        UserActionSigner(identity.cred_id, identity.private_key_pem),
        http_client=httpx.Client(timeout=10, verify=False),
    )


class ReportsStack:
    def __init__(self, server: SandboxServer, dynamodb: Any, table_name: str) -> None:
        dynamodb.create_table(**main_table_definition(table_name))
        table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10, verify=False)
        self.service_account = register_service_account(server, name="managed-accounts")
        officer = officer_credentials(server)
        self.officer_id = officer.user_id
        self.dfns = _client(server, self.service_account)
        self.officer = officer_client(server.url, officer, http_client=httpx.Client(timeout=10, verify=False))
        self.clock = SandboxTime(server)
        self.settings = make_settings(
            table_name=table_name, dfns_api_url=server.url, compliance_approver_ids=[officer.user_id]
        )
        self.accounts = DynamoAccountsRepository(table)
        self.audit = DynamoAuditRepository(table)
        self.registry = DynamoPolicyRegistry(table)
        self.bus = RecordingPublisher()
        publisher = AuditingPublisher(self.bus, self.audit)
        self.onboarding = OnboardingService(self.accounts, self.dfns, self.settings, publisher, self.clock)
        self.destinations = DestinationService(self.accounts, self.dfns, publisher, self.clock)
        self.webhook = DecisionRecorder(self.destinations, self.accounts, self.audit)  # as wiring composes it
        self.ingest = AuditIngestJob(
            source=self.dfns,  # the service account's client, as wiring builds it (Auth:Logs:Read)
            accounts=self.accounts,
            audit=self.audit,
            clock=self.clock,
            settle=timedelta(0),
        )
        self.table = table

    def close(self) -> None:
        self.dfns.close()
        self.officer.close()
        self.http.close()

    # --- the product's side ------------------------------------------------------------------------

    def bootstrap(self) -> None:
        result = bootstrap_dfns(
            self.dfns,
            self.settings,
            webhook_url="http://127.0.0.1:9/webhooks/dfns",
            store_webhook_secret=lambda _: None,
        )
        self.registry.record_shared_policies(shared_policy_ids(result, self.settings, self.clock.now()))

    def reports(self) -> ClientReports:
        """A fresh reports service (a cold container: nothing cached), built as ``wiring.client_reports``."""
        return ClientReports(
            restrictions_service=RestrictionsService(self.accounts, self.dfns, self.registry, self.clock),
            activity_service=ActivityService(self.accounts, self.dfns),
            audit_service=AuditTrailService(self.accounts, self.audit, CryptographySignatureVerifier()),
            statement_service=StatementService(self.accounts, self.dfns, self.audit, self.clock),
            clock=self.clock,
        )

    def get(
        self,
        client_id: str,
        path: str,
        query: dict[str, str] | None = None,
        reports: ClientReports | None = None,
    ) -> HttpResult:
        service = reports or self.reports()
        resource = path
        params = None
        if path.endswith("/verification"):
            resource = "/accounts/me/audit/{entryId}/verification"
            params = {"entryId": path.split("/")[-2]}
        event = rest_event(
            "GET", path, client_id=client_id, query=query, resource=resource, path_parameters=params
        )
        return call(reports_handler.handler, event, service=service)

    def onboard(self, client_id: str) -> Account:
        account = self.onboarding.onboard(client_id).account
        assert account.status == "active"
        return account

    def request_and_decide(
        self, client_id: str, address: str, label: str, value: str, reason: str | None = None
    ) -> DestinationRequest:
        request = self.destinations.request_destination(client_id, address, label)
        assert request.status == "submitted"
        assert request.approval_id
        decided = self.officer.decide_approval(request.approval_id, DecisionBody(value=value, reason=reason))
        assert decided.status == ("Approved" if value == "Approved" else "Denied")
        assert self.webhook.apply_approval(self.dfns.get_approval(request.approval_id))  # the webhook
        stored = self.accounts.get_request(client_id, request.request_id)
        assert stored is not None
        return stored

    # --- the sandbox's side ------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.server.advance(seconds)

    def deposit(self, wallet_id: str, amount: int, sender: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"walletId": wallet_id, "amount": str(amount)}
        if sender:
            body["from"] = sender
        response = self.http.post("/sandbox/deposits", json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def transfer(self, wallet_id: str, to: str, amount: int) -> TransferRequest:
        submitted = self.dfns.transfer(wallet_id, NativeTransferBody(to=to, amount=str(amount)))
        if not submitted.is_terminal:
            self.advance(15)
        return self.dfns.get_transfer(wallet_id, submitted.id)

    def dfns_requests_during(self, action: Callable[[], Any]) -> tuple[Any, dict[str, int]]:
        self.http.delete("/sandbox/requests").raise_for_status()
        result = action()
        counts: dict[str, int] = self.http.get("/sandbox/requests").json()["counts"]
        return result, {
            route: n for route, n in counts.items() if not route.split(" ", 1)[1].startswith("/sandbox")
        }

    def tamper_signature(self, client_id: str, entry_id: str) -> None:
        """Alters the stored signature of a decision by one byte, as a forger with table access would."""
        from managed_accounts.data.audit_items import entry_key
        from managed_accounts.dfns.signing import b64url

        item: dict[str, Any] = dict(self.table.get_item(Key=entry_key(client_id, entry_id))["Item"])
        evidence: dict[str, Any] = dict(item["evidence"])
        raw = bytearray(b64url_decode(str(evidence["signature"])))
        raw[5] ^= 0x01
        item["evidence"] = {**evidence, "signature": b64url(bytes(raw))}
        self.table.put_item(Item=item)
