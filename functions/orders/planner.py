"""The scheduled order-run planner (EventBridge Scheduler, ``Settings.order_run_schedule``).

The schedule's input carries its slot, ``{"source": "schedule", "task": "order-run", "scheduledTime":
"<aws.scheduler.scheduled-time>"}``: the run id comes from it, so a schedule invocation delivered twice
plans the same run (idempotently) rather than two. ``POST /admin/order-runs`` takes the same path.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from managed_accounts.domain.order_runs import OrderRunPlanner


def _scheduled_at(event: dict[str, Any]) -> datetime | None:
    """The schedule's slot (``scheduledTime``; an EventBridge rule's ``time``), if the event has one."""
    for field in ("scheduledTime", "time"):
        value = event.get(field)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is not None:
                return moment
    return None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, planner: OrderRunPlanner | None = None
) -> dict[str, object]:
    from managed_accounts.api.orders_models import RunReportOut
    from managed_accounts.domain.trading import scheduled_run_id

    if planner is None:
        from managed_accounts import wiring

        planner = wiring.order_run_planner()
    scheduled_at = _scheduled_at(event)
    run_id = scheduled_run_id(scheduled_at) if scheduled_at else None
    report, replayed = planner.start(run_id, trigger="schedule")
    metrics.add_metric(name="OrderRunsPlanned", unit="Count", value=1)
    metrics.add_metric(name="OrderLegsPlanned", unit="Count", value=report.legs)
    return RunReportOut.of(report, replayed=replayed).to_body()
