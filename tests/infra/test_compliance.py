"""cdk-nag's AwsSolutions checks pass (every acknowledgement has a reason) and cfn-lint finds no error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import CONTEXT, THROWAWAY_CONTEXT

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("variant", ["prod", "throwaway"])
def test_cdk_nag_passes_with_written_reasons(tmp_path: Path, variant: str) -> None:
    from infra.stack import build_app

    context = THROWAWAY_CONTEXT if variant == "throwaway" else CONTEXT
    app, _ = build_app(nag=True, outdir=str(tmp_path), context=context)
    app.synth()  # raises ValidationFailed on any unacknowledged finding

    report = json.loads((tmp_path / "validation-report.json").read_text())
    [nag] = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    assert nag["suppressedViolations"]
    for finding in nag["suppressedViolations"]:
        assert len(finding["reason"]) > 40, (
            f"{finding['acknowledgedId']}: acknowledgements need a real reason"
        )


def test_cfn_lint_reports_no_errors(template: Any) -> None:
    from cfnlint.api import ManualArgs, lint

    matches = lint(json.dumps(template.to_json()), config=ManualArgs(regions=["eu-west-1"]))
    errors = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
