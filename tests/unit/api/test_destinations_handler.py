"""Destination routes through API Gateway REST events: statuses, bodies, validation, isolation."""

from __future__ import annotations

from typing import Any

import pytest

import functions.destinations.handler as destinations
from tests.fakes.apigw import HttpResult, call, rest_event
from tests.fakes.world import World

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

A1 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
A2 = "0x" + "b2" * 20


@pytest.fixture
def api(world: World) -> World:
    world.active_account("alice")
    world.active_account("bob")
    return world


def serve(world: World, event: dict[str, Any]) -> HttpResult:
    """The destinations function with the world's service and commands as its dependencies."""
    return call(destinations.handler, event, service=world.destinations, commands=world.commands)


def request(world: World, client_id: str | None, body: Any, *, key: str | None = None) -> HttpResult:
    headers = {"Idempotency-Key": key} if key is not None else None
    path = "/accounts/me/destination-requests"
    return serve(world, rest_event("POST", path, client_id=client_id, body=body, headers=headers))


def get(world: World, client_id: str | None, path: str, query: dict[str, str] | None = None) -> HttpResult:
    return serve(world, rest_event("GET", path, client_id=client_id, query=query))


def delete(world: World, client_id: str | None, address: str, *, key: str | None = None) -> HttpResult:
    event = rest_event(
        "DELETE",
        f"/accounts/me/destinations/{address}",
        client_id=client_id,
        resource="/accounts/me/destinations/{address}",
        path_parameters={"address": address},
        headers={"Idempotency-Key": key} if key is not None else None,
    )
    return serve(world, event)


def _nothing_stored(world: World, client_id: str = "alice") -> bool:
    return world.repo.list_requests(client_id).items == [] and world.dfns.calls["update_policy"] == 0


def test_a_request_is_202_with_the_submitted_request_and_appears_once_approved(api: World) -> None:
    response = request(api, "alice", {"address": A1, "label": "Ledger"})
    assert response.status == 202
    body = response.body
    assert body["status"] == "submitted"
    assert body["address"] == A1.lower()
    assert body["label"] == "Ledger"
    assert body["action"] == "add"
    assert body["approvalId"]
    assert body["changeRequestId"]
    assert get(api, "alice", "/accounts/me/destinations").body == {"items": []}

    api.approve_all()

    [destination] = get(api, "alice", "/accounts/me/destinations").body["items"]
    assert destination["address"] == A1.lower()
    assert destination["label"] == "Ledger"
    assert destination["approvalId"] == body["approvalId"]
    assert destination["approvedAt"]
    one = get(api, "alice", f"/accounts/me/destination-requests/{body['requestId']}")
    assert one.status == 200
    assert one.body["status"] == "approved"


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}, "checksum"),
        ({"address": "0x1234"}, "40 hex"),
        ({"label": "no address"}, "address"),
        ({"address": A1, "colour": "red"}, "colour"),
        ({"address": A1, "label": ""}, "label"),
        ({"address": A1, "label": "x" * 65}, "label"),
        ({"address": A1, "label": "bank\u202egpj.exe"}, "invisible"),
    ],
)
def test_bad_input_is_422_in_the_error_shape_and_changes_nothing(
    api: World, body: Any, mentions: str
) -> None:
    response = request(api, "alice", body)
    assert response.status == 422
    assert response.body["error"]["code"] == "invalid_input"
    assert mentions in response.body["error"]["message"]
    assert _nothing_stored(api)


def test_removal_is_202_then_the_destination_goes_once_approved(api: World) -> None:
    request(api, "alice", {"address": A1})
    api.approve_all()
    response = delete(api, "alice", A1)
    assert response.status == 202
    assert response.body["action"] == "remove"
    assert response.body["status"] == "submitted"
    api.approve_all()
    assert get(api, "alice", "/accounts/me/destinations").body == {"items": []}


def test_removing_an_address_that_is_not_approved_is_404(api: World) -> None:
    response = delete(api, "alice", A2)
    assert response.status == 404
    assert response.body["error"]["code"] == "not_found"
    assert delete(api, "alice", "garbage").status == 404
    assert _nothing_stored(api)


def test_listing_pages_newest_first_with_a_status_filter(api: World) -> None:
    for address in (A1, A2):
        request(api, "alice", {"address": address})
        api.clock.advance(1)
    first = get(api, "alice", "/accounts/me/destination-requests", {"limit": "1"})
    assert first.status == 200
    assert [r["address"] for r in first.body["items"]] == [A2]
    second = get(
        api, "alice", "/accounts/me/destination-requests", {"limit": "1", "cursor": first.body["nextCursor"]}
    )
    assert [r["address"] for r in second.body["items"]] == [A1.lower()]
    assert second.body["nextCursor"] is None
    queued = get(api, "alice", "/accounts/me/destination-requests", {"status": "queued"})
    assert [r["address"] for r in queued.body["items"]] == [A2]


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"status": "done"}, {"cursor": "@@"}]
)
def test_bad_listing_parameters_are_422(api: World, query: dict[str, str]) -> None:
    response = get(api, "alice", "/accounts/me/destination-requests", query)
    assert response.status == 422
    assert response.body["error"]["code"] == "invalid_input"


def test_client_b_cannot_read_or_change_client_a_data_on_any_route(api: World) -> None:
    created = request(api, "alice", {"address": A1}).body
    api.approve_all()
    request_path = f"/accounts/me/destination-requests/{created['requestId']}"

    assert get(api, "bob", request_path).status == 404
    assert get(api, "bob", "/accounts/me/destination-requests").body == {"items": [], "nextCursor": None}
    assert get(api, "bob", "/accounts/me/destinations").body == {"items": []}
    assert delete(api, "bob", A1).status == 404
    # Bob asking for the same address creates Bob's own request; Alice's data is untouched.
    assert request(api, "bob", {"address": A1}).status == 202
    assert [d.address for d in api.repo.list_destinations("alice")] == [A1.lower()]
    assert get(api, "alice", request_path).body["status"] == "approved"


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
    response = serve(api, rest_event(method, path, body=body))
    assert response.status == 401
    assert response.body["error"]["code"] == "unauthenticated"
    assert _nothing_stored(api)


def test_a_client_not_onboarded_gets_404(api: World) -> None:
    response = request(api, "carol", {"address": A1})
    assert response.status == 404
    assert get(api, "carol", "/accounts/me/destinations").status == 404
