"""The order-leg queue and its DLQ, and the EventBridge Scheduler schedules the function specs declare:
reconciliation and audit-log ingestion every 5 minutes, order runs on the stage's ``orderRunSchedule``."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from managed_accounts.config import Settings

from infra.constants import ORDER_LEG_MAX_RECEIVES, ORDER_LEG_VISIBILITY
from infra.nag import acknowledge, arn_wildcard
from infra.specs import ScheduleSpec


class SchedulesConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # An explicit role, so its wildcards (each target function's versions) are acknowledged right here.
        self.role = iam.Role(self, "InvokeRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        self.schedules: dict[str, scheduler.Schedule] = {}
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

    def add(self, spec: ScheduleSpec, function: lambda_.IFunction, settings: Settings) -> scheduler.Schedule:
        if spec.id in self.schedules:
            raise ValueError(f"two schedules named {spec.id}")
        if spec.every is not None:
            expression = scheduler.ScheduleExpression.rate(spec.every)
            max_age = Duration.minutes(min(max(1, int(spec.every.to_minutes())), 24 * 60))
        else:
            # Settings validated it as rate(…) or cron(…); Scheduler reads it in UTC.
            expression = scheduler.ScheduleExpression.expression(str(getattr(settings, str(spec.setting))))
            max_age = Duration.hours(1)
        schedule = scheduler.Schedule(
            self,
            spec.id,
            schedule=expression,
            description=spec.description,
            target=scheduler_targets.LambdaInvoke(
                function,
                input=scheduler.ScheduleTargetInput.from_object(dict(spec.payload)),
                role=self.role,
                retry_attempts=spec.retries,
                max_event_age=max_age,
            ),
        )
        acknowledge(
            self.role,
            arn_wildcard(function, ":*"),
            f"The schedule may invoke {spec.id}'s function versions only.",
        )
        self.schedules[spec.id] = schedule
        return schedule
