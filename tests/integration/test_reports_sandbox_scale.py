"""The reports against the Dfns sandbox at scale and under attack: the restrictions view's Dfns reads do not
grow with the number of clients, a removed tag is reported as drift (and the payment it lets through is
flagged in the statement), and paging over a thousand movements returns each exactly once, in order."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from dfns_sandbox import SandboxServer

from tests.fakes.world import TABLE
from tests.integration.reports_stack import ONE_ETH, ReportsStack

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

WALLET, POLICY = "GET /wallets/{walletId}", "GET /v2/policies/{policyId}"


@pytest.fixture
def stack(aws: Any) -> Iterator[ReportsStack]:
    with SandboxServer("127.0.0.1", 0, realtime=False) as server:
        built = ReportsStack(server, aws, f"{TABLE}-scale-{secrets.token_hex(4)}")
        try:
            built.bootstrap()
            yield built
        finally:
            built.close()


def test_restrictions_read_the_same_few_policies_by_id_with_1_or_50_clients(stack: ReportsStack) -> None:
    stack.onboard("client-00")

    def restrictions_calls() -> dict[str, int]:
        reports = stack.reports()  # a cold container: nothing cached yet
        result, calls = stack.dfns_requests_during(
            lambda: stack.get("client-00", "/accounts/me/restrictions", reports=reports)
        )
        assert result.status == 200
        assert result.body["drift"] == []
        return calls

    with_one = restrictions_calls()
    for i in range(1, 50):
        stack.onboard(f"client-{i:02d}")
    with_fifty = restrictions_calls()

    assert with_one == with_fifty == {WALLET: 1, POLICY: 5}  # wallet, whitelist, governance, 3 limits
    warm = stack.reports()
    stack.get("client-00", "/accounts/me/restrictions", reports=warm)
    _, again = stack.dfns_requests_during(
        lambda: stack.get("client-07", "/accounts/me/restrictions", reports=warm)
    )
    assert again == {WALLET: 1, POLICY: 1}  # only the client's own wallet and whitelist: shared ones cached
    stack.advance(61)  # the cache holds shared policies 60 s at most
    _, later = stack.dfns_requests_during(
        lambda: stack.get("client-07", "/accounts/me/restrictions", reports=warm)
    )
    assert later == {WALLET: 1, POLICY: 5}


def test_a_removed_tag_is_drift_and_the_payment_it_lets_through_is_flagged(stack: ReportsStack) -> None:
    account = stack.onboard("carol")
    wallet_id = str(account.wallet_id)
    started = stack.clock.now()
    stack.deposit(wallet_id, ONE_ETH)
    stack.advance(5)

    stack.officer.untag_wallet(wallet_id, ["client:carol"])  # someone with tag-removal rights in Dfns

    body = stack.get("carol", "/accounts/me/restrictions").body
    assert body["enforcedAsShown"] is False
    [drift] = body["drift"]
    assert (drift["kind"], drift["severity"], drift["details"]["tag"]) == (
        "tag_missing",
        "critical",
        "client:carol",
    )
    assert "no longer applies the client's whitelist" in drift["message"]
    assert body["wallet"]["clientTagPresent"] is False
    assert body["whitelist"]["bindsWallet"] is False

    stranger = "0x" + secrets.token_hex(20)
    escaped = stack.transfer(wallet_id, stranger, ONE_ETH // 10)
    assert escaped.status == "Confirmed"  # the whitelist no longer binds the wallet
    stack.advance(5)
    query = {"from": started.isoformat(), "to": stack.clock.now().isoformat()}
    outflow = stack.get("carol", "/accounts/me/statement", query).body["movements"][-1]
    assert outflow["counterparty"]["address"] == stranger
    assert outflow["unapprovedDestination"] is True
    assert outflow["provenance"] is None

    stack.officer.untag_wallet(wallet_id, ["limits:standard"])
    kinds = {
        (d["kind"], d["details"].get("tag"))
        for d in stack.get("carol", "/accounts/me/restrictions").body["drift"]
    }
    assert kinds == {("tag_missing", "client:carol"), ("tag_missing", "limits:standard")}


def _key(movement: dict[str, Any]) -> str:
    return str(movement["dfns"]["transferId"] or movement["txHash"])


def test_paging_over_a_thousand_movements_returns_each_exactly_once_in_order(stack: ReportsStack) -> None:
    account = stack.onboard("dave")
    wallet_id = str(account.wallet_id)
    destination = "0x" + secrets.token_hex(20)
    stack.request_and_decide("dave", destination, "Dave's bank", "Approved")
    for i in range(1000):
        stack.deposit(wallet_id, 10**15)
        if i % 50 == 49:
            stack.dfns.transfer(wallet_id, _native(destination, 10**12))  # 20 transfers among the deposits
        stack.advance(1)
    stack.advance(20)

    incoming = [e for e in stack.dfns.iter_wallet_history(wallet_id, page_size=500) if e.direction == "In"]
    transfers = list(stack.dfns.iter_transfers(wallet_id, page_size=500))
    assert (len(incoming), len(transfers)) == (1000, 20)
    tagged: list[tuple[datetime, int, str]] = [
        (e.timestamp, 0, str(e.tx_hash)) for e in incoming if e.timestamp
    ]
    tagged += [(t.date_requested, 1, t.id) for t in transfers if t.date_requested]
    expected = [key for _, _, key in sorted(tagged, key=lambda m: (-m[0].timestamp(), m[1]))]

    for limit in ("100", "37"):
        seen: list[str] = []
        cursor: str | None = None
        reports = stack.reports()
        while True:
            query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            page = stack.get("dave", "/accounts/me/activity", query, reports=reports).body
            seen.extend(_key(m) for m in page["items"])
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert seen == expected, limit


def _native(to: str, amount: int) -> Any:
    from managed_accounts.dfns.models import NativeTransferBody

    return NativeTransferBody(to=to, amount=str(amount))
