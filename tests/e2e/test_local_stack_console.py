"""What a newcomer sees and types: the console of the stack (short lines, the story), the full logs in
stack.log, and the commands the banner prints, run exactly as printed in a shell."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest
from local_stack.remote import RunningStack, wait_for
from managed_accounts.dfns.models import DecisionBody

from tests.e2e.harness import CONSOLE_LOG, ROOT

pytestmark = pytest.mark.e2e

WAIT_S = 30


def _console(stack: RunningStack) -> str:
    return (stack.state_dir / CONSOLE_LOG).read_text(errors="replace")


def _printed_commands(console: str) -> str:
    """The banner's "Try it" block, as a shell script (continuation lines included)."""
    block = console.split("Try it in a second terminal:\n", 1)[1].split("\n\n", 1)[0]
    return "\n".join(line.removeprefix("  ") for line in block.splitlines())


def test_the_console_has_one_short_line_per_request_and_the_story_and_no_json(stack: RunningStack):
    client_id, address = f"erin-{secrets.token_hex(4)}", "0x" + secrets.token_hex(20)
    assert stack.api("POST", "/accounts", client_id=client_id).status_code == 201
    body = {"address": address}
    response = stack.api("POST", "/accounts/me/destination-requests", client_id=client_id, json=body)
    assert response.status_code == 202
    # A request's line is written once it is answered, a webhook's once handled, an event's once the
    # bus delivered it.
    submitted = f"DestinationSubmitted {client_id} {address} approval=ap-"
    webhook = re.compile(r"^\d\d:\d\d:\d\d webhook policy\.approval\.pending 200 \d+ms$", re.MULTILINE)
    wait_for(lambda: True if submitted in _console(stack) else None, timeout=WAIT_S, what="the story")
    wait_for(lambda: webhook.search(_console(stack)), timeout=WAIT_S, what="Dfns's webhook on the console")
    console = _console(stack)
    for line in (r"POST /accounts 201 \d+ms", r"POST /accounts/me/destination-requests 202 \d+ms"):
        assert re.search(rf"^\d\d:\d\d:\d\d {line}$", console, re.MULTILINE), console[-3000:]
    assert f"AccountOnboarded {client_id} wallet=wa-" in console
    assert not [line for line in console.splitlines() if line.lstrip().startswith("{")]
    full = (stack.state_dir / "stack.log").read_text()
    dfns_calls = [json.loads(line) for line in full.splitlines() if '"message":"dfns call"' in line]
    assert dfns_calls
    assert {"dfns_method", "dfns_path", "dfns_status"} <= dfns_calls[0].keys()
    assert "CloudWatchMetrics" in full  # the handlers' EMF metrics, printed by Powertools


def test_the_commands_make_run_prints_work_as_printed(stack: RunningStack, tmp_path: Path):
    """`TOKEN=$(make -s token CLIENT=alice)`, the curls, `make approvals`, `make approve`, `make demo`:
    pasted into a shell that opened somewhere else (the banner says where the repository and the
    stack's state are)."""
    # The officer's desk starts clear: earlier tests may have left a change waiting.
    with stack.officer_client() as officer:
        for approval in officer.iter_approvals(status="Pending"):
            officer.decide_approval(approval.id, DecisionBody(value="Denied", reason="clean desk"))
    script = _printed_commands(_console(stack))
    assert script.startswith(f"cd {ROOT}\n")
    assert "make -s token CLIENT=alice" in script
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "AWS_", "DFNS_"))}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output[-3000:] + result.stderr[-3000:]
    assert re.search(r"^ap-\S+: Approved$", output, re.MULTILINE), output[-3000:]
    assert '"address": "0x52908400098527886e0f7030069857d2e4169ee7"' in output.replace('":"', '": "')
    assert re.search(r"^wa-\S+: \+1 ETH \(a sandbox deposit\)$", output, re.MULTILINE), output[-3000:]
    assert "to the approved address: Confirmed;  elsewhere: Rejected" in output  # make demo
    assert "The story holds end to end." in output
    assert Path(stack.state_dir / "stack.json").exists()
