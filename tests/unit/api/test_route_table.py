"""Each function serves exactly the routes the shared route table gives it (and so the CDK API)."""

from __future__ import annotations

import importlib

import pytest
from managed_accounts.routes import ROUTES


@pytest.mark.parametrize("function", ["onboard", "destinations", "reports"])
def test_handler_routes_match_the_route_table(function: str) -> None:
    module = importlib.import_module(f"functions.{function}.handler")
    schema = module.app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
    served = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if path != "/docs"
    }
    expected = {(r.method, r.path) for r in ROUTES if r.function == function}
    assert served == expected
