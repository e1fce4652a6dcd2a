"""docs/openapi.json is the API contract that frontends read: it must be what the code serves."""

from __future__ import annotations

from local_stack.openapi_doc import DEFAULT_PATH, document, render
from managed_accounts.routes import ROUTES


def test_docs_openapi_json_is_up_to_date() -> None:
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(), "run `make openapi` and commit the result"


def test_every_route_has_a_summary_a_capability_tag_and_its_error_answers() -> None:
    paths = document()["paths"]
    for route in ROUTES:
        operation = paths[route.path][route.method.lower()]
        assert operation["summary"], route
        assert not operation["summary"].startswith(route.method), route
        assert operation["tags"] != ["default"], route
        assert "401" in operation["responses"], route
