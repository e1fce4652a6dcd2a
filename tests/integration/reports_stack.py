"""The product's reports wired over moto DynamoDB and the Dfns sandbox in-process, as ``wiring`` builds
them: the real Dfns client (signed user actions), the product's own bootstrap, onboarding and
destinations, the audit trail filed by the publishing wrapper and the decision recorder, the audit-log
ingestion, and the reports handler.

The sandbox has no ``GET /auth/action/logs/{id}`` yet (another branch adds it). Until it does,
``SignedActionSource`` answers that route from what the compliance officer's key really signed for
the decision (captured as the officer's client signed it), in the shape of DFNS.md §6; once the
sandbox serves the route, the sandbox's answer is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
import httpx
from cryptography.hazmat.primitives import serialization
from dfns_sandbox import SandboxServer
from local_stack.dfns_setup import DfnsIdentity, officer_credentials, register_service_account
from managed_accounts.bootstrap import bootstrap_dfns
from managed_accounts.data.audit_repository import DynamoAuditRepository, DynamoPolicyRegistry
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.data.schema import main_table_definition
from managed_accounts.dfns.assertions import CryptographySignatureVerifier
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.errors import DfnsNotFound
from managed_accounts.dfns.models import (
    Approval,
    AuditLogDetail,
    AuditLogExport,
    AuditLogRow,
    DecisionBody,
    NativeTransferBody,
    TransferRequest,
)
from managed_accounts.dfns.signing import KeyAssertion, UserActionSigner, b64url_decode
from managed_accounts.domain.activity import ActivityService
from managed_accounts.domain.audit_facts import dfns_ids_in
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


class CapturingSigner(UserActionSigner):
    """The officer's own signer, remembering each assertion it makes (what Dfns would log)."""

    def __init__(self, cred_id: str, private_key_pem: str) -> None:
        super().__init__(cred_id, private_key_pem)
        self.assertions: list[tuple[str, KeyAssertion]] = []

    def sign(self, challenge: str, *, allowed_cred_ids: Any = None) -> KeyAssertion:
        assertion = super().sign(challenge, allowed_cred_ids=allowed_cred_ids)
        self.assertions.append((challenge, assertion))
        return assertion


@dataclass
class SignedDecision:
    challenge: str
    assertion: KeyAssertion


class SignedActionSource:
    """The audit log as the ingestion reads it: the service account's client, with the detail route
    answered from the officer's captured signatures while the sandbox lacks it."""

    def __init__(self, client: DfnsClient, officer_public_key: str) -> None:
        self._client = client
        self._officer_public_key = officer_public_key
        self.signed: dict[str, SignedDecision] = {}  # approval id -> what the officer signed
        self._rows: dict[str, AuditLogRow] = {}
        self.detail_calls = 0

    def audit_log_export(
        self, start: datetime, end: datetime, *, user_id: str | None = None
    ) -> AuditLogExport:
        export = self._client.audit_log_export(start, end, user_id=user_id)
        self._rows.update({row.audit_log_id: row for row in export.rows})
        return export

    def get_approval(self, approval_id: str) -> Approval:
        return self._client.get_approval(approval_id)

    def get_audit_log(self, log_id: str) -> AuditLogDetail:
        self.detail_calls += 1
        try:
            return self._client.get_audit_log(log_id)
        except DfnsNotFound:
            return self._captured_detail(log_id)

    def _captured_detail(self, log_id: str) -> AuditLogDetail:
        row = self._rows.get(log_id)
        approval_id = (
            next((i for i in dfns_ids_in(row.summary) if i.startswith("ap-")), None) if row else None
        )
        signed = self.signed.get(approval_id or "")
        if row is None or approval_id is None or signed is None:
            raise DfnsNotFound("no such audit log", status=404)
        return AuditLogDetail.model_validate(
            {
                "id": log_id,
                "action": f"POST /v2/policy-approvals/{approval_id}/decisions",
                "userId": row.user_id,
                "username": row.username,
                "datePerformed": row.date_performed.isoformat(),
                "challenge": signed.challenge,
                "firstFactorCredential": {
                    "credId": signed.assertion.cred_id,
                    "kind": "Key",
                    "publicKey": self._officer_public_key,
                    "signature": signed.assertion.signature,
                    "clientData": signed.assertion.client_data,
                },
            }
        )


def _client(
    server: SandboxServer, identity: DfnsIdentity, signer: UserActionSigner | None = None
) -> DfnsClient:
    return DfnsClient(
        server.url,
        identity.token,
        signer or UserActionSigner(identity.cred_id, identity.private_key_pem),
        http_client=httpx.Client(timeout=10, verify=False),
    )


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return bytes(public).decode()


class ReportsStack:
    def __init__(self, server: SandboxServer, dynamodb: Any, table_name: str) -> None:
        dynamodb.create_table(**main_table_definition(table_name))
        table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10, verify=False)
        self.service_account = register_service_account(server, name="managed-accounts")
        officer = officer_credentials(server)
        self.officer_id = officer.user_id
        self.officer_signer = CapturingSigner(officer.cred_id, officer.private_key_pem)
        self.dfns = _client(server, self.service_account)
        self.officer = _client(server, officer, self.officer_signer)
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
        self.source = SignedActionSource(self.dfns, _public_pem(officer.private_key_pem))
        self.ingest = AuditIngestJob(
            source=self.source,
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
        return call(lambda e, c: reports_handler.handler(e, c, service=service), event)

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
        self.source.signed[request.approval_id] = SignedDecision(*self.officer_signer.assertions[-1])
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
