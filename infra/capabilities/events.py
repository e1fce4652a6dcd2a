"""The product's domain-event bus; a rule forwards the client-facing events to a notifications topic,
to which the company attaches its notifier (email, push)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct
from managed_accounts.domain.events import CLIENT_FACING, EVENT_SOURCE

from infra.capabilities.secrets import allow_service_to_publish_encrypted
from infra.constants import SERVICE_NAME


class EventsConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "DomainBus", event_bus_name=f"{SERVICE_NAME}-{stage}")
        self.client_topic = sns.Topic(
            self,
            "ClientNotifications",
            display_name=f"{SERVICE_NAME} {stage} client notifications",
            master_key=key,
            enforce_ssl=True,
        )
        allow_service_to_publish_encrypted(key, "events.amazonaws.com")
        self.client_rule = events.Rule(
            self,
            "ClientFacing",
            event_bus=self.bus,
            description="Client-facing domain events to the notifications topic",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=sorted(CLIENT_FACING)),
            targets=[targets.SnsTopic(self.client_topic)],
        )
