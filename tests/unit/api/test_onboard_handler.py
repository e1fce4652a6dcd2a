"""POST /accounts and GET /accounts/me through API Gateway REST events."""

from __future__ import annotations

import pytest

import functions.onboard.handler as onboard
from tests.fakes.apigw import HttpResult, call, rest_event
from tests.fakes.world import World

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def _post(world: World, client_id: str | None) -> HttpResult:
    return call(
        onboard.handler, rest_event("POST", "/accounts", client_id=client_id), service=world.onboarding
    )


def _me(world: World, client_id: str | None) -> HttpResult:
    event = rest_event("GET", "/accounts/me", client_id=client_id)
    return call(onboard.handler, event, service=world.onboarding)


def test_onboarding_is_201_then_200_with_the_same_wallet(world: World) -> None:
    first = _post(world, "alice")
    assert first.status == 201
    assert first.body["clientId"] == "alice"
    assert first.body["status"] == "active"
    assert first.body["walletId"].startswith("wa-")
    assert first.body["address"].startswith("0x")
    assert first.body["limitProfile"] == "standard"

    second = _post(world, "alice")
    assert second.status == 200
    assert second.body["walletId"] == first.body["walletId"]
    assert len(world.dfns.wallets) == 1


def test_get_me_shows_the_account_and_404_before_onboarding(world: World) -> None:
    missing = _me(world, "alice")
    assert missing.status == 404
    assert missing.body["error"]["code"] == "not_found"
    _post(world, "alice")
    me = _me(world, "alice")
    assert me.status == 200
    assert set(me.body) >= {"clientId", "walletId", "network", "address", "status", "limitProfile"}


def test_client_b_sees_only_its_own_account(world: World) -> None:
    alice = _post(world, "alice").body
    assert _me(world, "bob").status == 404
    bob = _post(world, "bob").body
    assert bob["walletId"] != alice["walletId"]
    assert _me(world, "bob").body["clientId"] == "bob"


def test_no_token_is_401_and_an_unusable_subject_is_403_and_nothing_is_created(world: World) -> None:
    for response in (_post(world, None), _me(world, None)):
        assert response.status == 401
        assert response.body["error"]["code"] == "unauthenticated"
    forbidden = _post(world, "not a tag-safe id")
    assert forbidden.status == 403
    assert world.dfns.wallets == {}


def test_dfns_outage_is_503_with_the_error_shape_and_a_retry_succeeds(world: World) -> None:
    world.dfns.fail("create_wallet")
    response = _post(world, "alice")
    assert response.status == 503
    assert response.body == {
        "error": {"code": "dfns_unavailable", "message": "Dfns is unavailable; try again shortly"}
    }
    assert _post(world, "alice").status == 201


def test_unknown_route_is_404_in_the_error_shape(world: World) -> None:
    response = call(onboard.handler, rest_event("GET", "/nope", client_id="alice"), service=world.onboarding)
    assert response.status == 404
    assert response.body["error"]["code"] == "not_found"
