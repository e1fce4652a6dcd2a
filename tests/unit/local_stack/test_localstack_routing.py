"""Route matching follows API Gateway: one segment per parameter, the most specific resource wins."""

from __future__ import annotations

from local_stack.routing import Router, match_resource
from managed_accounts.routes import ROUTES, Route


def test_each_route_of_the_shared_table_is_reachable():
    router = Router()
    for route in ROUTES:
        path = route.path.replace("{address}", "0xabc").replace("{requestId}", "req-1")
        routed = router.resolve(route.method, path)
        assert routed is not None, route
        assert routed.route == route


def test_path_parameters_are_extracted():
    routed = Router().resolve("GET", "/accounts/me/destination-requests/req-42")
    assert routed is not None
    assert routed.match.resource == "/accounts/me/destination-requests/{requestId}"
    assert routed.match.path_parameters == {"requestId": "req-42"}


def test_a_literal_segment_wins_over_a_parameter():
    router = Router([Route("GET", "/things/{id}", "a", "client"), Route("GET", "/things/me", "b", "client")])
    routed = router.resolve("GET", "/things/me")
    assert routed is not None
    assert routed.route.function == "b"
    other = router.resolve("GET", "/things/42")
    assert other is not None
    assert other.route.function == "a"


def test_unknown_paths_and_methods_do_not_route():
    router = Router()
    assert router.resolve("GET", "/nowhere") is None
    assert router.resolve("PATCH", "/accounts") is None
    assert router.resolve("GET", "/accounts/me/destinations/0xabc/extra") is None


def test_a_parameter_never_spans_two_segments():
    assert match_resource("/a/{x}", "/a/b/c") is None
    assert match_resource("/a/{x}", "/a/b/") == {"x": "b"}


def test_methods_of_a_resource_are_listed_for_preflight():
    assert Router().methods_for("/accounts") == ["POST"]
    assert Router().methods_for("/accounts/me/destination-requests") == ["GET", "POST"]
