"""The scheduled ingestion of Dfns's audit log into clients' audit trails (EventBridge Scheduler,
every few minutes): see ``managed_accounts.domain.audit_ingest``. Every run does the same bounded,
incremental pass from the stored watermark and returns its summary, also logged and turned into metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from managed_accounts.domain.audit_ingest import AuditIngestJob


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, job: AuditIngestJob | None = None
) -> dict[str, int | str | None]:
    logger.info(
        "audit log ingestion started", extra={"schedule": event.get("resources") or event.get("task")}
    )
    if job is None:
        from managed_accounts import wiring

        job = wiring.audit_ingest_job()
    summary = job.run(time_left=lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="AuditRowsFiled", unit="Count", value=int(summary["filed"] or 0))
    metrics.add_metric(name="AuditExportTruncated", unit="Count", value=int(summary["truncatedExports"] or 0))
    if summary["stopped"]:
        metrics.add_metric(name="AuditIngestStopped", unit="Count", value=1)
    return summary
