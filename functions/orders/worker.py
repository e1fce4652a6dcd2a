"""The order-leg worker: the order-leg queue's SQS event source (batches of up to ten messages: order
legs, and the planning pages that enqueue them).

Powertools' ``BatchProcessor`` reports the legs that failed (``batchItemFailures``) so only those come
back; a leg deferred for a rate limit or an outage already had its visibility set to ``Retry-After``
(or a backoff) by the worker. See ``domain/order_legs.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from managed_accounts.domain.order_legs import OrderLegWorker


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, worker: OrderLegWorker | None = None
) -> dict[str, Any]:
    from managed_accounts.domain.ports import PlanningPage
    from managed_accounts.order_queue import message_from_sqs_record

    if worker is None:
        from managed_accounts import wiring

        worker = wiring.order_leg_worker()
    legs = worker

    def time_left() -> float:
        return float(context.get_remaining_time_in_millis()) / 1000

    def process(record: SQSRecord) -> str:
        message = message_from_sqs_record(record.raw_event)
        if isinstance(message, PlanningPage):
            return legs.plan(message, time_left)
        return legs.process(message, time_left)

    # One processor per invocation: it holds the batch's results (and the local stack's worker runs
    # invocations side by side, as Lambda runs containers). A batch whose legs were all deferred is
    # reported, not raised: a rate limit is no function error.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=process, processor=processor, context=context)
    )
