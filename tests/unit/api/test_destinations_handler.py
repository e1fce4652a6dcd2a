"""Destination routes through API Gateway REST events: statuses, bodies, validation, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from managed_accounts.wiring import idempotency_store

import functions.destinations.handler as destinations
from tests.fakes.apigw import HttpResult, call, rest_event
from tests.fakes.world import World

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

A1 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
A2 = "0x" + "b2" * 20


def _serve(world: World, monkeypatch: pytest.MonkeyPatch, *, idempotent: bool) -> World:
    store = idempotency_store(world.settings) if idempotent else None
    deps = destinations.Dependencies(world.destinations, store)
    monkeypatch.setattr(destinations, "build_dependencies", lambda: deps)
    world.active_account("alice")
    world.active_account("bob")
    return world


@pytest.fixture
def api(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    return _serve(world, monkeypatch, idempotent=False)


@pytest.fixture
def idempotent_api(moto_world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """Idempotency records in a (moto) DynamoDB table, as deployed."""
    return _serve(moto_world, monkeypatch, idempotent=True)


def _request(client_id: str | None, body: Any) -> HttpResult:
    return call(
        destinations.handler,
        rest_event("POST", "/accounts/me/destination-requests", client_id=client_id, body=body),
    )


def _get(client_id: str | None, path: str, query: dict[str, str] | None = None) -> HttpResult:
    return call(destinations.handler, rest_event("GET", path, client_id=client_id, query=query))


def _delete(client_id: str | None, address: str) -> HttpResult:
    path = f"/accounts/me/destinations/{address}"
    event = rest_event(
        "DELETE",
        path,
        client_id=client_id,
        resource="/accounts/me/destinations/{address}",
        path_parameters={"address": address},
    )
    return call(destinations.handler, event)


def _nothing_stored(world: World, client_id: str = "alice") -> bool:
    return world.repo.list_requests(client_id).items == [] and world.dfns.calls["update_policy"] == 0


def test_a_request_is_202_with_the_submitted_request_and_appears_once_approved(api: World) -> None:
    response = _request("alice", {"address": A1, "label": "Ledger"})
    assert response.status == 202
    body = response.body
    assert body["status"] == "submitted"
    assert body["address"] == A1.lower()
    assert body["label"] == "Ledger"
    assert body["action"] == "add"
    assert body["approvalId"]
    assert body["changeRequestId"]
    assert _get("alice", "/accounts/me/destinations").body == {"items": []}

    api.approve_all()

    [destination] = _get("alice", "/accounts/me/destinations").body["items"]
    assert destination["address"] == A1.lower()
    assert destination["label"] == "Ledger"
    assert destination["approvalId"] == body["approvalId"]
    assert destination["approvedAt"]
    one = _get("alice", f"/accounts/me/destination-requests/{body['requestId']}")
    assert one.status == 200
    assert one.body["status"] == "approved"


def test_a_retried_post_returns_the_same_request_and_creates_nothing_more(idempotent_api: World) -> None:
    first = _request("alice", {"address": A1})
    again = _request("alice", {"address": A1})
    assert again.status == 202
    assert again.body["requestId"] == first.body["requestId"]
    assert len(idempotent_api.repo.list_requests("alice").items) == 1
    removal_of_unknown = _delete("alice", A2)
    assert removal_of_unknown.status == 404  # failures are not remembered: a retry runs again
    assert _delete("alice", A2).status == 404


def test_without_the_idempotency_record_a_repeat_is_a_409_not_a_duplicate(api: World) -> None:
    assert _request("alice", {"address": A1}).status == 202
    assert _request("alice", {"address": A1}).status == 409
    assert len(api.repo.list_requests("alice").items) == 1


def test_an_address_already_pending_in_another_spelling_is_409(api: World) -> None:
    _request("alice", {"address": A1})
    response = _request("alice", {"address": A1.lower()})
    assert response.status == 409
    assert response.body["error"]["code"] == "conflict"
    assert "pending" in response.body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}, "checksum"),
        ({"address": "0x1234"}, "40 hex"),
        ({"label": "no address"}, "address"),
        ({"address": A1, "colour": "red"}, "colour"),
        ({"address": A1, "label": ""}, "label"),
        ({"address": A1, "label": "x" * 65}, "label"),
        ("not json", ""),
    ],
)
def test_bad_input_is_422_in_the_error_shape_and_changes_nothing(
    api: World, body: Any, mentions: str
) -> None:
    response = _request("alice", body)
    assert response.status == 422
    assert response.body["error"]["code"] == "invalid_input"
    assert mentions in response.body["error"]["message"]
    assert _nothing_stored(api)


def test_removal_is_202_then_the_destination_goes_once_approved(api: World) -> None:
    _request("alice", {"address": A1})
    api.approve_all()
    response = _delete("alice", A1)
    assert response.status == 202
    assert response.body["action"] == "remove"
    assert response.body["status"] == "submitted"
    api.approve_all()
    assert _get("alice", "/accounts/me/destinations").body == {"items": []}


def test_removing_an_address_that_is_not_approved_is_404(api: World) -> None:
    response = _delete("alice", A2)
    assert response.status == 404
    assert response.body["error"]["code"] == "not_found"
    assert _delete("alice", "garbage").status == 404
    assert _nothing_stored(api)


def test_listing_pages_newest_first_with_a_status_filter(api: World) -> None:
    for address in (A1, A2):
        _request("alice", {"address": address})
        api.clock.advance(1)
    first = _get("alice", "/accounts/me/destination-requests", {"limit": "1"})
    assert first.status == 200
    assert [r["address"] for r in first.body["items"]] == [A2]
    second = _get(
        "alice", "/accounts/me/destination-requests", {"limit": "1", "cursor": first.body["nextCursor"]}
    )
    assert [r["address"] for r in second.body["items"]] == [A1.lower()]
    assert second.body["nextCursor"] is None
    queued = _get("alice", "/accounts/me/destination-requests", {"status": "queued"})
    assert [r["address"] for r in queued.body["items"]] == [A2]


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"status": "done"}, {"cursor": "@@"}]
)
def test_bad_listing_parameters_are_422(api: World, query: dict[str, str]) -> None:
    response = _get("alice", "/accounts/me/destination-requests", query)
    assert response.status == 422
    assert response.body["error"]["code"] == "invalid_input"


def test_client_b_cannot_read_or_change_client_a_data_on_any_route(api: World) -> None:
    created = _request("alice", {"address": A1}).body
    api.approve_all()
    request_path = f"/accounts/me/destination-requests/{created['requestId']}"

    assert _get("bob", request_path).status == 404
    assert _get("bob", "/accounts/me/destination-requests").body == {"items": [], "nextCursor": None}
    assert _get("bob", "/accounts/me/destinations").body == {"items": []}
    assert _delete("bob", A1).status == 404
    # Bob asking for the same address creates Bob's own request; Alice's data is untouched.
    assert _request("bob", {"address": A1}).status == 202
    assert [d.address for d in api.repo.list_destinations("alice")] == [A1.lower()]
    assert _get("alice", request_path).body["status"] == "approved"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/accounts/me/destinations"),
        ("POST", "/accounts/me/destination-requests"),
        ("GET", "/accounts/me/destination-requests"),
        ("GET", "/accounts/me/destination-requests/dr-1"),
        ("DELETE", f"/accounts/me/destinations/{A2}"),
    ],
)
def test_every_route_is_401_without_a_token(api: World, method: str, path: str) -> None:
    body = {"address": A2} if method == "POST" else None
    response = call(destinations.handler, rest_event(method, path, body=body))
    assert response.status == 401
    assert response.body["error"]["code"] == "unauthenticated"
    assert _nothing_stored(api)


def test_a_client_not_onboarded_gets_404(api: World) -> None:
    response = _request("carol", {"address": A1})
    assert response.status == 404
    assert _get("carol", "/accounts/me/destinations").status == 404
