"""Schedules, the order-leg queue, domain events to SNS, and the alarms that page operations."""

from __future__ import annotations

from typing import Any

import pytest
from managed_accounts.domain.events import CLIENT_FACING, EVENT_SOURCE

from tests.infra.helpers import function_by_handler, references, resources

pytestmark = pytest.mark.infra


def test_reconciliation_runs_every_five_minutes(template: Any) -> None:
    [schedule] = resources(template, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(5 minutes)"
    assert props["State"] == "ENABLED"
    reconciler_id, _ = function_by_handler(template, "webhooks/reconciler.handler")
    assert reconciler_id in references(props["Target"]["Arn"])


def test_order_legs_queue_has_an_encrypted_dead_letter_queue(template: Any) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    [main] = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    [dlq_id] = references(main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
    assert dlq_id in queues
    assert main["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3
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


def test_security_drift_and_dead_letters_raise_alarms(template: Any) -> None:
    alarms = _alarms(template)
    [drift] = [a for a in alarms if a.get("MetricName") == "SecurityDrift"]
    assert drift["Namespace"] == "ManagedAccounts"
    assert drift["Threshold"] == 1
    assert drift["TreatMissingData"] == "notBreaching"
    [stuck] = [a for a in alarms if a.get("MetricName") == "OnboardingStuck"]
    assert stuck["Namespace"] == "ManagedAccounts"
    [dlq] = [a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    assert dlq["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_secrets_key_rotates(template: Any) -> None:
    [key] = resources(template, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    for secret in resources(template, "AWS::SecretsManager::Secret").values():
        assert next(iter(references(secret["Properties"]["KmsKeyId"]))) in resources(
            template, "AWS::KMS::Key"
        )
