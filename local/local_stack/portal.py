"""The reference client portal (``portal/`` at the repository root), served on its own origin.

The page is static: ``PortalSite`` serves its files under ``/portal/`` and answers
``/portal/config.json`` with the local stack's configuration (the API's URL, sign-in through the
local-only token endpoint), in place of the ``config.json`` a deployment puts beside the page (Cognito
hosted UI). The portal's origin differs from the API's, so every call the page makes is a real
cross-origin request, checked against ``FRONTEND_ORIGINS`` as in AWS.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from local_stack.dev_endpoints import APPROVALS_PATH, TOKENS_PATH

PORTAL_DIR = Path(__file__).resolve().parents[2] / "portal"
BASE = "/portal/"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def portal_origins(port: int) -> tuple[str, ...]:
    """The origins a browser may show the portal under (both loopback spellings)."""
    return (f"http://127.0.0.1:{port}", f"http://localhost:{port}")


def local_config(api_url: str) -> dict[str, Any]:
    """What the page reads from ``config.json`` on the local stack."""
    return {
        "environment": "local",
        "apiUrl": api_url,
        "auth": {"kind": "local", "tokenUrl": f"{api_url}{TOKENS_PATH}"},
        "sandbox": {"approvalsUrl": f"{api_url}{APPROVALS_PATH}"},
    }


class PortalSite:
    """A WSGI app: the portal's static files, and its local ``config.json``."""

    def __init__(self, api_url: Callable[[], str], root: Path = PORTAL_DIR) -> None:
        self._api_url = api_url
        self._root = root.resolve()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        result: Iterable[bytes] = self.dispatch(Request(environ))(environ, start_response)
        return result

    def dispatch(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("method not allowed\n", status=405, content_type="text/plain")
        if request.path in ("/", "/portal"):
            return Response(status=302, headers={"Location": BASE})
        if not request.path.startswith(BASE):
            return Response("not found\n", status=404, content_type="text/plain")
        name = request.path.removeprefix(BASE) or "index.html"
        if name == "config.json":
            response = Response(json.dumps(local_config(self._api_url())), content_type="application/json")
        else:
            file = self._file(name)
            if file is None:
                return Response("not found\n", status=404, content_type="text/plain")
            content_type = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
            response = Response(file.read_bytes(), content_type=content_type or "application/octet-stream")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _file(self, name: str) -> Path | None:
        """The file under the portal's folder, or None (missing, a folder, or outside it)."""
        candidate = (self._root / name).resolve()
        if not candidate.is_relative_to(self._root) or not candidate.is_file():
            return None
        return candidate
