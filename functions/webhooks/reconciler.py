"""The scheduled reconciler (EventBridge Scheduler, every few minutes): see ``domain/reconciler.py``.

The schedule's input is not needed: every run does the same bounded pass and returns its summary,
which is also logged and turned into metrics an alarm can watch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from managed_accounts.domain.reconciler import Reconciler


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, reconciler: Reconciler | None = None
) -> dict[str, int | bool]:
    logger.info(
        "reconciliation started", extra={"schedule": event.get("resources") or event.get("detail-type")}
    )
    if reconciler is None:
        from managed_accounts import wiring

        reconciler = wiring.reconciler()
    summary = reconciler.run(time_left=lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="ReconcileFailures", unit="Count", value=int(summary["failures"]))
    metrics.add_metric(name="ReconcileApprovalsApplied", unit="Count", value=int(summary["approvalsApplied"]))
    metrics.add_metric(name="ReconcileDeferred", unit="Count", value=int(summary["deferred"]))
    metrics.add_metric(name="OnboardingStuck", unit="Count", value=int(summary["onboardingStuck"]))
    return summary
