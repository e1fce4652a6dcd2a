"""CDK entry point: ``python infra/app.py`` (``make synth``) or the CDK CLI (``cdk.json``, ``make deploy``).

Honours ``CDK_OUTDIR`` (``make synth`` sets ``cdk.out``) and the context ``-c stage=<name>`` (default dev);
``-c bundling=skip`` synthesises with a placeholder layer (tests only: never deploy that).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, only infra/ is on the path: add the repository (infra.*) and the layer (managed_accounts).
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from infra.stack import build_app  # noqa: E402


def main() -> None:
    app, _ = build_app(outdir=os.environ.get("CDK_OUTDIR"))
    app.synth()


if __name__ == "__main__":
    main()
