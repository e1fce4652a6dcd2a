"""EventBridge Scheduler: reconciliation every 5 minutes. The order-leg queue and its DLQ exist now; the
order-run schedule joins them with the orders function (a later issue)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constants import ORDER_LEG_MAX_RECEIVES, ORDER_LEG_VISIBILITY, RECONCILE_EVERY
from infra.nag import acknowledge, arn_wildcard


class SchedulesConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, reconciler: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        # An explicit role, so its one wildcard (the function's versions) is acknowledged right here.
        role = iam.Role(self, "InvokeRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        self.reconcile = scheduler.Schedule(
            self,
            "Reconcile",
            schedule=scheduler.ScheduleExpression.rate(RECONCILE_EVERY),
            description="Pull from Dfns what a webhook missed; check tags and whitelists for drift",
            # A missed run is simply the next one: no retries piling up behind a slow Dfns.
            target=scheduler_targets.LambdaInvoke(
                reconciler,
                input=scheduler.ScheduleTargetInput.from_object({"source": "schedule", "task": "reconcile"}),
                role=role,
                retry_attempts=0,
                max_event_age=Duration.minutes(RECONCILE_EVERY.to_minutes()),
            ),
        )
        acknowledge(
            role, arn_wildcard(reconciler, ":*"), "The schedule may invoke the reconciler's versions only."
        )
        self.order_dlq = sqs.Queue(
            self,
            "OrderLegsDLQ",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(self.order_dlq, "AwsSolutions-SQS3", "This queue is the dead-letter queue itself.")
        self.order_queue = sqs.Queue(
            self,
            "OrderLegs",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=ORDER_LEG_VISIBILITY,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.order_dlq, max_receive_count=ORDER_LEG_MAX_RECEIVES
            ),
        )
