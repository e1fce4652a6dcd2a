"""The portal's local-only endpoints (dev sign-in, the officer's sandbox panel) and its static site."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from local_stack.dev_endpoints import LocalDevEndpoints, approval_view
from local_stack.portal import PortalSite, local_config, portal_origins
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.models import Approval, DecisionBody
from managed_accounts.routes import ROUTES
from werkzeug.test import Client
from werkzeug.wrappers import Response

ORIGIN = "http://127.0.0.1:3003"
ROOT = Path(__file__).resolve().parents[3]


def _approval(approval_id: str = "ap-1", status: str = "Pending") -> Approval:
    return Approval.model_validate(
        {
            "id": approval_id,
            "initiatorId": "us-service",
            "status": status,
            "dateCreated": datetime(2026, 11, 30, 8, tzinfo=UTC).isoformat(),
            "activity": {
                "kind": "Policies:Modify",
                "changeRequest": {
                    "id": "cr-1",
                    "status": "Pending",
                    "entityId": "po-1",
                    "body": {
                        "name": "whitelist client:alice",
                        "rule": {
                            "kind": "TransactionRecipientWhitelist",
                            "configuration": {"addresses": ["0xab"]},
                        },
                    },
                },
            },
        }
    )


class FakeOfficer:
    """The compliance officer's Dfns client, recording decisions."""

    def __init__(self) -> None:
        self.pending = [_approval()]
        self.decisions: list[tuple[str, DecisionBody]] = []
        self.fail: DfnsError | None = None

    def iter_approvals(self, *, status: str | None = None) -> Iterator[Approval]:
        assert status == "Pending"
        if self.fail:
            raise self.fail
        return iter(self.pending)

    def decide_approval(self, approval_id: str, body: DecisionBody) -> Approval:
        if self.fail:
            raise self.fail
        self.decisions.append((approval_id, body))
        return _approval(approval_id, body.value)


def _downstream(environ: dict[str, Any], start_response: Any) -> Any:
    return Response("the gateway", status=299)(environ, start_response)


@pytest.fixture
def officer() -> FakeOfficer:
    return FakeOfficer()


@pytest.fixture
def client(officer: FakeOfficer) -> Client:
    @contextmanager
    def officer_client() -> Iterator[FakeOfficer]:
        yield officer

    app = LocalDevEndpoints(
        _downstream,
        issue_token=lambda client_id, operator: f"token-for-{client_id}-{operator}",
        officer=officer_client,
        cors_origins=[ORIGIN],
    )
    return Client(app)


def test_anything_outside_local_goes_to_the_gateway(client):
    assert client.get("/accounts/me").status_code == 299
    assert client.post("/localish").status_code == 299


def test_a_dev_token_is_issued_for_a_client_or_an_operator(client):
    response = client.post("/local/tokens", json={"clientId": "alice"}, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.get_json() == {"token": "token-for-alice-False", "clientId": "alice", "operator": False}
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    operator = client.post("/local/tokens", json={"clientId": "ops", "operator": True})
    assert operator.get_json()["token"] == "token-for-ops-True"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"clientId": ""},
        {"clientId": "has space"},
        {"clientId": "x" * 65},
        {"clientId": "a", "operator": "yes"},
    ],
)
def test_a_bad_token_request_is_a_422_in_the_apis_error_shape(client, body):
    response = client.post("/local/tokens", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_bodies_must_be_json_objects(client):
    assert client.post("/local/tokens", data="x", content_type="text/plain").status_code == 415
    assert client.post("/local/tokens", data="{", content_type="application/json").status_code == 400
    assert client.post("/local/tokens", data="[1]", content_type="application/json").status_code == 400


def test_preflight_and_methods(client):
    preflight = client.options("/local/tokens", headers={"Origin": ORIGIN})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    other = client.options("/local/tokens", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert client.get("/local/tokens").status_code == 405
    assert client.get("/local/nothing").status_code == 404


def test_the_officer_panel_lists_pending_approvals_with_what_they_change(client):
    response = client.get("/local/officer/approvals", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    [item] = response.get_json()["items"]
    assert item["approvalId"] == "ap-1"
    assert item["policyId"] == "po-1"
    assert item["policyName"] == "whitelist client:alice"
    assert item["addresses"] == ["0xab"]
    assert item["kind"] == "Policies:Modify"


def test_the_officer_decides_with_their_own_client(client, officer):
    body = {"value": "Denied", "reason": "unknown counterparty"}
    response = client.post("/local/officer/approvals/ap-1/decisions", json=body)
    assert response.status_code == 200
    assert response.get_json()["status"] == "Denied"
    assert officer.decisions == [("ap-1", DecisionBody(value="Denied", reason="unknown counterparty"))]


@pytest.mark.parametrize("body", [{"value": "Maybe"}, {"value": "Approved", "reason": 3}])
def test_a_bad_decision_is_refused_before_dfns(client, officer, body):
    response = client.post("/local/officer/approvals/ap-1/decisions", json=body)
    assert response.status_code == 422
    assert officer.decisions == []


def test_a_refusal_from_the_sandbox_is_passed_on_in_the_error_shape(client, officer):
    officer.fail = DfnsError("already decided", status=409)
    decided = client.post("/local/officer/approvals/ap-1/decisions", json={"value": "Approved"})
    assert decided.status_code == 409
    assert "already decided" in decided.get_json()["error"]["message"]
    officer.fail = DfnsError("unreachable")
    assert client.get("/local/officer/approvals").status_code == 502


def test_approval_view_of_a_transfer_approval():
    approval = Approval.model_validate(
        {
            "id": "ap-2",
            "status": "Pending",
            "activity": {
                "kind": "Wallets:Sign",
                "transferRequest": {
                    "id": "xfr-1",
                    "walletId": "wa-1",
                    "status": "Pending",
                    "requestBody": {"to": "0xcd"},
                },
            },
        }
    )
    view = approval_view(approval)
    assert view["transfer"] == {"walletId": "wa-1", "to": "0xcd"}
    assert view["addresses"] == []


def test_the_local_endpoints_are_not_product_routes():
    assert not [r for r in ROUTES if r.path.startswith("/local")]
    openapi = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert not [path for path in openapi["paths"] if path.startswith("/local")]
    infra = "\n".join(p.read_text() for p in (ROOT / "infra").rglob("*.py"))
    assert "/local/" not in infra


# --- the static site --------------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Client:
    (tmp_path / "index.html").write_text("<!doctype html><title>portal</title>")
    (tmp_path / "app.js").write_text("export {};")
    return Client(PortalSite(lambda: "http://127.0.0.1:3000", root=tmp_path))


def test_the_site_serves_the_page_and_its_local_config(site):
    assert site.get("/").headers["Location"].endswith("/portal/")
    page = site.get("/portal/")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert site.get("/portal/app.js").headers["Content-Type"].startswith("text/javascript")
    config = site.get("/portal/config.json").get_json()
    assert config == local_config("http://127.0.0.1:3000")
    assert config["auth"] == {"kind": "local", "tokenUrl": "http://127.0.0.1:3000/local/tokens"}


@pytest.mark.parametrize(
    "path", ["/portal/missing.js", "/portal/../../etc/passwd", "/portal/%2e%2e/x", "/else"]
)
def test_the_site_serves_nothing_outside_its_folder(site, path):
    assert site.get(path).status_code == 404


def test_the_site_is_read_only(site):
    assert site.post("/portal/").status_code == 405


def test_the_real_portal_ships_an_example_config_for_aws():
    assert (ROOT / "portal" / "index.html").is_file()
    example = json.loads((ROOT / "portal" / "config.example.json").read_text())
    assert example["auth"]["kind"] == "cognito"
    assert portal_origins(3003) == ("http://127.0.0.1:3003", "http://localhost:3003")
