"""``make openapi``: write the merged OpenAPI document to docs/openapi.json (a test fails when stale).

python -m local_stack.openapi_doc [path]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from managed_accounts.routes import FUNCTIONS, ROUTES

from local_stack.invoker import HandlerInvoker
from local_stack.openapi import function_schemas, merged_document

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SERVER_URL = "https://{api-id}.execute-api.{region}.amazonaws.com/{stage}"


def document() -> dict[str, Any]:
    return merged_document(function_schemas(HandlerInvoker(), FUNCTIONS), ROUTES, server_url=SERVER_URL)


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
