"""Route matching over the shared route table, with API Gateway REST semantics.

``{name}`` matches exactly one path segment; literal segments win over parameters (API Gateway
prefers the most specific resource); an unknown resource or method is API Gateway's
"Missing Authentication Token" (the deployed API answers it as a 404 ``not_found``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from managed_accounts.routes import ROUTES, Route

from local_stack.events import RouteMatch


@dataclass(frozen=True, slots=True)
class Routed:
    route: Route
    match: RouteMatch


class Router:
    def __init__(self, routes: Iterable[Route] = ROUTES) -> None:
        self._routes = tuple(routes)

    @property
    def routes(self) -> tuple[Route, ...]:
        return self._routes

    def resolve(self, method: str, path: str) -> Routed | None:
        """The route serving ``method path``, or None when API Gateway would have no such method."""
        candidates = [
            (route, params)
            for route in self._routes
            if route.method == method.upper() and (params := match_resource(route.path, path)) is not None
        ]
        if not candidates:
            return None
        # Most specific first: more literal segments beat parameters (``/me`` before ``/{id}``).
        route, params = max(candidates, key=lambda c: _literal_segments(c[0].path))
        return Routed(route=route, match=RouteMatch(resource=route.path, path_parameters=params))

    def methods_for(self, path: str) -> list[str]:
        """Methods of the resource at ``path`` (for CORS pre-flight answers)."""
        return sorted({r.method for r in self._routes if match_resource(r.path, path) is not None})


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _literal_segments(resource: str) -> int:
    return sum(1 for s in _segments(resource) if not s.startswith("{"))


def match_resource(resource: str, path: str) -> dict[str, str] | None:
    """The path parameters if ``path`` is an instance of ``resource``, else None."""
    pattern, actual = _segments(resource), _segments(path)
    if len(pattern) != len(actual):
        return None
    params: dict[str, str] = {}
    for expected, value in zip(pattern, actual, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            params[expected[1:-1]] = value
        elif expected != value:
            return None
    return params
