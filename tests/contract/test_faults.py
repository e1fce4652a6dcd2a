"""Faults, rate limits, the request log, the clock and admin routes."""

from __future__ import annotations

import httpx

from tests.contract.dfns_helpers import DfnsUser


def test_injected_429_carries_retry_after_and_5xx_are_dfns_errors(svc: DfnsUser, http: httpx.Client):
    assert http.post("/sandbox/faults", json={"rate429": 1}).status_code == 200
    limited = svc.get("/wallets")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) > 0
    assert limited.json()["error"]["status"] == 429
    http.post("/sandbox/faults", json={"rate429": 0, "rate5xx": 1})
    broken = svc.get("/wallets")
    assert broken.status_code in {500, 502, 503}
    assert broken.json()["error"]["status"] == broken.status_code
    assert http.get("/sandbox/requests").status_code == 200  # admin routes are never faulted
    http.post("/sandbox/faults", json={"rate5xx": 0})
    assert svc.get("/wallets").status_code == 200


def test_a_5xx_before_a_signed_call_changes_nothing(svc: DfnsUser, http: httpx.Client):
    content = b'{"network":"EthereumSepolia"}'
    action = svc.user_action("POST", "/wallets", content.decode())
    http.post("/sandbox/faults", json={"rate5xx": 1})
    assert svc.send("POST", "/wallets", content, action).status_code >= 500
    http.post("/sandbox/faults", json={"rate5xx": 0})
    assert svc.get("/wallets").json()["items"] == []
    assert svc.send("POST", "/wallets", content, action).status_code == 200  # the action was not burnt


def test_per_minute_rate_limit_counts_every_request_and_sends_headers(svc: DfnsUser, http: httpx.Client):
    http.post("/sandbox/faults", json={"rateLimitPerMinute": 4})
    first = svc.get("/wallets")
    assert first.headers["X-RateLimit-Limit"] == "4"
    assert first.headers["X-RateLimit-Remaining"] == "3"
    assert int(first.headers["X-RateLimit-Reset"]) > 0
    signed = svc.signed("POST", "/wallets", {"network": "EthereumSepolia"})  # init + action + call = 3
    assert signed.status_code == 200
    assert signed.headers["X-RateLimit-Remaining"] == "0"
    over = svc.get("/wallets")
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    http.post("/sandbox/faults", json={"rateLimitPerMinute": None})
    assert svc.get("/wallets").status_code == 200


def test_fault_settings_are_validated(http: httpx.Client):
    assert http.post("/sandbox/faults", json={"rate429": 2}).status_code == 400
    assert http.post("/sandbox/faults", json={"chaos": True}).status_code == 400
    assert http.post("/sandbox/faults", json={"latencyMs": 1}).json()["latencyMs"] == 1
    assert http.get("/sandbox/faults").json()["latencyMs"] == 1


def test_request_log_counts_per_route_template(svc: DfnsUser, http: httpx.Client):
    http.delete("/sandbox/requests")
    wallet = svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).json()
    svc.signed(
        "POST", f"/wallets/{wallet['id']}/transfers", {"kind": "Native", "to": "0x" + "1" * 40, "amount": "1"}
    )
    svc.get(f"/wallets/{wallet['id']}")
    svc.get("/nowhere")
    log = http.get("/sandbox/requests").json()
    assert log["counts"]["POST /wallets/{walletId}/transfers"] == 1
    assert log["counts"]["GET /wallets/{walletId}"] == 1
    assert log["counts"]["POST /auth/action/init"] == 2
    assert log["counts"]["POST /auth/action"] == 2
    assert log["requests"][-1]["status"] == 404
    assert log["total"] == sum(log["counts"].values())


def test_clock_reads_and_advances(http: httpx.Client):
    before = http.get("/sandbox/clock").json()
    assert before["realtime"] is False
    after = http.post("/sandbox/clock", json={"advanceSeconds": 3600}).json()
    assert after["now"] > before["now"]
    assert http.post("/sandbox/clock", json={"advanceSeconds": -1}).status_code == 400


def test_officers_are_served_by_the_admin_route(http: httpx.Client, officer: DfnsUser):
    [listed] = http.get("/sandbox/officers").json()["officers"]
    assert listed["userId"] == officer.user_id
    assert listed["privateKeyPem"].startswith("-----BEGIN PRIVATE KEY-----")


def test_latency_is_added_without_changing_answers(svc: DfnsUser, http: httpx.Client):
    http.post("/sandbox/faults", json={"latencyMs": 20, "seed": 7})
    assert svc.signed("POST", "/wallets", {"network": "EthereumSepolia"}).status_code == 200
    assert len(svc.get("/wallets").json()["items"]) == 1


def test_rate_limit_of_n_per_minute_answers_429_beyond_it_and_0_removes_it(svc: DfnsUser, http: httpx.Client):
    assert http.post("/sandbox/faults", json={"rateLimitPerMinute": 2}).json()["rateLimitPerMinute"] == 2
    assert [svc.get("/wallets").status_code for _ in range(2)] == [200, 200]
    over = svc.get("/wallets")
    assert over.status_code == 429
    assert over.json()["error"]["status"] == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.headers["X-RateLimit-Remaining"] == "0"
    removed = http.post("/sandbox/faults", json={"rateLimitPerMinute": 0}).json()
    assert removed["rateLimitPerMinute"] is None
    answers = [svc.get("/wallets") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert "X-RateLimit-Limit" not in answers[-1].headers
    assert http.post("/sandbox/faults", json={"rateLimitPerMinute": -1}).status_code == 400
    assert http.post("/sandbox/faults", json={"reserialize": "yes"}).status_code == 400
