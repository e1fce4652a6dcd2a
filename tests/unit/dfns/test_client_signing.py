"""The client's signed calls: what Dfns verifies (signature, declared payload = sent bytes, headers)."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_stack.officer import OfficerDfnsClient
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.errors import DfnsAuthError, DfnsConflict
from managed_accounts.dfns.models import CreateWalletBody, DecisionBody, NativeTransferBody
from managed_accounts.domain.ports import DfnsGateway

from tests.unit.dfns.conftest import KEY_TYPES, ClientFactory
from tests.unit.dfns.fake_dfns import TOKEN, FakeDfns, dfns_error

WALLET = {"id": "wa-1", "network": "EthereumSepolia", "status": "Active", "name": "Café 東京"}
TRANSFER = {"id": "xfr-1", "walletId": "wa-1", "status": "Pending", "requestBody": {}}


def test_the_client_satisfies_the_gateway_port(client: DfnsClient) -> None:
    gateway: DfnsGateway = client  # mypy checks the structural match
    assert gateway is client


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_signed_call_verifies_for_every_key_type_and_declares_the_sent_bytes(
    key_type: str, private_keys, make_client: ClientFactory
) -> None:
    fake = FakeDfns(public_key=private_keys[key_type].public_key())
    fake.script("POST", "/wallets", httpx.Response(200, json=WALLET))
    client = make_client(fake, key_type)

    wallet = client.create_wallet(
        CreateWalletBody(network="EthereumSepolia", name="Café 東京", external_id="cl-1")
    )

    assert wallet.id == "wa-1"
    assert wallet.name == "Café 東京"
    (sent,) = fake.calls("POST", "/wallets")
    assert sent.content == '{"network":"EthereumSepolia","name":"Café 東京","externalId":"cl-1"}'.encode()
    (init,) = fake.inits
    assert init == {
        "userActionHttpMethod": "POST",
        "userActionHttpPath": "/wallets",
        "userActionPayload": sent.content.decode("utf-8"),
        "userActionServerKind": "Api",
    }
    # the fake verified the signature over these bytes and the challenge it issued
    (data,) = fake.client_data
    assert json.loads(data)["type"] == "key.get"
    assert fake.user_actions_used == ["ua-1"]


def test_headers_carry_bearer_user_action_and_nothing_legacy(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("PUT", "/wallets/wa-1/tags", httpx.Response(200, json={}))

    client.tag_wallet("wa-1", ["client:c-1"])

    (sent,) = fake.calls("PUT", "/wallets/wa-1/tags")
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["user-agent"]
    assert sent.headers["x-dfns-useraction"] == "ua-1"
    assert "x-dfns-appid" not in sent.headers
    assert "x-dfns-nonce" not in sent.headers
    assert sent.content == b'{"tags":["client:c-1"]}'


def test_reads_are_not_signed(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("GET", "/wallets/wa-1", httpx.Response(200, json=WALLET))

    client.get_wallet("wa-1")

    assert fake.inits == []
    (sent,) = fake.seen
    assert "x-dfns-useraction" not in sent.headers


@pytest.mark.parametrize(
    ("call", "method", "path"),
    [
        (lambda c: c.archive_policy("plc-1"), "DELETE", "/v2/policies/plc-1"),
        (lambda c: c.ping_webhook("wh-1"), "POST", "/webhooks/wh-1/ping"),
        (lambda c: c.delete_webhook("wh-1"), "DELETE", "/webhooks/wh-1"),
    ],
    ids=["archive", "ping", "delete-webhook"],
)
def test_calls_without_a_body_declare_an_empty_payload_and_send_none(
    fake: FakeDfns, client: DfnsClient, call, method: str, path: str
) -> None:
    policy: dict[str, object] = {
        "id": "plc-1",
        "name": "p",
        "activityKind": "Wallets:Sign",
        "status": "Archived",
    }
    policy |= {"rule": {"kind": "AlwaysTrigger"}, "action": {"kind": "Block"}}
    answer = policy if "policies" in path else {"status": "200", "deleted": True}
    fake.script(method, path, httpx.Response(200, json=answer))

    call(client)

    (sent,) = fake.calls(method, path)
    assert sent.content == b""
    assert fake.inits[0]["userActionPayload"] == ""
    assert fake.inits[0]["userActionHttpPath"] == path


def test_the_service_account_client_cannot_untag_or_vote(client: DfnsClient) -> None:
    assert not hasattr(client, "untag_wallet")
    assert not hasattr(client, "decide_approval")


def _officer(fake: FakeDfns, make_client: ClientFactory) -> OfficerDfnsClient:
    officer = make_client(fake, client_class=OfficerDfnsClient)
    assert isinstance(officer, OfficerDfnsClient)
    return officer


def test_untag_is_a_delete_with_a_json_body(fake: FakeDfns, make_client: ClientFactory) -> None:
    fake.script("DELETE", "/wallets/wa-1/tags", httpx.Response(200, json={}))

    _officer(fake, make_client).untag_wallet("wa-1", ["limits:standard"])

    (sent,) = fake.calls("DELETE", "/wallets/wa-1/tags")
    assert sent.content == b'{"tags":["limits:standard"]}'
    assert fake.inits[0]["userActionPayload"] == '{"tags":["limits:standard"]}'


def test_ids_cannot_change_the_route(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("GET", "/wallets/wa-1%2F..%2Ftransfers", httpx.Response(200, json=WALLET))
    client.get_wallet("wa-1/../transfers")
    assert fake.seen[0].path == "/wallets/wa-1%2F..%2Ftransfers"


def test_transfer_body_is_sent_camel_case_and_signed(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("POST", "/wallets/wa-1/transfers", httpx.Response(200, json=TRANSFER))
    body = NativeTransferBody(to="0xabc", amount="1000", external_id="run-1:c-1")

    transfer = client.transfer("wa-1", body)

    assert transfer.status == "Pending"
    (sent,) = fake.calls("POST", "/wallets/wa-1/transfers")
    assert json.loads(sent.content) == {
        "kind": "Native",
        "to": "0xabc",
        "amount": "1000",
        "externalId": "run-1:c-1",
    }
    assert fake.inits[0]["userActionPayload"].encode() == sent.content


def test_decision_is_signed_by_whoever_owns_the_client(fake: FakeDfns, make_client: ClientFactory) -> None:
    approval = {"id": "ap-1", "status": "Approved", "decisions": [{"userId": "us-co", "value": "Approved"}]}
    fake.script("POST", "/v2/policy-approvals/ap-1/decisions", httpx.Response(200, json=approval))

    result = _officer(fake, make_client).decide_approval(
        "ap-1", DecisionBody(value="Approved", reason="checked")
    )

    assert result.status == "Approved"
    assert fake.calls("POST", "/v2/policy-approvals/ap-1/decisions")[0].content == (
        b'{"value":"Approved","reason":"checked"}'
    )


def test_a_credential_dfns_does_not_allow_is_never_used(fake: FakeDfns, client: DfnsClient) -> None:
    fake.allowed_cred_ids = ["cr-someone-else"]
    fake.script("POST", "/wallets", httpx.Response(200, json=WALLET))

    with pytest.raises(DfnsAuthError, match="not allowed"):
        client.create_wallet(CreateWalletBody(network="EthereumSepolia"))

    assert fake.calls("POST", "/auth/action") == []
    assert fake.calls("POST", "/wallets") == []


def test_stats_count_every_round_trip_by_route(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("PUT", "/wallets/wa-1/tags", httpx.Response(200, json={}))
    fake.script("GET", "/wallets/wa-1", httpx.Response(200, json=WALLET))

    client.tag_wallet("wa-1", ["a"])
    client.get_wallet("wa-1")

    assert client.stats.counts == {
        "POST /auth/action/init": 1,
        "POST /auth/action": 1,
        "PUT /wallets/{walletId}/tags": 1,
        "GET /wallets/{walletId}": 1,
    }
    assert client.stats.total == 4
    client.stats.reset()
    assert client.stats.total == 0
    assert "tok" not in repr(client)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=40))
def test_any_text_is_declared_exactly_as_sent(fake: FakeDfns, client: DfnsClient, name: str) -> None:
    fake.script("POST", "/wallets", httpx.Response(200, json=WALLET))
    fake.inits.clear()

    client.create_wallet(CreateWalletBody(network="EthereumSepolia", name=name))

    sent = fake.calls("POST", "/wallets")[-1]
    assert fake.inits[-1]["userActionPayload"].encode("utf-8") == sent.content
    assert json.loads(sent.content)["name"] == name


def test_logs_name_the_call_but_never_secrets_or_bodies(
    fake: FakeDfns, client: DfnsClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script("POST", "/wallets", dfns_error(409, "duplicate", error_id="err-77"))

    with pytest.raises(DfnsConflict):
        client.create_wallet(CreateWalletBody(network="EthereumSepolia", name="Secret Client Name"))

    failed = [r.__dict__ for r in caplog.records if r.getMessage() == "dfns call failed"]
    summary = [(r["dfns_path"], r["dfns_status"], r["dfns_error_id"]) for r in failed]
    assert summary == [("/wallets", 409, "err-77")]
    logged = " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (TOKEN, "ua-1", "Secret Client Name", "challenge", "signature"):
        assert secret not in logged
