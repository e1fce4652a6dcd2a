"""The embeddable server and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
from dfns_sandbox import SandboxConfig, SandboxServer
from dfns_sandbox.app import SandboxApp
from dfns_sandbox.bench import measure
from dfns_sandbox.core import Sandbox
from werkzeug.test import Client

from tests.contract.dfns_helpers import DfnsUser, Receiver, new_key, public_pem


def test_context_manager_serves_and_stops_and_registers_accounts():
    with SandboxServer(port=0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        creds = server.register_service_account(public_pem(new_key()), "svc")
        response = httpx.get(
            f"{server.url}/wallets", headers={"Authorization": f"Bearer {creds.access_token}"}
        )
        assert response.status_code == 200
        assert server.officer.user_id.startswith("us-")
        url = server.url
    try:
        httpx.get(f"{url}/wallets", timeout=1)
        raise AssertionError("server still answering after stop")
    except httpx.TransportError:
        pass


def test_cli_help_runs():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["local", os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "dfns_sandbox", "--help"]
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0
    assert "--port" in result.stdout


def test_bench_measures_a_small_run():
    numbers = measure(reads=20, signed=5)
    assert numbers["startup_seconds"] > 0
    assert numbers["reads_per_second"] > 0
    assert numbers["signed_calls_per_second"] > 0


def test_admin_routes_refuse_callers_off_loopback():

    app = Client(SandboxApp(Sandbox()))
    remote = app.get("/sandbox/officers", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403
    assert app.get("/sandbox/officers", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200


def test_realtime_ticker_moves_transfers_without_any_request(receiver: Receiver):
    config = SandboxConfig(realtime=True, executing_after_s=0, broadcast_after_s=0, confirm_after_s=0)
    with (
        SandboxServer(port=0, config=config, tick_interval_s=0.02) as server,
        httpx.Client(base_url=server.url, verify=False) as http,
    ):
        key = new_key()
        creds = server.register_service_account(public_pem(key), "svc")
        svc = DfnsUser(http, creds.access_token, creds.cred_id, key, creds.user_id)
        wallet = svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()
        http.post("/sandbox/deposits", json={"walletId": wallet["id"], "amount": str(10**18)})
        svc.signed("POST", "/webhooks", {"url": receiver.url, "events": ["wallet.transfer.confirmed"]})
        transfer = svc.signed(
            "POST",
            f"/wallets/{wallet['id']}/transfers",
            {"kind": "Native", "to": "0x" + "1" * 40, "amount": "1"},
        ).json()
        deadline = time.monotonic() + 10
        while not receiver.deliveries and time.monotonic() < deadline:
            time.sleep(0.02)  # waiting for the background ticker; nothing here asserts on timing
        [event] = receiver.events()
        assert event["data"]["transferRequest"]["id"] == transfer["id"]
        assert event["data"]["transferRequest"]["status"] == "Confirmed"


def test_a_sandbox_bug_still_answers_a_dfns_error_body():
    sandbox = Sandbox()

    def broken(now=None):
        raise RuntimeError("boom")

    sandbox.tick = broken  # type: ignore[method-assign]
    response = Client(SandboxApp(sandbox)).get("/sandbox/clock", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 500
    assert json.loads(response.get_data())["error"]["message"] == "internal sandbox error: RuntimeError"
