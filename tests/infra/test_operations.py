"""Schedules (reconciliation, audit-log ingestion), the order-leg queue, domain events to SNS, and the
alarms that page operations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from managed_accounts.domain.events import CLIENT_FACING, EVENT_SOURCE

from tests.infra.helpers import function_by_handler, references, resources

pytestmark = pytest.mark.infra


def _schedule_of(template: Any, handler: str) -> dict[str, Any]:
    function_id, _ = function_by_handler(template, handler)
    schedules = resources(template, "AWS::Scheduler::Schedule").values()
    [props] = [
        s["Properties"] for s in schedules if function_id in references(s["Properties"]["Target"]["Arn"])
    ]
    return dict(props)


def test_reconciliation_runs_every_five_minutes(template: Any) -> None:
    props = _schedule_of(template, "webhooks/reconciler.handler")
    assert props["ScheduleExpression"] == "rate(5 minutes)"
    assert props["State"] == "ENABLED"


def test_the_audit_log_ingestion_runs_every_five_minutes_within_five(template: Any) -> None:
    props = _schedule_of(template, "reports/audit_ingest.handler")
    assert props["ScheduleExpression"] == "rate(5 minutes)"
    assert props["State"] == "ENABLED"
    assert json.loads(props["Target"]["Input"]) == {"source": "schedule", "task": "audit-ingest"}
    assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0  # a missed run is the next one
    _, function = function_by_handler(template, "reports/audit_ingest.handler")
    assert function["Properties"]["Timeout"] == 300
    assert len(resources(template, "AWS::Scheduler::Schedule")) == 3  # with the order runs'


def test_order_runs_start_on_the_configured_schedule_and_a_failed_start_is_retried(template: Any) -> None:
    props = _schedule_of(template, "orders/planner.handler")
    assert props["ScheduleExpression"] == "cron(0 14 ? * MON-FRI *)"  # ORDER_RUN_SCHEDULE's default
    assert props["ScheduleExpressionTimezone"] == "Etc/UTC"
    # The run id comes from the slot, so a retried start is a replay of the same run, never a second run.
    assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 3


def test_order_legs_queue_has_an_encrypted_dead_letter_queue(template: Any) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    [main] = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    [dlq_id] = references(main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
    assert dlq_id in queues
    # A leg deferred for a rate limit counts a receive each time: a few deferrals must not dead-letter it.
    assert main["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 8
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_client_facing_events_go_to_the_notifications_topic(template: Any) -> None:
    [rule] = resources(template, "AWS::Events::Rule").values()
    props = rule["Properties"]
    assert props["EventPattern"] == {"source": [EVENT_SOURCE], "detail-type": sorted(CLIENT_FACING)}
    [bus_id] = references(props["EventBusName"])
    assert bus_id in resources(template, "AWS::Events::EventBus")
    [target] = props["Targets"]
    [topic_id] = references(target["Arn"])
    topic = resources(template, "AWS::SNS::Topic")[topic_id]
    assert "KmsMasterKeyId" in topic["Properties"]


def _alarms(template: Any) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]


def test_every_function_has_an_error_alarm_to_the_alarm_topic(template: Any) -> None:
    functions = {k for k, f in resources(template, "AWS::Lambda::Function").items()
                 if f["Properties"].get("Description", "").startswith("managed-accounts:")}  # fmt: skip
    alarmed = {
        next(iter(references(d["Value"]))) for a in _alarms(template) if a.get("MetricName") == "Errors"
        for d in a["Dimensions"]
    }  # fmt: skip
    assert functions <= alarmed
    [alarm_topic_id] = {t for a in _alarms(template) for t in references(a["AlarmActions"])}
    assert alarm_topic_id in resources(template, "AWS::SNS::Topic")
    subscriptions = resources(template, "AWS::SNS::Subscription").values()
    assert [s["Properties"]["Endpoint"] for s in subscriptions] == ["ops@example.com"]


def test_security_drift_audit_ingestion_and_dead_letters_raise_alarms(template: Any) -> None:
    alarms = _alarms(template)
    [drift] = [a for a in alarms if a.get("MetricName") == "SecurityDrift"]
    assert drift["Namespace"] == "ManagedAccounts"
    assert drift["Threshold"] == 1
    assert drift["TreatMissingData"] == "notBreaching"
    [stuck] = [a for a in alarms if a.get("MetricName") == "OnboardingStuck"]
    assert stuck["Namespace"] == "ManagedAccounts"
    for metric in ("AuditExportTruncated", "AuditIngestStopped"):  # functions/reports/audit_ingest.py
        [audit] = [a for a in alarms if a.get("MetricName") == metric]
        assert (audit["Namespace"], audit["Threshold"]) == ("ManagedAccounts", 1)
        assert audit["Dimensions"] == [{"Name": "service", "Value": "managed-accounts"}]
        assert audit["TreatMissingData"] == "notBreaching"
        assert audit["AlarmActions"]
    [dlq] = [a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    assert dlq["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_secrets_key_rotates(template: Any) -> None:
    [key] = resources(template, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    for secret in resources(template, "AWS::SecretsManager::Secret").values():
        assert next(iter(references(secret["Properties"]["KmsKeyId"]))) in resources(
            template, "AWS::KMS::Key"
        )
