"""Status mapping and retry behaviour: what is repeated, how often, how long the client waits."""

from __future__ import annotations

import httpx
import pytest
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.errors import (
    DfnsAuthError,
    DfnsBadRequest,
    DfnsConflict,
    DfnsError,
    DfnsNotFound,
    DfnsRateLimited,
    DfnsUnavailable,
)
from managed_accounts.dfns.models import (
    AlwaysTriggerRule,
    BlockAction,
    CreateWalletBody,
    NativeTransferBody,
    PolicyBody,
)
from managed_accounts.domain.ports import ChangeRequestPending, PolicyApplied

from tests.unit.dfns.conftest import ClientFactory, FakeTime
from tests.unit.dfns.fake_dfns import FakeDfns, dfns_error

WALLET = {"id": "wa-1", "network": "EthereumSepolia"}
TRANSFER = {"id": "xfr-1", "walletId": "wa-1", "status": "Pending", "externalId": "run-1:c-1"}
POLICY = {
    "id": "plc-1",
    "name": "whitelist c-1",
    "activityKind": "Wallets:Sign",
    "rule": {"kind": "TransactionRecipientWhitelist", "configuration": {"addresses": ["0xabc"]}},
    "action": {"kind": "Block"},
    "status": "Active",
}
CHANGE_REQUEST = {
    "id": "cr-1",
    "kind": "Policy",
    "operationKind": "Update",
    "status": "Pending",
    "entityId": "plc-1",
    "approvalId": "ap-1",
    "body": POLICY,
}
POLICY_BODY = PolicyBody(
    name="p", activity_kind="Wallets:Sign", rule=AlwaysTriggerRule(), action=BlockAction()
)


def _read_timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("timed out")


def _connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("refused")


# --- status mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, DfnsBadRequest),
        (422, DfnsBadRequest),
        (401, DfnsAuthError),
        (403, DfnsAuthError),
        (404, DfnsNotFound),
        (410, DfnsError),
    ],
)
def test_client_errors_are_typed_carry_the_dfns_error_id_and_are_not_retried(
    fake: FakeDfns, client: DfnsClient, fake_time: FakeTime, status: int, error_type: type[DfnsError]
) -> None:
    fake.script("GET", "/wallets/wa-1", dfns_error(status, "nope", error_id="err-42"))

    with pytest.raises(error_type) as caught:
        client.get_wallet("wa-1")

    assert caught.value.status == status
    assert caught.value.error_id == "err-42"
    assert "nope" in str(caught.value)
    assert len(fake.seen) == 1
    assert fake_time.sleeps == []


def test_conflict_exposes_the_duplicate(fake: FakeDfns, client: DfnsClient) -> None:
    conflict = dfns_error(409, "Conflicting transfer with same externalId", duplicate={"id": "xfr-0"})
    fake.script("POST", "/wallets/wa-1/transfers", conflict)

    with pytest.raises(DfnsConflict) as caught:
        client.transfer("wa-1", NativeTransferBody(to="0xabc", amount="1", external_id="run-1:c-1"))

    assert caught.value.duplicate_id == "xfr-0"
    assert len(fake.calls("POST", "/wallets/wa-1/transfers")) == 1


def test_a_non_json_error_body_still_maps(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("GET", "/wallets/wa-1", httpx.Response(404, text="<html>not found</html>"))
    with pytest.raises(DfnsNotFound) as caught:
        client.get_wallet("wa-1")
    assert caught.value.error_id is None


# --- 200 vs 202 ------------------------------------------------------------------------------------


def test_policy_update_applied_at_once_is_200(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("PUT", "/v2/policies/plc-1", httpx.Response(200, json=POLICY))
    outcome = client.update_policy("plc-1", POLICY_BODY)
    assert isinstance(outcome, PolicyApplied)
    assert outcome.policy.id == "plc-1"


def test_policy_update_awaiting_approval_is_202(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("PUT", "/v2/policies/plc-1", httpx.Response(202, json=CHANGE_REQUEST))
    outcome = client.update_policy("plc-1", POLICY_BODY)
    assert isinstance(outcome, ChangeRequestPending)
    assert (outcome.change_request.id, outcome.change_request.approval_id) == ("cr-1", "ap-1")


def test_policy_archive_distinguishes_200_and_202(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script(
        "DELETE",
        "/v2/policies/plc-1",
        httpx.Response(202, json=CHANGE_REQUEST),
        httpx.Response(200, json=POLICY | {"status": "Archived"}),
    )
    assert isinstance(client.archive_policy("plc-1"), ChangeRequestPending)
    applied = client.archive_policy("plc-1")
    assert isinstance(applied, PolicyApplied)
    assert applied.policy.status == "Archived"


# --- retries -----------------------------------------------------------------------------------------


def test_reads_retry_5xx_up_to_the_attempt_limit(
    fake: FakeDfns, client: DfnsClient, fake_time: FakeTime
) -> None:
    fake.script("GET", "/wallets/wa-1", dfns_error(503, "down"))

    with pytest.raises(DfnsUnavailable) as caught:
        client.get_wallet("wa-1")

    assert len(fake.seen) == 4  # default max_attempts
    assert caught.value.status == 503
    # full jitter with rng=0.5 over 0.25 * 2**n
    assert fake_time.sleeps == [0.125, 0.25, 0.5]


def test_reads_recover_after_a_timeout(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("GET", "/wallets/wa-1", _read_timeout(), httpx.Response(200, json=WALLET))
    assert client.get_wallet("wa-1").id == "wa-1"
    assert client.stats.counts["GET /wallets/{walletId}"] == 2


def test_429_honours_retry_after(fake: FakeDfns, client: DfnsClient, fake_time: FakeTime) -> None:
    limited = httpx.Response(
        429, headers={"Retry-After": "7"}, json={"error": {"id": "e", "message": "slow"}}
    )
    fake.script("GET", "/wallets/wa-1", limited, httpx.Response(200, json=WALLET))

    assert client.get_wallet("wa-1").id == "wa-1"
    assert fake_time.sleeps == [7.0]


def test_429_beyond_the_deadline_gives_up_at_once(
    fake: FakeDfns, client: DfnsClient, fake_time: FakeTime
) -> None:
    fake.script("GET", "/wallets/wa-1", httpx.Response(429, headers={"Retry-After": "60"}))

    with pytest.raises(DfnsRateLimited) as caught:
        client.get_wallet("wa-1")

    assert caught.value.retry_after == 60.0
    assert fake_time.sleeps == []
    assert len(fake.seen) == 1


def test_retries_stop_at_the_deadline(
    fake: FakeDfns, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    client = make_client(fake, deadline=10.0, max_attempts=100)
    fake.script("GET", "/wallets/wa-1", httpx.Response(429, headers={"Retry-After": "3"}))

    with pytest.raises(DfnsRateLimited):
        client.get_wallet("wa-1")

    assert fake_time.sleeps == [3.0, 3.0, 3.0]  # a 4th wait would end past 10 s
    assert len(fake.seen) == 4


def test_a_rate_limited_signed_call_retries_with_a_fresh_user_action(
    fake: FakeDfns, client: DfnsClient, fake_time: FakeTime
) -> None:
    fake.script(
        "POST",
        "/wallets",
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(200, json=WALLET),
    )

    assert client.create_wallet(CreateWalletBody(network="EthereumSepolia")).id == "wa-1"

    sent = fake.calls("POST", "/wallets")
    assert [s.headers["x-dfns-useraction"] for s in sent] == ["ua-1", "ua-2"]
    assert len(fake.inits) == 2
    assert fake_time.sleeps == [1.0]


@pytest.mark.parametrize("failure", [dfns_error(502, "bad gateway"), _read_timeout()], ids=["5xx", "timeout"])
def test_a_non_idempotent_post_is_not_retried_once_it_may_have_reached_dfns(
    fake: FakeDfns, client: DfnsClient, fake_time: FakeTime, failure
) -> None:
    fake.script("POST", "/wallets", failure, httpx.Response(200, json=WALLET))

    with pytest.raises(DfnsUnavailable) as caught:
        client.create_wallet(CreateWalletBody(network="EthereumSepolia", external_id="cl-1"))

    assert caught.value.may_have_reached_dfns is True
    assert len(fake.calls("POST", "/wallets")) == 1
    assert fake_time.sleeps == []


def test_a_transfer_without_external_id_is_not_retried_after_a_timeout(
    fake: FakeDfns, client: DfnsClient
) -> None:
    fake.script("POST", "/wallets/wa-1/transfers", _read_timeout(), httpx.Response(200, json=TRANSFER))
    with pytest.raises(DfnsUnavailable):
        client.transfer("wa-1", NativeTransferBody(to="0xabc", amount="1"))
    assert len(fake.calls("POST", "/wallets/wa-1/transfers")) == 1


@pytest.mark.parametrize("failure", [dfns_error(500, "oops"), _read_timeout()], ids=["5xx", "timeout"])
def test_a_transfer_with_external_id_is_retried_with_a_fresh_user_action(
    fake: FakeDfns, client: DfnsClient, failure
) -> None:
    fake.script("POST", "/wallets/wa-1/transfers", failure, httpx.Response(200, json=TRANSFER))

    transfer = client.transfer("wa-1", NativeTransferBody(to="0xabc", amount="1", external_id="run-1:c-1"))

    assert transfer.id == "xfr-1"
    sent = fake.calls("POST", "/wallets/wa-1/transfers")
    assert len(sent) == 2
    assert sent[0].content == sent[1].content
    assert sent[0].headers["x-dfns-useraction"] != sent[1].headers["x-dfns-useraction"]


def test_a_policy_update_is_never_repeated_after_a_5xx(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script(
        "PUT", "/v2/policies/plc-1", dfns_error(500, "oops"), httpx.Response(202, json=CHANGE_REQUEST)
    )
    with pytest.raises(DfnsUnavailable) as caught:
        client.update_policy("plc-1", POLICY_BODY)
    assert caught.value.may_have_reached_dfns
    assert len(fake.calls("PUT", "/v2/policies/plc-1")) == 1


def test_a_connection_never_made_is_retried_even_for_a_post(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("POST", "/wallets", _connect_error(), httpx.Response(200, json=WALLET))
    assert client.create_wallet(CreateWalletBody(network="EthereumSepolia")).id == "wa-1"
    assert len(fake.calls("POST", "/wallets")) == 2


def test_unreachable_dfns_says_nothing_reached_it(fake: FakeDfns, client: DfnsClient) -> None:
    fake.script("POST", "/wallets", _connect_error())
    with pytest.raises(DfnsUnavailable) as caught:
        client.create_wallet(CreateWalletBody(network="EthereumSepolia"))
    assert caught.value.may_have_reached_dfns is False
    assert len(fake.calls("POST", "/wallets")) == 4


def test_failed_init_or_action_is_retried_before_the_real_call(
    fake: FakeDfns, client: DfnsClient, fake_time: FakeTime
) -> None:
    fake.init_failures.extend([dfns_error(503, "busy"), _read_timeout()])
    fake.script("POST", "/wallets", httpx.Response(200, json=WALLET))

    assert client.create_wallet(CreateWalletBody(network="EthereumSepolia")).id == "wa-1"

    assert len(fake.calls("POST", "/auth/action/init")) == 3
    assert len(fake.calls("POST", "/wallets")) == 1
    assert len(fake_time.sleeps) == 2


def test_a_refused_init_is_not_retried(fake: FakeDfns, client: DfnsClient) -> None:
    fake.init_failures.append(dfns_error(401, "token expired", error_id="err-auth"))
    with pytest.raises(DfnsAuthError) as caught:
        client.create_wallet(CreateWalletBody(network="EthereumSepolia"))
    assert caught.value.error_id == "err-auth"
    assert len(fake.seen) == 1


def test_max_attempts_of_one_means_no_retry(fake: FakeDfns, make_client: ClientFactory) -> None:
    client = make_client(fake, max_attempts=1)
    fake.script("GET", "/wallets/wa-1", dfns_error(503, "down"))
    with pytest.raises(DfnsUnavailable):
        client.get_wallet("wa-1")
    assert len(fake.seen) == 1
