"""The local stack's console: short lines for requests, webhooks and domain events; the full logs
(the product's Powertools JSON, EMF metrics) in stack.log, or on the console as well when verbose."""

from __future__ import annotations

import io
import json
import logging
import re
import signal
import sys
import threading
from pathlib import Path

import httpx
import pytest
from local_stack import console as console_module
from local_stack.cli import EPILOG, StopOnSignal, _fund, _the_pending_approval, _UsageError, usage
from local_stack.console import (
    ConsoleFilter,
    NotProductFilter,
    ShortFormatter,
    event_line,
    request_line,
    route_logs,
    webhook_kind,
    webhook_line,
)
from local_stack.stack import REPO_ROOT
from managed_accounts.observability import logger as product_logger
from managed_accounts.observability import metrics


def _record(name: str, level: int = logging.INFO, message: str = "hello") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


# --- the lines ------------------------------------------------------------------------------------


def test_request_and_webhook_lines_are_short():
    assert request_line("POST", "/accounts", 201, 83.6) == "POST /accounts 201 84ms"
    assert webhook_line("policy.approval.resolved", 200, 31.2) == "webhook policy.approval.resolved 200 31ms"
    assert webhook_line(None, 401, 2) == "webhook ? 401 2ms"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"id": "whe-1", "kind": "wallet.transfer.confirmed"}', "wallet.transfer.confirmed"),
        (b'{"id": "whe-1"}', None),
        (b'{"kind": 7}', None),
        (b"[1, 2]", None),
        (b"not json", None),
        (b"\xff\xfe", None),
    ],
)
def test_the_webhook_kind_comes_from_the_body_when_it_is_the_json_dfns_sends(body, kind):
    assert webhook_kind(body) == kind


def test_a_domain_event_line_tells_who_what_and_the_ids_to_act_on():
    submitted = {
        "type": "DestinationSubmitted",
        "time": "2026-11-30T04:02:02Z",
        "clientId": "alice",
        "requestId": "dr-1",
        "action": "add",
        "address": "0x52908400098527886e0f7030069857d2e4169ee7",
        "label": "my bank",
        "status": "submitted",
        "approvalId": "ap-1",
        "reason": None,
    }
    assert event_line(submitted) == (
        "DestinationSubmitted alice 0x52908400098527886e0f7030069857d2e4169ee7 approval=ap-1"
    )
    rejected = {**submitted, "type": "DestinationRejected", "action": "remove", "reason": "unknown"}
    assert event_line(rejected) == (
        "DestinationRejected alice removal of 0x52908400098527886e0f7030069857d2e4169ee7 approval=ap-1"
        " reason=unknown"
    )
    onboarded = {"type": "AccountOnboarded", "clientId": "bob", "walletId": "wa-1", "whitelistPolicyId": "p"}
    assert event_line(onboarded) == "AccountOnboarded bob wallet=wa-1"
    assert event_line({"type": "SecurityDrift", "clientId": None, "driftKind": "tag_removed"}) == (
        "SecurityDrift - drift=tag_removed"
    )


# --- which records go where -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "level", "default", "verbose"),
    [
        ("local_stack.console", logging.INFO, True, True),
        ("local_stack.access", logging.INFO, False, True),
        ("local_stack.stack", logging.WARNING, True, True),
        ("dfns_sandbox", logging.INFO, False, True),
        ("dfns_sandbox", logging.ERROR, True, True),
        ("py.warnings", logging.WARNING, False, True),
        # The product's records reach the console through its own (JSON) handler when verbose, so
        # the console's handler never repeats them; by default only its errors, as one short line.
        ("managed-accounts", logging.INFO, False, False),
        ("managed-accounts", logging.WARNING, False, False),
        ("managed-accounts", logging.ERROR, True, False),
        ("managed-accounts.child", logging.ERROR, True, False),
    ],
)
def test_the_console_filter(name, level, default, verbose):
    record = _record(name, level)
    assert ConsoleFilter(verbose=False).filter(record) is default
    assert ConsoleFilter(verbose=True).filter(record) is verbose


def test_the_log_file_gets_the_product_records_from_the_product_handler_only():
    assert NotProductFilter().filter(_record("local_stack.console"))
    assert NotProductFilter().filter(_record("managed-accountsX"))
    assert not NotProductFilter().filter(_record("managed-accounts"))


def test_short_lines_are_a_time_and_the_message_and_problems_are_named_without_a_traceback(tmp_path):
    formatter = ShortFormatter(tmp_path / "stack.log")
    short = formatter.format(_record("local_stack.console", message="POST /accounts 201 9ms"))
    assert re.fullmatch(r"\d\d:\d\d:\d\d POST /accounts 201 9ms", short)
    failed = _record("local_stack.gateway", logging.ERROR, "handler failed")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed.exc_info = sys.exc_info()
    line = formatter.format(failed)
    log_path = re.escape(str(tmp_path / "stack.log"))
    expected = rf"\d\d:\d\d:\d\d ERROR local_stack\.gateway: handler failed \(details in {log_path}\)"
    assert re.fullmatch(expected, line)
    assert "Traceback" not in line


# --- the routing in the stack's process -----------------------------------------------------------


@pytest.fixture
def routed(tmp_path):
    made = []

    def route(*, verbose: bool):
        out = io.StringIO()
        routing = route_logs(tmp_path, verbose=verbose, console_stream=out)
        made.append(routing)
        return routing, out

    yield route
    for routing in made:
        routing.close()


def _emit_one_of_each() -> None:
    console_module.console.info("POST /accounts 201 9ms")
    product_logger.info("dfns call", extra={"dfns_path": "/wallets"})
    product_logger.error("reconcile drift")
    logging.getLogger("dfns_sandbox").info("sandbox detail")
    metrics.add_metric(name="AccountsOnboarded", unit="Count", value=1)
    metrics.flush_metrics()  # Powertools prints the EMF document


def test_by_default_the_console_has_the_short_lines_and_the_file_everything(routed, tmp_path):
    routing, out = routed(verbose=False)
    _emit_one_of_each()
    routing.close()
    console_lines = out.getvalue().splitlines()
    assert len(console_lines) == 2
    assert re.fullmatch(r"\d\d:\d\d:\d\d POST /accounts 201 9ms", console_lines[0])
    assert console_lines[1].endswith("ERROR managed-accounts: reconcile drift")
    logged = (tmp_path / "stack.log").read_text()
    json_lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert [j.get("message") for j in json_lines if "message" in j] == ["dfns call", "reconcile drift"]
    assert json_lines[0]["dfns_path"] == "/wallets"
    assert any("CloudWatchMetrics" in json.dumps(j) for j in json_lines)
    assert "local_stack.console: POST /accounts 201 9ms" in logged
    assert "dfns_sandbox: sandbox detail" in logged


def test_verbose_puts_the_full_logs_on_the_console_too(routed, tmp_path):
    routing, out = routed(verbose=True)
    _emit_one_of_each()
    routing.close()
    shown = out.getvalue()
    assert '"message":"dfns call"' in shown
    assert "CloudWatchMetrics" in shown
    assert "dfns_sandbox: sandbox detail" in shown
    assert shown.count("reconcile drift") == 1  # once, as JSON: not repeated as a short line
    assert '"message":"dfns call"' in (tmp_path / "stack.log").read_text()


def test_closing_puts_stdout_and_the_product_handler_back(routed):
    stdout, stream = sys.stdout, product_logger.registered_handler.stream  # type: ignore[attr-defined]
    routing, _ = routed(verbose=False)
    assert sys.stdout is not stdout
    routing.close()
    assert sys.stdout is stdout
    assert product_logger.registered_handler.stream is stream  # type: ignore[attr-defined]


# --- what `make run` prints and how it stops --------------------------------------------------------

INFO = {
    "apiUrl": "http://127.0.0.1:3000",
    "sandboxUrl": "http://127.0.0.1:3001",
    "awsEndpointUrl": "x",
    "portalUrl": "http://127.0.0.1:3003/portal/",
}


def _commands(banner: str) -> list[str]:
    block = banner.split("Try it in a second terminal:\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines()]


def test_the_banner_has_the_links_and_only_commands_that_work_without_uv_on_the_path(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    banner = usage(INFO, Path(".local"), Path(".local/stack.log"))
    links = (
        "http://127.0.0.1:3003/portal/",
        "http://127.0.0.1:3000/docs",
        "http://127.0.0.1:3000/openapi.json",
        "http://127.0.0.1:3001",
    )
    for link in links:
        assert link in banner
    commands = _commands(banner)
    assert commands[:2] == [f"cd {REPO_ROOT}", "TOKEN=$(make -s token CLIENT=alice)"]
    assert "uv run" not in banner
    assert "managed-accounts" not in "\n".join(commands[1:])
    assert {c.split()[1] for c in commands if c.startswith("make ")} == {
        "approvals",
        "approve",
        "fund",
        "demo",
    }


def test_the_banner_says_where_a_stack_with_another_state_dir_is(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    commands = _commands(usage(INFO, tmp_path / "state", tmp_path / "state" / "stack.log"))
    assert commands[:2] == [f"cd {REPO_ROOT}", f"export MANAGED_ACCOUNTS_STATE_DIR={tmp_path / 'state'}"]


def test_every_make_target_that_is_printed_exists():
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.MULTILINE))
    printed = usage(INFO, Path(".local"), Path("x")) + EPILOG
    printed += (REPO_ROOT / "local" / "local_stack" / "README.md").read_text()
    walkthrough = (REPO_ROOT / "README.md").read_text().split("## Walkthrough", 1)[1].split("\n## ", 1)[0]
    assert "uv run" not in walkthrough
    used = set(re.findall(r"(?:^|`|\$\()\s*make (?:-s )?([a-z-]+)", printed + walkthrough, re.MULTILINE))
    assert used >= {"run", "token", "approvals", "approve", "deny", "fund", "demo"}
    assert used <= targets


def test_one_ctrl_c_delivered_twice_stops_cleanly_and_a_later_one_ends_the_process(monkeypatch):
    killed: list[int] = []
    monkeypatch.setattr("local_stack.cli.os.kill", lambda pid, sig: killed.append(sig))
    monkeypatch.setattr("local_stack.cli.signal.signal", lambda sig, handler: None)
    now = [100.0]
    stop = threading.Event()
    on_signal = StopOnSignal(stop, clock=lambda: now[0])
    on_signal(signal.SIGINT, None)
    assert stop.is_set()
    now[0] += 0.01
    on_signal(signal.SIGINT, None)  # the same Ctrl-C, forwarded by `uv run`
    assert killed == []
    now[0] += 2
    on_signal(signal.SIGINT, None)
    assert killed == [signal.SIGINT]


class _Officer:
    def __init__(self, *ids: str) -> None:
        self.ids = ids

    def iter_approvals(self, status: str):
        assert status == "Pending"
        return [type("Approval", (), {"id": i})() for i in self.ids]


def test_approve_without_an_id_takes_the_one_pending_approval_and_refuses_to_guess():
    assert _the_pending_approval(_Officer("ap-1")) == "ap-1"  # type: ignore[arg-type]
    with pytest.raises(_UsageError, match="no approval is waiting"):
        _the_pending_approval(_Officer())  # type: ignore[arg-type]
    with pytest.raises(_UsageError, match="APPROVAL=<id>: ap-1 ap-2"):
        _the_pending_approval(_Officer("ap-1", "ap-2"))  # type: ignore[arg-type]


class _Stack:
    """The two calls `make fund` makes on a running stack."""

    def __init__(self, status: int, account: dict[str, str]) -> None:
        self.answer = httpx.Response(status, json=account)
        self.deposits: list[tuple[str, str]] = []

    def api(self, method: str, path: str, *, client_id: str) -> httpx.Response:
        assert (method, path, client_id) == ("GET", "/accounts/me", "alice")
        return self.answer

    def deposit(self, wallet_id: str, amount: str) -> None:
        self.deposits.append((wallet_id, amount))


def test_fund_deposits_wei_into_the_clients_wallet_and_refuses_what_it_cannot_do(capsys):
    stack = _Stack(200, {"walletId": "wa-1"})
    assert _fund(stack, "alice", "0.5") == 0  # type: ignore[arg-type]
    assert stack.deposits == [("wa-1", str(5 * 10**17))]
    assert capsys.readouterr().out == "wa-1: +0.5 ETH (a sandbox deposit)\n"
    for eth in ("x", "0", "-1"):
        with pytest.raises(_UsageError):
            _fund(stack, "alice", eth)  # type: ignore[arg-type]
    with pytest.raises(_UsageError, match="POST /accounts first"):
        _fund(_Stack(404, {}), "alice", "1")  # type: ignore[arg-type]
    assert len(stack.deposits) == 1
