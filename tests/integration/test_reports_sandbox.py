"""The four client-transparency views against moto and the Dfns sandbox in-process, through the handler.

The story: the bootstrap, two clients onboard; Alice has two destinations approved and one rejected by
the compliance officer (signed decisions), receives a deposit, pays an approved destination, and a
payment elsewhere is blocked by Dfns. Then each view must show exactly that, with the officer's
decisions verifiable against their signed actions, and no view may show one client another's rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from dfns_sandbox import SandboxServer

from tests.fakes.world import TABLE
from tests.integration.reports_stack import ONE_ETH, ReportsStack

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

ALICE, BOB = "alice-reports", "bob-reports"
D1, D2, D3, D4 = ("0x" + secrets.token_hex(20) for _ in range(4))
STRANGER = "0x" + secrets.token_hex(20)
SENDER = "0x" + secrets.token_hex(20)
PAID = ONE_ETH // 100


@pytest.fixture(scope="module")
def story(aws: Any) -> Iterator[dict[str, Any]]:
    with SandboxServer("127.0.0.1", 0, realtime=False) as server:
        stack = ReportsStack(server, aws, f"{TABLE}-reports-{secrets.token_hex(4)}")
        try:
            yield _play(stack)
        finally:
            stack.close()


def _play(stack: ReportsStack) -> dict[str, Any]:
    started = stack.clock.now()
    stack.advance(1)
    stack.bootstrap()
    alice, bob = stack.onboard(ALICE), stack.onboard(BOB)
    first = stack.request_and_decide(ALICE, D1, "Alice's bank", "Approved")
    second = stack.request_and_decide(ALICE, D2, "Alice's broker", "Approved")
    rejected = stack.request_and_decide(
        ALICE, D3, "Unknown exchange", "Denied", reason="unknown counterparty"
    )
    bobs = stack.request_and_decide(BOB, D4, "Bob's bank", "Approved")
    stack.advance(5)
    deposit = stack.deposit(str(alice.wallet_id), ONE_ETH, sender=SENDER)
    stack.advance(5)
    paid = stack.transfer(str(alice.wallet_id), D1, PAID)
    stack.advance(5)
    blocked = stack.transfer(str(alice.wallet_id), STRANGER, PAID)
    stack.advance(5)
    stack.deposit(str(bob.wallet_id), ONE_ETH)
    stack.advance(5)
    ingested = stack.ingest.run()
    return {
        "stack": stack,
        "started": started,
        "alice": alice,
        "bob": bob,
        "requests": {"first": first, "second": second, "rejected": rejected, "bobs": bobs},
        "deposit": deposit,
        "paid": paid,
        "blocked": blocked,
        "ingested": ingested,
        "until": stack.clock.now(),
    }


def _iso(moment: Any) -> str:
    return str(moment.isoformat())


def test_the_story_happened_in_dfns(story: dict[str, Any]) -> None:
    assert story["paid"].status == "Confirmed"
    assert story["blocked"].status == "Rejected"
    assert "Blocked by policy" in story["blocked"].reason
    assert [r.status for r in story["requests"].values()] == ["approved", "approved", "rejected", "approved"]
    assert story["ingested"]["decisions"] == 4
    assert story["ingested"]["stopped"] is None


def test_restrictions_show_what_dfns_enforces(story: dict[str, Any]) -> None:
    stack: ReportsStack = story["stack"]
    alice = story["alice"]
    view = stack.get(ALICE, "/accounts/me/restrictions")
    assert view.status == 200, view.body
    body = view.body
    assert body["enforcedAsShown"] is True
    assert body["drift"] == []
    whitelist = body["whitelist"]
    assert (whitelist["policyId"], whitelist["status"], whitelist["action"]) == (
        alice.whitelist_policy_id,
        "Active",
        "Block",
    )
    assert whitelist["bindsWallet"] is True
    shown = {a["address"]: a for a in whitelist["addresses"]}
    assert set(shown) == {D1, D2}
    first = story["requests"]["first"]
    assert shown[D1]["label"] == "Alice's bank"
    assert shown[D1]["approvalId"] == first.approval_id
    assert all(a["enforcedByDfns"] and a["approvedByCompliance"] for a in shown.values())
    limits = {p["rule"]: p for p in body["limits"]["policies"]}
    assert body["limits"]["profile"] == "standard"
    assert limits["TransactionAmountLimit"]["limit"] == 10_000
    assert limits["TransactionAmountLimit"]["currency"] == "USD"
    assert (
        limits["TransactionAmountVelocity"]["limit"],
        limits["TransactionAmountVelocity"]["timeframeMinutes"],
    ) == (
        25_000,
        1440,
    )
    assert (
        limits["TransactionCountVelocity"]["limit"],
        limits["TransactionCountVelocity"]["timeframeMinutes"],
    ) == (
        20,
        1440,
    )
    assert all(p["bindsWallet"] and p["status"] == "Active" for p in limits.values())
    governance = body["governance"]
    assert (governance["present"], governance["active"], governance["coversWhitelist"]) == (True, True, True)
    assert (governance["approversCount"], governance["quorum"]) == (1, 1)
    wallet = body["wallet"]
    assert wallet["clientTagPresent"]
    assert wallet["limitsTagPresent"]
    assert body["pendingRequests"] == []
    expected_ids = {
        alice.whitelist_policy_id,
        governance["policyId"],
        *(p["policyId"] for p in limits.values()),
    }
    assert set(body["policyIds"]) == expected_ids
    assert len(expected_ids) == 5
    for part in (wallet, whitelist, governance, *limits.values()):
        assert part["verifiedAt"]


def test_activity_shows_both_directions_newest_first_with_labels(story: dict[str, Any]) -> None:
    stack: ReportsStack = story["stack"]
    body = stack.get(ALICE, "/accounts/me/activity").body
    items = body["items"]
    assert body["nextCursor"] is None
    assert [(i["direction"], i["status"]) for i in items] == [
        ("Out", "Rejected"),
        ("Out", "Confirmed"),
        ("In", "Confirmed"),
    ]
    blocked, paid, deposit = items
    assert blocked["dfns"]["transferId"] == story["blocked"].id
    assert "Blocked by policy" in blocked["reason"]
    assert blocked["counterparty"] == {"address": STRANGER, "label": None, "approvedDestination": False}
    assert (paid["amount"], paid["amountMinimumUnits"], paid["symbol"]) == ("0.01", str(PAID), "SepoliaETH")
    assert paid["counterparty"] == {"address": D1, "label": "Alice's bank", "approvedDestination": True}
    assert paid["txHash"] == story["paid"].tx_hash
    assert paid["orderId"] is None
    assert (deposit["amount"], deposit["counterparty"]["address"]) == ("1", SENDER)
    assert deposit["txHash"] == story["deposit"]["txHash"]
    page = stack.get(ALICE, "/accounts/me/activity", {"limit": "1"}).body
    assert len(page["items"]) == 1
    assert page["nextCursor"]


def test_the_statement_adds_up_and_links_every_outflow_to_its_approval(story: dict[str, Any]) -> None:
    stack: ReportsStack = story["stack"]
    alice = story["alice"]
    query = {"from": _iso(story["started"]), "to": _iso(story["until"])}
    body = stack.get(ALICE, "/accounts/me/statement", query).body
    [eth] = body["balances"]
    opening, inflow, outflow, closing = (
        int(eth[f"{k}MinimumUnits"]) for k in ("opening", "in", "out", "closing")
    )
    assert opening + inflow - outflow == closing
    assert (opening, inflow) == (0, ONE_ETH)
    assert outflow == PAID + int(story["paid"].fee)
    assert Decimal(eth["opening"]) + Decimal(eth["in"]) - Decimal(eth["out"]) == Decimal(eth["closing"])
    live = stack.dfns.get_wallet_assets(str(alice.wallet_id)).assets[0]
    assert closing == int(live.balance)
    moves = body["movements"]
    assert [m["direction"] for m in moves] == ["In", "Out"]  # the blocked payment never left
    outflow_line = moves[1]
    first = story["requests"]["first"]
    provenance = outflow_line["provenance"]
    assert outflow_line["unapprovedDestination"] is False
    assert outflow_line["dfns"]["transferId"] == story["paid"].id
    assert (provenance["requestId"], provenance["approvalId"]) == (first.request_id, first.approval_id)
    assert provenance["requestedAt"]
    assert provenance["approvedAt"]
    [approver] = provenance["approvedBy"]
    assert (approver["userId"], approver["name"], approver["decision"]) == (
        stack.officer_id,
        "compliance-officer-1",
        "Approved",
    )


def test_the_statement_as_csv_is_an_rfc4180_attachment(story: dict[str, Any]) -> None:
    import csv
    import io

    stack: ReportsStack = story["stack"]
    query = {"from": _iso(story["started"]), "to": _iso(story["until"]), "format": "csv"}
    result = stack.get(ALICE, "/accounts/me/statement", query)
    assert result.status == 200
    assert result.headers["Content-Type"].startswith("text/csv")
    assert result.headers["Content-Disposition"].startswith('attachment; filename="statement-alice-reports-')
    text = result.body
    assert text.endswith("\r\n")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["row"] for r in rows] == ["opening_balance", "movement", "movement", "closing_balance"]
    out = rows[2]
    assert (out["direction"], out["amount"], out["counterparty_label"]) == ("Out", "0.01", "Alice's bank")
    assert out["approval_id"] == story["requests"]["first"].approval_id
    assert out["unapproved_destination"] == "false"
    assert out["time"].endswith("Z")
    total = Decimal(rows[0]["amount"]) + Decimal(rows[1]["amount"]) - Decimal(rows[2]["amount"])
    total -= Decimal(rows[2]["fee"])
    assert total == Decimal(rows[3]["amount"])


def test_the_audit_trail_tells_the_whole_story_without_calling_dfns(story: dict[str, Any]) -> None:
    stack: ReportsStack = story["stack"]
    query = {"from": _iso(story["started"]), "to": _iso(story["until"]), "limit": "100"}
    result, dfns_calls = stack.dfns_requests_during(lambda: stack.get(ALICE, "/accounts/me/audit", query))
    assert dfns_calls == {}
    entries = result.body["items"]
    assert [e["occurredAt"] for e in entries] == sorted(e["occurredAt"] for e in entries)
    kinds = [e["kind"] for e in entries]
    assert kinds.count("AccountOnboarded") == 1
    assert kinds.count("DestinationRequested") == 3
    assert kinds.count("DestinationSubmitted") == 3
    assert kinds.count("DestinationApproved") == 2
    assert kinds.count("DestinationRejected") == 1
    decisions = [e for e in entries if e["kind"] == "ApprovalDecision"]
    assert len(decisions) == 3
    denial = next(d for d in decisions if d["details"]["value"] == "Denied")
    assert denial["details"]["reason"] == "unknown counterparty"
    assert denial["approvalId"] == story["requests"]["rejected"].approval_id
    for decision in decisions:
        assert decision["actor"] == {"id": stack.officer_id, "name": "compliance-officer-1"}
        assert decision["dfnsAuditLogId"]
        assert decision["signedAction"]["signature"]
    dfns_rows = [e for e in entries if e["kind"] == "DfnsAction"]
    paths = sorted(e["details"]["actionPath"] for e in dfns_rows)
    # Dfns names the object acted on in the action path: the payment and the blocked one are filed too.
    wallet, policy = story["alice"].wallet_id, story["alice"].whitelist_policy_id
    assert paths == [
        "POST /v2/policies",
        "POST /wallets",
        *[f"POST /wallets/{wallet}/transfers"] * 2,
        *[f"PUT /v2/policies/{policy}"] * 3,
    ]
    requested = next(e for e in entries if e["kind"] == "DestinationRequested")
    assert requested["actor"]["id"] == ALICE


def test_each_decision_verifies_and_one_altered_by_a_byte_does_not(story: dict[str, Any]) -> None:
    stack: ReportsStack = story["stack"]
    query = {"from": _iso(story["started"]), "to": _iso(story["until"]), "limit": "100"}
    entries = stack.get(BOB, "/accounts/me/audit", query).body["items"]
    [decision] = [e for e in entries if e["kind"] == "ApprovalDecision"]
    path = f"/accounts/me/audit/{decision['entryId']}/verification"
    verified, calls = stack.dfns_requests_during(lambda: stack.get(BOB, path))
    assert calls == {}
    assert verified.body["verified"] is True, verified.body
    assert verified.body["checks"] == {"action": True, "challenge": True, "signature": True}
    for alices in (
        e
        for e in stack.get(ALICE, "/accounts/me/audit", query).body["items"]
        if e["kind"] == "ApprovalDecision"
    ):
        assert (
            stack.get(ALICE, f"/accounts/me/audit/{alices['entryId']}/verification").body["verified"] is True
        )

    stack.tamper_signature(BOB, decision["entryId"])

    tampered = stack.get(BOB, path).body
    assert tampered["verified"] is False
    assert tampered["checks"]["signature"] is False


def test_no_route_shows_one_client_the_others_rows(story: dict[str, Any]) -> None:
    stack: ReportsStack = story["stack"]
    alice, bob = story["alice"], story["bob"]
    query = {"from": _iso(story["started"]), "to": _iso(story["until"]), "limit": "1"}
    alices_marks = {str(alice.wallet_id), str(alice.whitelist_policy_id), D1, D2, D3, str(alice.address)}
    alices_marks |= {r.request_id for k, r in story["requests"].items() if k != "bobs"}
    for path, extra in (
        ("/accounts/me/restrictions", None),
        ("/accounts/me/activity", None),
        ("/accounts/me/audit", {"from": query["from"], "to": query["to"], "limit": "100"}),
        ("/accounts/me/statement", {"from": query["from"], "to": query["to"]}),
        ("/accounts/me/statement", {"from": query["from"], "to": query["to"], "format": "csv"}),
    ):
        shown = str(stack.get(BOB, path, extra).body)
        assert not [mark for mark in alices_marks if mark in shown], path
        assert str(bob.wallet_id) in shown or path.endswith("audit") or "csv" in str(extra), path
    alices_audit = stack.get(ALICE, "/accounts/me/audit", query).body
    alices_activity = stack.get(ALICE, "/accounts/me/activity", {"limit": "1"}).body
    foreign = stack.get(BOB, "/accounts/me/audit", {**query, "cursor": alices_audit["nextCursor"]})
    assert (foreign.status, foreign.body["error"]["code"]) == (400, "invalid_query")
    foreign = stack.get(BOB, "/accounts/me/activity", {"cursor": alices_activity["nextCursor"]})
    assert foreign.status == 400
    entry = alices_audit["items"][0]["entryId"]
    assert stack.get(BOB, f"/accounts/me/audit/{entry}/verification").status == 404


def test_every_view_is_account_not_found_before_onboarding(story: dict[str, Any]) -> None:
    stack: ReportsStack = story["stack"]
    for path in (
        "/accounts/me/restrictions",
        "/accounts/me/activity",
        "/accounts/me/audit",
        "/accounts/me/statement",
        "/accounts/me/audit/20260101T000000000000Z-abc/verification",
    ):
        result = stack.get("carol-not-yet", path)
        assert (result.status, result.body["error"]["code"]) == (404, "account_not_found"), path
