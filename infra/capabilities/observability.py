"""Alarms to an alarm topic: function errors, order-leg DLQ depth, API 5xx, the SecurityDrift metric
the reconciler and the webhook emit (a removed client tag, a whitelist that differs from the mirror), and
the audit-log ingestion's AuditExportTruncated and AuditIngestStopped."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.capabilities.secrets import allow_service_to_publish_encrypted
from infra.constants import (
    AUDIT_EXPORT_TRUNCATED_METRIC,
    AUDIT_INGEST_STOPPED_METRIC,
    METRICS_NAMESPACE,
    ONBOARDING_STUCK_METRIC,
    SECURITY_DRIFT_METRIC,
    SERVICE_NAME,
)
from infra.specs import construct_name

_PERIOD = Duration.minutes(5)


class ObservabilityConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        key: kms.IKey,
        functions: dict[str, lambda_.Function],
        dead_letter_queues: dict[str, sqs.IQueue],
        api: apigateway.RestApi,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{SERVICE_NAME} {stage} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        allow_service_to_publish_encrypted(key, "cloudwatch.amazonaws.com")
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        action = cw_actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(name: str, metric: cloudwatch.IMetric, description: str) -> None:
            created = cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms[name] = created

        for name, function in functions.items():
            alarm(
                f"{construct_name(name)}Errors",
                function.metric_errors(period=_PERIOD, statistic="Sum"),
                f"{name} function errors",
            )
        for name, queue in dead_letter_queues.items():
            alarm(
                f"{name}Depth",
                queue.metric_approximate_number_of_messages_visible(period=_PERIOD, statistic="Maximum"),
                f"messages in {name}: order legs that failed every attempt",
            )
        alarm("Api5xx", api.metric_server_error(period=_PERIOD, statistic="Sum"), "API answered 5xx")
        alarm(
            "SecurityDrift",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=SECURITY_DRIFT_METRIC,
                dimensions_map={"service": SERVICE_NAME},
                period=_PERIOD,
                statistic="Sum",
            ),
            "A managed wallet lost its tags or a whitelist differs from the approved mirror: investigate now",
        )
        for name, metric_name, statistic, description in (
            (
                "OnboardingStuck",
                ONBOARDING_STUCK_METRIC,
                "Maximum",
                "Accounts short of active past the onboarding lease (the reconciler resumes them)",
            ),
            (
                "AuditExportTruncated",
                AUDIT_EXPORT_TRUNCATED_METRIC,
                "Sum",
                "Dfns cut an audit-log export at its row cap: the ingestion re-reads narrower windows; "
                "a steady stream means the schedule or the window is too coarse",
            ),
            (
                "AuditIngestStopped",
                AUDIT_INGEST_STOPPED_METRIC,
                "Sum",
                "An audit-log ingestion run ended before catching up (time budget, an export still "
                "truncated at the smallest window, or a concurrent run): clients' trails lag Dfns",
            ),
        ):
            alarm(
                name,
                cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name=metric_name,
                    dimensions_map={"service": SERVICE_NAME},
                    period=_PERIOD,
                    statistic=statistic,
                ),
                description,
            )
