"""``managed-accounts demo``: the product's story end to end against the running stack, narrated.

Two clients onboard; each asks for a destination; the compliance officer approves one and rejects
the other in Dfns; the webhooks bring the outcomes back; then Dfns itself enforces the whitelist: a
transfer to the approved address goes through and one elsewhere is blocked. Then trading: Alice
authorises it, the officer approves the exchange's deposit address, an operator starts an order run,
the local SQS worker submits her order and the webhooks confirm it; the same run id again changes
nothing. Every step checks what it shows, and the demo exits non-zero at the first surprise.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.models import DecisionBody, NativeTransferBody, TransferRequest

from local_stack.notifications import read_notifications
from local_stack.remote import RunningStack, StackNotRunning, WaitTimeout, wait_for

EXCHANGE = "sandbox-exchange"
ONE_ETH = 10**18


class DemoFailure(Exception):
    pass


def say(text: str) -> None:
    print(text, flush=True)


def show(label: str, body: Any) -> None:
    print(f"    {label}: {json.dumps(body, indent=None, default=str)[:400]}", flush=True)


def expect(response: httpx.Response, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise DemoFailure(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}"
            f" (expected {statuses}): {response.text[:300]}"
        )
    return response.json() if response.content else None


def items(body: Any) -> list[dict[str, Any]]:
    """A list from a list response, whichever envelope the route uses."""
    if isinstance(body, list):
        return body
    for key in ("items", "destinations", "requests"):
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return list(body[key])
    raise DemoFailure(f"not a list response: {body!r}")


def onboard(stack: RunningStack, client_id: str) -> dict[str, Any]:
    first = expect(stack.api("POST", "/accounts", client_id=client_id), 201)
    again = expect(stack.api("POST", "/accounts", client_id=client_id), 200)
    if again.get("walletId") != first.get("walletId"):
        raise DemoFailure("onboarding twice created a second wallet")
    account: dict[str, Any] = expect(stack.api("GET", "/accounts/me", client_id=client_id), 200)
    return account


def get(stack: RunningStack, client_id: str, path: str) -> Any:
    return expect(stack.api("GET", path, client_id=client_id), 200)


def request_destination(stack: RunningStack, client_id: str, address: str, label: str) -> dict[str, Any]:
    body = {"address": address, "label": label}
    response = stack.api("POST", "/accounts/me/destination-requests", client_id=client_id, json=body)
    request_id = expect(response, 202)["requestId"]

    def submitted() -> dict[str, Any] | None:
        current = get(stack, client_id, f"/accounts/me/destination-requests/{request_id}")
        return current if current.get("approvalId") else None

    return wait_for(submitted, what=f"request {request_id} to reach Dfns as a change request")


def await_status(stack: RunningStack, client_id: str, request_id: str, status: str) -> dict[str, Any]:
    def resolved() -> dict[str, Any] | None:
        current = get(stack, client_id, f"/accounts/me/destination-requests/{request_id}")
        return current if current.get("status") == status else None

    return wait_for(resolved, what=f"request {request_id} to become {status}")


def notified(stack: RunningStack, client_id: str, kind: str) -> dict[str, Any]:
    """The client's notification of ``kind`` (the bus rule → queue → watcher path is asynchronous)."""
    return wait_for(
        lambda: next((n for n in read_notifications(stack.state_dir, client_id) if n["type"] == kind), None),
        what=f"a {kind} notification for {client_id}",
    )


def transfer(stack: RunningStack, wallet_id: str, to: str, amount: int) -> TransferRequest:
    """A transfer straight through Dfns as the service account (no product route for ad-hoc transfers)."""
    with stack.service_account_client() as dfns:
        submitted = dfns.transfer(wallet_id, NativeTransferBody(to=to, amount=str(amount)))
        if submitted.is_terminal:
            return submitted
        stack.advance_sandbox_clock(15)  # confirm now rather than in ~13 s of real time
        return wait_for(
            lambda: t if (t := dfns.get_transfer(wallet_id, submitted.id)).is_terminal else None,
            what=f"transfer {submitted.id} to finish",
        )


def authorise_trading(stack: RunningStack, client_id: str, amount: str) -> dict[str, Any]:
    body = {"exchange": EXCHANGE, "asset": "ETH", "amountPerRun": amount}
    response = stack.api("PUT", "/accounts/me/trading-authorization", client_id=client_id, json=body)
    mandate: dict[str, Any] = expect(response, 202)
    if mandate.get("status") != "pending_approval":
        raise DemoFailure(f"a new exchange address should wait for compliance: {mandate}")
    return mandate


def await_mandate(stack: RunningStack, client_id: str, status: str) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        current = get(stack, client_id, "/accounts/me/trading-authorization")
        return current if current.get("status") == status else None

    return wait_for(settled, what=f"the trading authorisation of {client_id} to become {status}")


def start_run(stack: RunningStack, run_id: str) -> dict[str, Any]:
    response = stack.api(
        "POST", "/admin/order-runs", client_id="demo-operator", operator=True, json={"runId": run_id}
    )
    report: dict[str, Any] = expect(response, 202)
    return report


def run_report(stack: RunningStack, run_id: str) -> dict[str, Any]:
    response = stack.api("GET", f"/admin/order-runs/{run_id}", client_id="demo-operator", operator=True)
    report: dict[str, Any] = expect(response, 200)
    return report


def _finished(report: dict[str, Any]) -> bool:
    """Planned (the planning pages went through the queue) and no leg left to process."""
    return bool(report["status"] == "planned" and report["pending"] == 0)


def order_of(stack: RunningStack, client_id: str, run_id: str) -> dict[str, Any] | None:
    orders = items(get(stack, client_id, "/accounts/me/orders"))
    return next((o for o in orders if o.get("runId") == run_id), None)


def _trading(stack: RunningStack, alice: str, wallet_id: str) -> None:
    say("7. Alice authorises discretionary trading: 0.05 ETH to the exchange on every order run.")
    mandate = authorise_trading(stack, alice, "0.05")
    show("mandate", mandate)
    request_id = mandate["destinationRequestId"]

    def submitted() -> dict[str, Any] | None:
        current = get(stack, alice, f"/accounts/me/destination-requests/{request_id}")
        return current if current.get("approvalId") else None

    request = wait_for(submitted, what="the exchange address to reach Dfns as a change request")
    say("   The exchange's deposit address goes through the same approval as any destination.")
    with stack.officer_client() as officer:
        officer.decide_approval(request["approvalId"], DecisionBody(value="Approved"))
    show("mandate", await_mandate(stack, alice, "active"))

    run_id = f"demo-run-{secrets.token_hex(3)}"
    say(f"8. An operator starts order run {run_id} (the schedule takes the same path).")
    show("planned", start_run(stack, run_id))
    report = wait_for(
        lambda: r if _finished(r := run_report(stack, run_id)) else None,
        what=f"the workers to plan and process run {run_id}",
    )
    show("report", report)
    if report["submitted"] < 1:
        raise DemoFailure(f"Alice's order was not submitted: {report}")
    say("   Dfns executes the transfer; its webhooks bring the outcome back.")
    stack.advance_sandbox_clock(15)
    order = wait_for(
        lambda: o if (o := order_of(stack, alice, run_id)) and o.get("status") == "confirmed" else None,
        what=f"Alice's order of {run_id} to be confirmed",
    )
    show("order", order)
    show(alice, notified(stack, alice, "OrderConfirmed"))

    say("9. The same run id again: a replay, idempotent. Nothing is paid twice.")
    replay = start_run(stack, run_id)
    show(
        "replay",
        wait_for(lambda: r if _finished(r := run_report(stack, run_id)) else None, what="the replay"),
    )
    again = order_of(stack, alice, run_id)
    with stack.service_account_client() as dfns:
        paid = [t for t in dfns.iter_transfers(wallet_id) if t.external_id == order["externalId"]]
    if not replay.get("replayed") or again != order or len(paid) != 1:
        raise DemoFailure(f"the replay changed something: {again} / {len(paid)} transfers")
    say(f"   still one transfer for this run ({paid[0].id}), and the order unchanged.")


def _story(stack: RunningStack) -> None:
    run = secrets.token_hex(3)
    alice, bob = f"alice-{run}", f"bob-{run}"
    say(f"1. Two clients sign in and open their managed accounts ({alice}, {bob}).")
    accounts = {client: onboard(stack, client) for client in (alice, bob)}
    for client, account in accounts.items():
        show(client, account)
    say("   Onboarding again answers 200 with the same wallet: never a second wallet or policy.")

    say("2. Each asks for an approved destination. The backend proposes the whitelist change in Dfns,")
    say("   where the governance policy holds it for a human compliance officer.")
    alice_dest, bob_dest = "0x" + secrets.token_hex(20), "0x" + secrets.token_hex(20)
    alice_req = request_destination(stack, alice, alice_dest, "Alice's bank")
    bob_req = request_destination(stack, bob, bob_dest, "Bob's other exchange")
    show(f"{alice} request", alice_req)
    show(f"{bob} request", bob_req)

    say("3. The compliance officer decides in Dfns with their own signed credential.")
    with stack.officer_client() as officer:
        approved = officer.decide_approval(alice_req["approvalId"], DecisionBody(value="Approved"))
        denied = officer.decide_approval(
            bob_req["approvalId"], DecisionBody(value="Denied", reason="unknown counterparty")
        )
    say(f"   {approved.id}: {approved.status};  {denied.id}: {denied.status}")

    say("4. Dfns's webhooks bring the outcomes back; the product records them.")
    show(alice, await_status(stack, alice, alice_req["requestId"], "approved"))
    show(bob, await_status(stack, bob, bob_req["requestId"], "rejected"))
    alice_destinations = items(get(stack, alice, "/accounts/me/destinations"))
    bob_destinations = items(get(stack, bob, "/accounts/me/destinations"))
    show(f"{alice} destinations", alice_destinations)
    show(f"{bob} destinations", bob_destinations)
    if [d.get("address") for d in alice_destinations] != [alice_dest] or bob_destinations:
        raise DemoFailure("the approved destinations do not match the officer's decisions")
    show(
        f"{alice} requests",
        items(expect(stack.api("GET", "/accounts/me/destination-requests", client_id=alice), 200)),
    )

    say("   The company's notifier hears the client-facing domain events:")
    for client, kind in ((alice, "DestinationApproved"), (bob, "DestinationRejected")):
        show(client, notified(stack, client, kind))

    say("5. Dfns enforces the whitelist itself (straight through Dfns as the service account, since")
    say("   the product has no route for ad-hoc transfers):")
    wallet_id = accounts[alice]["walletId"]
    stack.deposit(wallet_id, str(ONE_ETH))
    allowed = transfer(stack, wallet_id, alice_dest, ONE_ETH // 100)
    blocked = transfer(stack, wallet_id, "0x" + secrets.token_hex(20), ONE_ETH // 100)
    say(f"   to the approved address: {allowed.status};  elsewhere: {blocked.status} ({blocked.reason})")
    if allowed.status != "Confirmed" or blocked.status != "Rejected":
        raise DemoFailure("the whitelist did not allow/block as approved")

    say("6. What the client sees of it (functions/reports):")
    show_reports(stack, alice, alice_dest)

    _trading(stack, alice, wallet_id)


def show_restrictions(body: dict[str, Any]) -> None:
    """The restrictions view as a short table."""
    wallet, whitelist, governance = body["wallet"], body["whitelist"], body["governance"]
    rows = [
        ("wallet tags", f"{wallet['clientTag']}={wallet['clientTagPresent']}, "
         f"{wallet['limitsTag']}={wallet['limitsTagPresent']}"),
        ("whitelist", f"{whitelist['policyId']} {whitelist['status']} {whitelist['action']}: "
         + ", ".join(f"{a['address'][:10]}… ({a['label']})" for a in whitelist["addresses"])),
        *(
            (f"limit {p['rule']}", f"{p['limit']} {p['currency'] or 'transfers'}"
             + (f" per {p['timeframeMinutes']} min" if p["timeframeMinutes"] else ""))
            for p in body["limits"]["policies"]
        ),
        ("governance", f"{governance['policyId']} active={governance['active']} "
         f"approvers={governance['approversCount']} quorum={governance['quorum']}"),
        ("pending requests", str(len(body["pendingRequests"]))),
        ("drift", "; ".join(d["message"] for d in body["drift"]) or "none: Dfns enforces what is shown"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        say(f"   {name.ljust(width)}  {value}")


def show_reports(stack: RunningStack, client_id: str, approved: str) -> None:
    restrictions = get(stack, client_id, "/accounts/me/restrictions")
    show_restrictions(restrictions)
    if restrictions["drift"] or [a["address"] for a in restrictions["whitelist"]["addresses"]] != [approved]:
        raise DemoFailure("the restrictions view does not show what compliance approved")
    say("   Activity, newest first:")
    for item in get(stack, client_id, "/accounts/me/activity")["items"]:
        who = item["counterparty"]["label"] or item["counterparty"]["address"]
        say(f"     {item['direction']:<3} {item['amount']} {item['symbol']}  {who}  {item['status']}")
    say("   Audit trail (Dfns's own audit-log rows join it at the next ingestion run):")
    for entry in get(stack, client_id, "/accounts/me/audit")["items"]:
        signed = "  [signed action on record]" if entry["signedAction"] else ""
        say(f"     {entry['occurredAt'][:19]}  {entry['summary']}{signed}")
    # Up to the end of tomorrow: the demo moved the sandbox's clock ahead to confirm transfers at once.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    statement = get(stack, client_id, f"/accounts/me/statement?to={tomorrow}")
    for balance in statement["balances"]:
        opening, inflow, outflow, closing = (
            int(balance[f"{k}MinimumUnits"]) for k in ("opening", "in", "out", "closing")
        )
        if opening + inflow - outflow != closing:
            raise DemoFailure(f"the statement's {balance['symbol']} balances do not add up")
        say(
            f"   Statement {balance['symbol']}: opening {balance['opening']} + in {balance['in']} "
            f"− out {balance['out']} = closing {balance['closing']}"
        )
    for movement in statement["movements"]:
        if movement["direction"] == "Out":
            provenance = movement["provenance"] or {}
            say(
                f"     paid {movement['amount']} to {movement['counterparty']['label']}: request "
                f"{provenance.get('requestId')}, approval {provenance.get('approvalId')}, "
                f"unapproved destination: {movement['unapprovedDestination']}"
            )


def run_demo(state_dir: Path) -> int:
    try:
        with RunningStack(state_dir) as stack:
            info = stack.info
            say(f"Managed accounts demo against {info['apiUrl']} (Dfns sandbox {info['sandboxUrl']})\n")
            _story(stack)
    except StackNotRunning as exc:
        print(f"error: {exc}", flush=True)
        return 2
    except (DemoFailure, WaitTimeout, DfnsError, KeyError) as exc:
        print(f"\nDEMO FAILED: {type(exc).__name__}: {exc}", flush=True)
        return 1
    say("\nThe story holds end to end.")
    return 0
