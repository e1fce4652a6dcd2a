"""The merged OpenAPI document and the Swagger UI page the local gateway serves at /openapi.json and /docs.

Each function's Powertools resolver describes its own routes (``app.get_openapi_json_schema()``);
Powertools' ``OpenAPIMerge`` merges them. The route table then decides what is published: only its
routes, each with the security the authorizer applies; a route whose function has no resolver
schema (or cannot be imported yet) still appears, with a minimal operation, so the docs never lie
about what the API serves. Swagger UI's assets are the ones Powertools bundles (no CDN offline).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

from managed_accounts.api.models import ErrorBody
from managed_accounts.api.resolver import ERROR_ANSWERS
from managed_accounts.routes import CAPABILITY_TAGS, Route

from local_stack.invoker import Invoker

log = logging.getLogger(__name__)

SECURITY_SCHEME = "cognito"
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
# Found without importing the event handler (heavy): only a request for /docs or /openapi.json pays.
_POWERTOOLS = importlib.util.find_spec("aws_lambda_powertools")
SWAGGER_ASSETS = Path(_POWERTOOLS.origin if _POWERTOOLS and _POWERTOOLS.origin else ".").parent.joinpath(
    "event_handler", "openapi", "swagger_ui"
)
ASSET_FILES = {
    "swagger-ui-bundle.min.js": "application/javascript",
    "swagger-ui.min.css": "text/css",
}


def function_schemas(invoker: Invoker, functions: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each function's own OpenAPI document, from the resolver its handler module exposes."""
    schemas: list[dict[str, Any]] = []
    for function in functions:
        try:
            module = invoker.load(function)
        except Exception as exc:  # a missing or broken function must not take the docs down
            log.warning("no OpenAPI schema for %s: %s", function, exc)
            continue
        for value in vars(module).values():
            describe = getattr(value, "get_openapi_json_schema", None)
            if callable(describe) and not isinstance(value, type):
                schemas.append(json.loads(describe()))
                break
    return schemas


def _fallback_operation(route: Route) -> dict[str, Any]:
    return {
        "summary": route.summary or f"{route.method} {route.path}",
        "operationId": f"{route.function}_{route.method.lower()}_{route.path.strip('/').replace('/', '_')}",
        "responses": {"200": {"description": "Successful Response"}, **_WEBHOOK_ERRORS}
        if route.auth == "webhook"
        else {"200": {"description": "Successful Response"}},
    }


_WEBHOOK_ERRORS = {
    "400": {"description": "Authenticated, but not an event the product can act on"},
    "401": {"description": "Missing or wrong signature, or timestampSent outside the window"},
    "413": {"description": "Body over 256 KiB"},
    "503": {"description": "Dfns or the webhook secret unreachable; Dfns retries"},
}


# DESIGN.md §3: a client may send an Idempotency-Key on any POST/PUT/DELETE (commands.checked_key).
# Onboarding needs none (idempotent by design) and the webhook de-duplicates on the business fact.
IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key with the same body returns the stored answer; with another body, a 422",
    "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"},
}


def takes_idempotency_key(route: Route) -> bool:
    return route.method != "GET" and route.auth != "webhook" and route.path != "/accounts"


def merged_document(
    schemas: list[dict[str, Any]], routes: tuple[Route, ...], *, server_url: str
) -> dict[str, Any]:
    """One OpenAPI 3.1 document for the whole API, restricted to (and completed from) ``routes``."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merger = OpenAPIMerge(
        title="Managed accounts API",
        version="0.1.0",
        description="Managed investment accounts on Dfns (local stack).",
        on_conflict="first",
    )
    for schema in schemas:
        merger.add_schema(schema)
    merged: dict[str, Any] = json.loads(merger.get_openapi_json_schema())
    found: dict[str, Any] = merged.get("paths") or {}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        method = route.method.lower()
        operation = dict(found.get(route.path, {}).get(method) or _fallback_operation(route))
        operation["tags"] = [CAPABILITY_TAGS.get(route.function, route.function)]
        if route.auth in ("client", "operator"):
            operation["security"] = [{SECURITY_SCHEME: []}]
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_ANSWERS.items():
                responses[str(status)] = {"description": description, "content": _ERROR_CONTENT}
        if route.auth == "operator":
            operation["responses"].setdefault("403", {"description": "Operators only"})
        if takes_idempotency_key(route):
            parameters = [
                p for p in operation.get("parameters", []) if p.get("name") != IDEMPOTENCY_KEY["name"]
            ]
            operation["parameters"] = [*parameters, IDEMPOTENCY_KEY]
        paths.setdefault(route.path, {})[method] = operation
    merged["openapi"] = merged.get("openapi", "3.1.0")
    merged["paths"] = paths
    merged["servers"] = [{"url": server_url}]
    components = merged.setdefault("components", {})
    # Pydantic nests ErrorDetail under the schema's own $defs while the $ref points at components:
    # hoisted there, every error answer's schema resolves (schemathesis validates them all).
    error_body = ErrorBody.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    component_schemas = components.setdefault("schemas", {})
    component_schemas.update(error_body.pop("$defs", {}))
    component_schemas["ErrorBody"] = error_body
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Cognito ID token (locally: `managed-accounts token <clientId>`).",
    }
    return merged


SWAGGER_PAGE = """<!DOCTYPE html>
<html>
<head>
  <meta charset="UTF-8">
  <title>Managed accounts API (local)</title>
  <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui">Loading...</div>
  <script src="/docs/swagger-ui-bundle.min.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis],
    });
  </script>
</body>
</html>
"""


def swagger_asset(name: str) -> tuple[bytes, str] | None:
    """A bundled Swagger UI asset and its content type, or None when ``name`` is not one."""
    content_type = ASSET_FILES.get(name)
    if content_type is None:
        return None
    return (SWAGGER_ASSETS / name).read_bytes(), content_type
