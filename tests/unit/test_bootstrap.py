"""The Dfns bootstrap: what it creates, that a re-run changes nothing, and that it converges after a crash."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from dfns_sandbox.permissions import SERVICE_ACCOUNT_ROLE
from managed_accounts.bootstrap import (
    WEBHOOK_EVENTS,
    BootstrapGateway,
    BootstrapRefused,
    SecretsManagerWebhookSecrets,
    WebhookSecretRecord,
    _matches,
    bootstrap_dfns,
    governance_policy,
)
from managed_accounts.config import LimitProfile, Settings
from managed_accounts.dfns.errors import DfnsNotFound, DfnsUnavailable
from managed_accounts.dfns.identity import HeldPermissions
from managed_accounts.dfns.models import (
    ChangeRequest,
    CreateWebhookBody,
    Permission,
    Policy,
    PolicyBody,
    Webhook,
)
from managed_accounts.domain.ports import ChangeRequestPending, PolicyApplied, PolicyChangeOutcome
from managed_accounts.secrets import SecretFormatError
from managed_accounts.wiring import BootstrapDependencies
from moto import mock_aws

from functions.bootstrap import handler as bootstrap_handler
from tests.fakes.apigw import FakeLambdaContext
from tests.fakes.memory_audit import MemoryPolicyRegistry

URL = "https://api.example.com/prod/webhooks/dfns"
OFFICER = "us-officer-1"
SERVICE_ACCOUNT = "us-service-account"
DEFAULT_ROLE = list(SERVICE_ACCOUNT_ROLE)


class FakeDfns:
    """Policies and webhooks as Dfns keeps them, with ``Policies:Modify`` gating and failure injection."""

    def __init__(self, operations: list[str] | None = None) -> None:
        # The service account's role: by default exactly what docs/DEPLOY.md lists.
        self.role = Permission(id="pm-svc", name="managed-accounts", operations=operations or DEFAULT_ROLE)
        self.role_read_by: list[str] = []
        self.policies: dict[str, Policy] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.writes: list[str] = []
        self.fail_on: str | None = None  # e.g. "create_policy#2": the 2nd create_policy raises
        self._ids = itertools.count(1)
        self._calls: dict[str, int] = {}

    def _write(self, name: str) -> None:
        self._calls[name] = self._calls.get(name, 0) + 1
        if self.fail_on == f"{name}#{self._calls[name]}":
            raise DfnsUnavailable("injected", status=503, may_have_reached_dfns=False)
        self.writes.append(name)

    def _governed(self) -> bool:
        return any(p.activity_kind == "Policies:Modify" for p in self.policies.values())

    def create_policy(self, body: PolicyBody) -> Policy:
        self._write("create_policy")
        policy = Policy(id=f"plc-{next(self._ids)}", **dict(body))
        self.policies[policy.id] = policy
        return policy

    def iter_policies(self, *, status: str | None = "Active", page_size: int = 100) -> Iterator[Policy]:
        return iter([p for p in self.policies.values() if status is None or p.status == status])

    def update_policy(self, policy_id: str, body: PolicyBody) -> PolicyChangeOutcome:
        self._write("update_policy")
        live = self.policies[policy_id]
        if self._governed():
            change = ChangeRequest(id=f"cr-{next(self._ids)}", status="Pending", entity_id=policy_id)
            self.policies[policy_id] = live.model_copy(update={"pending_change_request": change})
            return ChangeRequestPending(change)
        self.policies[policy_id] = Policy(id=policy_id, **dict(body))
        return PolicyApplied(self.policies[policy_id])

    def create_webhook(self, body: CreateWebhookBody) -> Webhook:
        self._write("create_webhook")
        n = next(self._ids)
        webhook = Webhook(id=f"wh-{n}", url=body.url, events=body.events, status=body.status or "Enabled")
        self.webhooks[webhook.id] = webhook
        return webhook.model_copy(update={"secret": f"whs-secret-{n}"})

    def iter_webhooks(self, *, page_size: int = 100) -> Iterator[Webhook]:
        return iter(list(self.webhooks.values()))

    def delete_webhook(self, webhook_id: str) -> None:
        self._write("delete_webhook")
        del self.webhooks[webhook_id]

    def by_name(self) -> dict[str, Policy]:
        return {p.name: p for p in self.policies.values()}

    def token_user_id(self) -> str | None:
        return SERVICE_ACCOUNT

    def own_permissions(self, service_account_id: str | None = None) -> HeldPermissions:
        self.role_read_by.append(service_account_id or "")
        if service_account_id != SERVICE_ACCOUNT:
            raise DfnsNotFound("service account not found", status=404)
        return HeldPermissions(SERVICE_ACCOUNT, (self.role,))


class MemorySecrets:
    def __init__(self) -> None:
        self.value: str | None = None

    def store(self, record: WebhookSecretRecord) -> None:
        self.value = record.to_secret_string()

    def load(self) -> WebhookSecretRecord | None:
        return WebhookSecretRecord.from_secret_string(self.value)


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"compliance_approver_ids": [OFFICER], "approval_timeout_minutes": 1440}
    return Settings(**(values | overrides))


def _run(dfns: object, secrets: MemorySecrets, settings: Settings | None = None) -> Any:
    return bootstrap_dfns(
        cast(BootstrapGateway, dfns),
        settings or _settings(),
        webhook_url=URL,
        store_webhook_secret=secrets.store,
        load_webhook_secret=secrets.load,
    )


def test_a_fresh_org_gets_governance_limits_and_a_webhook() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    result = _run(dfns, secrets)

    policies = dfns.by_name()
    governance = policies["managed-accounts:governance"].to_wire()
    assert governance["activityKind"] == "Policies:Modify"
    assert governance["rule"] == {"kind": "AlwaysTrigger", "configuration": {}}
    assert "filters" not in governance  # it governs every policy, whitelists included
    assert governance["action"] == {
        "kind": "RequestApproval",
        "approvalGroups": [
            {
                "name": "compliance",
                "quorum": 1,
                "approvers": {"userId": {"in": [OFFICER]}},
                "initiatorCanApprove": False,
            }
        ],
        "autoRejectTimeout": 1440,
    }
    assert result.governance_policy_id == policies["managed-accounts:governance"].id

    limits = {n: p.to_wire() for n, p in policies.items() if ":limits:" in n}
    assert sorted(limits) == [
        "managed-accounts:limits:standard:amount",
        "managed-accounts:limits:standard:amount-velocity",
        "managed-accounts:limits:standard:count-velocity",
    ]
    for wire in limits.values():
        assert wire["activityKind"] == "Wallets:Sign"
        assert wire["action"] == {"kind": "Block"}
        assert wire["filters"] == {"walletTags": {"hasAll": ["limits:standard"]}}
    assert limits["managed-accounts:limits:standard:amount"]["rule"] == {
        "kind": "TransactionAmountLimit",
        "configuration": {"limit": 10000.0, "currency": "USD"},
    }
    assert limits["managed-accounts:limits:standard:count-velocity"]["rule"]["configuration"] == {
        "limit": 20,
        "timeframe": 1440,
    }

    [webhook] = dfns.webhooks.values()
    assert webhook.url == URL
    assert list(webhook.events) == list(WEBHOOK_EVENTS)
    assert json.loads(secrets.value or "") == {
        "secret": f"whs-secret-{webhook.id[3:]}",
        "webhookId": webhook.id,
    }
    assert result.webhook_outcome == "created"
    assert {p.outcome for p in result.policies} == {"created"}


def test_a_second_run_changes_nothing_in_dfns() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    _run(dfns, secrets)
    writes, stored = len(dfns.writes), secrets.value

    result = _run(dfns, secrets)

    assert len(dfns.writes) == writes
    assert secrets.value == stored
    assert {p.outcome for p in result.policies} == {"unchanged"}
    assert result.webhook_outcome == "unchanged"


def test_refuses_without_compliance_approvers_before_calling_dfns() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    with pytest.raises(BootstrapRefused, match="nobody can approve"):
        _run(dfns, secrets, _settings(compliance_approver_ids=[]))
    assert dfns.writes == []
    assert dfns.policies == {}
    assert secrets.value is None


def test_a_changed_limit_becomes_one_change_request_for_the_officer() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    _run(dfns, secrets)
    raised = {"standard": LimitProfile(amount_limit_usd=50_000, velocity_amount_usd=25_000, count_limit=20)}

    first = _run(dfns, secrets, _settings(limit_profiles=raised))
    second = _run(dfns, secrets, _settings(limit_profiles=raised))

    outcomes = {p.name: p.outcome for p in first.policies}
    assert outcomes["managed-accounts:limits:standard:amount"] == "change_requested"
    assert outcomes["managed-accounts:limits:standard:count-velocity"] == "unchanged"
    assert {p.name: p.outcome for p in second.policies}["managed-accounts:limits:standard:amount"] == (
        "change_pending"
    )
    assert dfns.writes.count("update_policy") == 1  # Dfns holds one pending change per policy


def test_echoed_defaults_are_not_a_difference_but_a_narrowed_governance_is() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    _run(dfns, secrets)
    governance = dfns.by_name()["managed-accounts:governance"]
    wire = governance.to_wire()
    wire["action"]["approvalGroups"][0]["serviceAccountsCanApprove"] = False
    dfns.policies[governance.id] = Policy.model_validate(wire)
    assert {p.outcome for p in _run(dfns, secrets, _settings()).policies} == {"unchanged"}
    two_officers = _settings(compliance_approver_ids=[OFFICER, "us-officer-2"])
    _run(dfns, secrets, two_officers)  # proposes the second officer: a change request
    wire["action"]["approvalGroups"][0]["approvers"]["userId"]["in"] = ["us-officer-2", OFFICER]
    dfns.policies[governance.id] = Policy.model_validate(wire)  # applied; Dfns may reorder the ids
    assert {p.outcome for p in _run(dfns, secrets, two_officers).policies} == {"unchanged"}

    wire["filters"] = {"policyId": {"in": ["plc-other"]}}  # would govern one policy only
    dfns.policies[governance.id] = Policy.model_validate(wire)
    outcomes = {p.name: p.outcome for p in _run(dfns, secrets, two_officers).policies}
    assert outcomes["managed-accounts:governance"] == "change_requested"


def test_only_the_limits_a_profile_sets_become_policies() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    profiles = {"standard": LimitProfile(amount_limit_usd=1000), "vip": LimitProfile(count_limit=5)}
    _run(dfns, secrets, _settings(limit_profiles=profiles))
    assert sorted(n for n in dfns.by_name() if ":limits:" in n) == [
        "managed-accounts:limits:standard:amount",
        "managed-accounts:limits:vip:count-velocity",
    ]


def test_a_missing_stored_secret_replaces_the_webhook() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    _run(dfns, secrets)
    [old] = dfns.webhooks
    secrets.value = "{}"  # the deploy's placeholder, or a secret someone emptied

    result = _run(dfns, secrets)

    [new] = dfns.webhooks
    assert new != old
    assert result.webhook_outcome == "recreated"
    stored = WebhookSecretRecord.from_secret_string(secrets.value)
    assert stored is not None
    assert stored.webhook_id == new


def test_a_crash_between_webhook_creation_and_storing_its_secret_converges() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()

    def crash(record: WebhookSecretRecord) -> None:
        raise RuntimeError("Secrets Manager unavailable")

    with pytest.raises(RuntimeError):
        bootstrap_dfns(cast(BootstrapGateway, dfns), _settings(), webhook_url=URL, store_webhook_secret=crash)
    [orphan] = dfns.webhooks

    _run(dfns, secrets)

    [webhook] = dfns.webhooks
    stored = WebhookSecretRecord.from_secret_string(secrets.value)
    assert webhook != orphan
    assert stored is not None
    assert stored.webhook_id == webhook


def test_dfns_down_half_way_then_a_rerun_creates_each_policy_once() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    dfns.fail_on = "create_policy#3"
    with pytest.raises(DfnsUnavailable):
        _run(dfns, secrets)
    assert len(dfns.policies) == 2

    dfns.fail_on = None
    _run(dfns, secrets)

    names = [p.name for p in dfns.policies.values()]
    assert len(names) == len(set(names)) == 4
    assert len(dfns.webhooks) == 1


def test_webhook_secret_record_parsing_and_repr() -> None:
    record = WebhookSecretRecord(webhook_id="wh-1", secret="whs-top")
    assert WebhookSecretRecord.from_secret_string(record.to_secret_string()) == record
    assert "whs-top" not in repr(record)
    for text in (
        None,
        "",
        "{}",
        "not json",
        "[1]",
        '{"secret": "whs-x"}',
        '{"secret": "", "webhookId": "w"}',
    ):
        assert WebhookSecretRecord.from_secret_string(text) is None


@mock_aws
def test_secrets_manager_store_round_trip() -> None:
    client = boto3.client("secretsmanager", region_name="eu-west-1")
    store = SecretsManagerWebhookSecrets(client, "managed-accounts/dfns-webhook")
    assert store.load() is None  # no secret at all

    client.create_secret(Name="managed-accounts/dfns-webhook", SecretString="{}")
    assert store.load() is None  # the deploy's placeholder
    store.store(WebhookSecretRecord(webhook_id="wh-9", secret="whs-9"))
    assert store.load() == WebhookSecretRecord(webhook_id="wh-9", secret="whs-9")


# --- the custom-resource handler --------------------------------------------------------------------


def _deps(
    dfns: FakeDfns,
    secrets: MemorySecrets,
    *,
    credentials: bool = True,
    registry: MemoryPolicyRegistry | None = None,
) -> BootstrapDependencies:
    def gateway() -> BootstrapGateway:
        if not credentials:
            raise SecretFormatError("secret managed-accounts/dfns-service-account lacks ['credId']")
        return cast(BootstrapGateway, dfns)

    return BootstrapDependencies(
        settings=_settings(),
        webhook_url=URL,
        gateway=gateway,
        webhook_secrets=cast(Any, secrets),
        policy_registry=registry,
    )


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_create_bootstraps_and_reports_ids() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()

    response = bootstrap_handler.handler(
        {"RequestType": "Create"}, FakeLambdaContext(), deps=_deps(dfns, secrets)
    )

    assert response["PhysicalResourceId"] == bootstrap_handler.PHYSICAL_RESOURCE_ID
    assert response["Data"]["Status"] == "Bootstrapped"
    assert response["Data"]["GovernancePolicyId"] == dfns.by_name()["managed-accounts:governance"].id
    assert response["Data"]["Policies"] == "created=4"
    assert response["Data"]["WebhookId"] == next(iter(dfns.webhooks))


def test_a_run_records_the_shared_policy_ids_the_restrictions_view_reads_by_id() -> None:
    dfns, secrets, registry = FakeDfns(), MemorySecrets(), MemoryPolicyRegistry()

    bootstrap_handler.run({"RequestType": "Create"}, _deps(dfns, secrets, registry=registry))

    shared = registry.shared_policies()
    assert shared is not None
    policies = dfns.by_name()
    assert shared.governance_policy_id == policies["managed-accounts:governance"].id
    limits = {p.id for name, p in policies.items() if name.startswith("managed-accounts:limits:standard:")}
    assert limits
    assert set(shared.limit_policy_ids["standard"]) == limits
    registry.policies = None
    bootstrap_handler.run({"RequestType": "Delete"}, _deps(dfns, secrets, registry=registry))
    assert registry.shared_policies() is None  # a deletion records nothing


def test_delete_leaves_dfns_untouched() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    event = {"RequestType": "Delete", "PhysicalResourceId": "dfns-bootstrap"}
    assert bootstrap_handler.run(event, _deps(dfns, secrets)) == {"PhysicalResourceId": "dfns-bootstrap"}
    assert dfns.writes == []


def test_first_deploy_without_credentials_succeeds_but_a_manual_run_fails() -> None:
    dfns, secrets = FakeDfns(), MemorySecrets()
    deps = _deps(dfns, secrets, credentials=False)

    response = bootstrap_handler.run({"RequestType": "Create"}, deps)
    assert response["Data"] == {"Status": "AwaitingCredentials"}

    with pytest.raises(SecretFormatError):
        bootstrap_handler.run({"action": "bootstrap"}, deps)
    assert dfns.writes == []


def test_an_unknown_request_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        bootstrap_handler.run({"RequestType": "Frobnicate"}, _deps(FakeDfns(), MemorySecrets()))


# --- the service account's own permissions --------------------------------------------------------

FORBIDDEN = [
    "Wallets:Tags:Remove",
    "Wallets:Tags:Delete",
    "Policies:Evaluations:Vote",
    "Policies:Approvals:Approve",
    "Policies:Delete",
    "Policies:Archive",
    "Permissions:Read",
    "Permissions:Assign",
    "Permissions:Update",
]


@pytest.mark.parametrize("operation", FORBIDDEN)
def test_refuses_a_service_account_holding_a_forbidden_permission(operation: str) -> None:
    dfns, secrets = FakeDfns([*DEFAULT_ROLE, operation]), MemorySecrets()

    with pytest.raises(
        BootstrapRefused, match=f"holds permissions it must never have: {operation} "
    ) as refused:
        _run(dfns, secrets)

    assert "managed-accounts (pm-svc)" in str(refused.value)  # names the role it comes from
    assert dfns.writes == []
    assert dfns.policies == {}
    assert secrets.value is None


def test_passes_with_the_default_role_reading_it_for_the_tokens_user() -> None:
    dfns = FakeDfns()
    result = _run(dfns, MemorySecrets())
    assert dfns.role_read_by == [SERVICE_ACCOUNT]
    assert {p.outcome for p in result.policies} == {"created"}


def test_the_configured_service_account_id_wins_over_the_token() -> None:
    dfns = FakeDfns()
    with pytest.raises(BootstrapRefused, match="cannot read the permissions of service account us-other"):
        _run(dfns, MemorySecrets(), _settings(dfns_service_account_id="us-other"))
    assert dfns.role_read_by == ["us-other"]
    assert dfns.writes == []


def test_refuses_when_it_cannot_tell_which_service_account_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    dfns = FakeDfns()
    monkeypatch.setattr(dfns, "token_user_id", lambda: None)
    with pytest.raises(BootstrapRefused, match="DFNS_SERVICE_ACCOUNT_ID"):
        _run(dfns, MemorySecrets())
    assert dfns.writes == []


# --- the governance quorum ----------------------------------------------------------------------------


def test_the_quorum_is_configurable_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().compliance_quorum == 1
    monkeypatch.setenv("COMPLIANCE_QUORUM", "2")
    assert Settings().compliance_quorum == 2
    monkeypatch.setenv("COMPLIANCE_QUORUM", "0")
    with pytest.raises(ValueError, match="compliance_quorum"):
        Settings()


def test_the_governance_policy_asks_for_the_configured_quorum() -> None:
    dfns = FakeDfns()
    _run(
        dfns,
        MemorySecrets(),
        _settings(compliance_approver_ids=[OFFICER, "us-officer-2"], compliance_quorum=2),
    )
    [group] = dfns.by_name()["managed-accounts:governance"].to_wire()["action"]["approvalGroups"]
    assert group["quorum"] == 2
    assert sorted(group["approvers"]["userId"]["in"]) == sorted([OFFICER, "us-officer-2"])


def test_refuses_a_quorum_larger_than_the_approvers_before_calling_dfns() -> None:
    dfns = FakeDfns()
    with pytest.raises(BootstrapRefused, match="compliance_quorum is 3 but only 2 compliance approver"):
        _run(
            dfns,
            MemorySecrets(),
            _settings(compliance_approver_ids=[OFFICER, "us-officer-2"], compliance_quorum=3),
        )
    with pytest.raises(BootstrapRefused, match="compliance_quorum is 2 but only 1"):  # duplicates count once
        _run(
            dfns, MemorySecrets(), _settings(compliance_approver_ids=[OFFICER, OFFICER], compliance_quorum=2)
        )
    assert dfns.role_read_by == []
    assert dfns.writes == []


# --- comparing live and desired policies --------------------------------------------------------------


@pytest.mark.parametrize(
    ("live", "desired"),
    [
        ({"limit": 10000}, {"limit": 10000.0}),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ({"initiatorCanApprove": False, "quorum": 1}, {"quorum": 1}),
        ({"quorum": 1}, {"quorum": 1, "initiatorCanApprove": False}),
        ({"autoRejectTimeout": None, "configuration": {}}, {}),
        ({"in": ["us-2", "us-1"]}, {"in": ["us-1", "us-2"]}),
        ({"addresses": ["0xb", "0xa"]}, {"addresses": ["0xa", "0xb"]}),
        (
            [{"name": "b", "quorum": 2}, {"name": "a", "quorum": 1.0}],
            [{"name": "a", "quorum": 1}, {"quorum": 2, "name": "b"}],
        ),
    ],
)
def test_semantically_equal_policies_match(live: Any, desired: Any) -> None:
    assert _matches(live, desired)
    assert _matches(desired, live)


@pytest.mark.parametrize(
    ("live", "desired"),
    [
        ({"limit": 10001}, {"limit": 10000}),
        ({"initiatorCanApprove": True}, {}),
        ({"flag": 1}, {"flag": True}),
        ({"in": ["us-1", "us-1"]}, {"in": ["us-1", "us-2"]}),
        ({"in": ["us-1"]}, {"in": ["us-1", "us-2"]}),
        ({"filters": {"policyId": {"in": ["plc-1"]}}}, {}),
        ({"limit": "10000"}, {"limit": 10000}),
        ([{"quorum": 1}, {"quorum": 1}], [{"quorum": 1}, {"quorum": 2}]),
    ],
)
def test_different_policies_do_not_match(live: Any, desired: Any) -> None:
    assert not _matches(live, desired)
    assert not _matches(desired, live)


# --- the real client against the local Dfns sandbox (loopback) --------------------------------------


def _sandbox_run(reserialize: bool) -> tuple[Any, Any, Any, dict[str, int]]:
    """Bootstrap twice with the product's client; returns both results, the client's stats and the
    sandbox's request counts for the second run."""
    from dfns_sandbox import SandboxConfig, SandboxServer
    from local_stack.dfns_setup import register_service_account
    from managed_accounts.dfns.factory import build_dfns_client
    from managed_accounts.secrets import DfnsCredentials

    with SandboxServer(config=SandboxConfig(reserialize_policies=reserialize)) as server:
        account = register_service_account(server, name="bootstrap-test")
        settings = Settings(dfns_api_url=server.url, compliance_approver_ids=[server.officer.user_id])
        with build_dfns_client(settings, DfnsCredentials.model_validate(account.secret_value())) as client:
            secrets = MemorySecrets()
            first = _run(client, secrets, settings)
            signed_after_first = client.stats.counts["POST /auth/action"]
            server.sandbox.requests.clear()
            second = _run(client, secrets, settings)
            counts = dict(server.sandbox.requests.snapshot()["counts"])
            counts["signed"] = client.stats.counts["POST /auth/action"] - signed_after_first
    return first, second, client.stats, counts


@pytest.mark.parametrize("reserialize", [False, True])
def test_against_the_dfns_sandbox_a_rerun_proposes_no_change(reserialize: bool) -> None:
    first, second, _, counts = _sandbox_run(reserialize)

    assert {p.outcome for p in first.policies} == {"created"}
    assert {p.outcome for p in second.policies} == {"unchanged"}
    assert second.webhook_id == first.webhook_id
    writes = {route: n for route, n in counts.items() if not route.startswith("GET ")}
    print(f"second bootstrap run (reserialize={reserialize}): writes={writes}, counts={counts}")
    assert counts.get("PUT /v2/policies/{policyId}", 0) == 0  # no change request, no update
    assert counts["signed"] == 0  # nothing written again
    assert counts["GET /auth/service-accounts/{serviceAccountId}"] == 1  # its role was checked


def test_against_the_dfns_sandbox_the_policies_come_back_reserialised() -> None:
    """The mode really changes what Dfns returns: ints, filled-in defaults, reordered keys."""
    import httpx
    from dfns_sandbox import SandboxConfig, SandboxServer
    from local_stack.dfns_setup import register_service_account
    from managed_accounts.dfns.factory import build_dfns_client
    from managed_accounts.secrets import DfnsCredentials

    with SandboxServer(config=SandboxConfig(reserialize_policies=True)) as server:
        account = register_service_account(server, name="bootstrap-test")
        settings = Settings(dfns_api_url=server.url, compliance_approver_ids=[server.officer.user_id])
        with build_dfns_client(settings, DfnsCredentials.model_validate(account.secret_value())) as client:
            _run(client, MemorySecrets(), settings)
        raw = httpx.get(
            f"{server.url}/v2/policies", headers={"Authorization": f"Bearer {account.token}"}
        ).json()["items"]
    by_name = {p["name"]: p for p in raw}
    governance = by_name["managed-accounts:governance"]
    assert list(governance) == sorted(governance, reverse=True)
    group = governance["action"]["approvalGroups"][0]
    assert group["serviceAccountsCanApprove"] is False
    assert governance["action"]["autoRejectTimeout"] is None
    amount = by_name["managed-accounts:limits:standard:amount"]["rule"]["configuration"]
    assert amount == {"limit": 10000, "currency": "USD"}
    assert isinstance(amount["limit"], int)
    live, desired = Policy.model_validate(governance).body().to_wire(), governance_policy(settings).to_wire()
    assert live != desired  # byte- or dict-equality would see a change here ...
    assert _matches(live, desired)  # ... the semantic comparison does not


def test_against_the_dfns_sandbox_a_too_powerful_service_account_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from dfns_sandbox import SandboxServer
    from managed_accounts.dfns.factory import build_dfns_client
    from managed_accounts.secrets import DfnsCredentials

    key = ed25519.Ed25519PrivateKey.generate()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with SandboxServer() as server:
        created = server.register_service_account(
            public_pem, "too-powerful", permissions=[*DEFAULT_ROLE, "Wallets:Tags:Remove"]
        )
        credentials = DfnsCredentials.model_validate(
            {"token": created.access_token, "credId": created.cred_id, "privateKeyPem": private_pem}
        )
        settings = Settings(dfns_api_url=server.url, compliance_approver_ids=[server.officer.user_id])
        with build_dfns_client(settings, credentials) as client:
            with pytest.raises(BootstrapRefused, match="Wallets:Tags:Remove"):
                _run(client, MemorySecrets(), settings)
            assert "POST /auth/action" not in client.stats.counts  # refused before any write
        assert list(server.sandbox.store.policies) == []
