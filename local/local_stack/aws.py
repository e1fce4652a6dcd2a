"""AWS on loopback: a moto server and the resources the product's stack would have created.

The tables come from ``managed_accounts.data.schema`` (the same definitions the CDK stack uses), with
TTL enabled as in the cloud; the secrets, the order queue and the domain-event bus carry the names
of ``Settings`` so the handlers find them exactly as they would in AWS.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from managed_accounts.data.schema import (
    IDEMPOTENCY_TTL_ATTRIBUTE,
    TTL_ATTRIBUTE,
    idempotency_table_definition,
    main_table_definition,
)

from local_stack.serving import LOOPBACK

REGION = "us-east-1"
FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"


@dataclass(frozen=True, slots=True)
class ResourceNames:
    table: str = "managed-accounts"
    idempotency_table: str = "managed-accounts-idempotency"
    dfns_secret: str = "managed-accounts/dfns-service-account"
    webhook_secret: str = "managed-accounts/dfns-webhook"
    order_queue: str = "managed-accounts-order-legs"
    event_bus: str = "managed-accounts"


class MotoServer:
    """moto on loopback; ``port=0`` picks a free port."""

    def __init__(self, port: int) -> None:
        from moto.server import ThreadedMotoServer  # heavy: only the process that runs moto pays for it

        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
        self._started = False

    def start(self) -> None:
        from local_stack.moto_dynamodb import AtomicApp, install_item_level_transactions

        install_item_level_transactions()  # transactions cost the items they touch, not the table
        self._server.start()
        wsgi_server = self._server._server
        assert wsgi_server is not None
        wsgi_server.app = AtomicApp(wsgi_server.app)  # each request atomic, as on AWS
        self._started = True

    @property
    def url(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._started:
            self._server.stop()
            self._started = False


@lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    # One session for every client: each new session would parse botocore's endpoint data again.
    return boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY_ID, aws_secret_access_key=FAKE_SECRET_ACCESS_KEY, region_name=REGION
    )


_client_lock = threading.Lock()


def client(service: str, endpoint_url: str) -> Any:
    """A boto3 client pointed at moto with fake credentials (never a real AWS account)."""
    with _client_lock:  # creating clients from one session is not thread-safe
        return _session().client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class CreatedResources:
    order_queue_url: str
    event_bus_arn: str


def create_resources(endpoint_url: str, names: ResourceNames) -> CreatedResources:
    """Tables (with TTL), the order queue and the domain-event bus. Secrets are written separately."""
    dynamodb = client("dynamodb", endpoint_url)
    for definition, ttl_attribute in (
        (main_table_definition(names.table), TTL_ATTRIBUTE),
        (idempotency_table_definition(names.idempotency_table), IDEMPOTENCY_TTL_ATTRIBUTE),
    ):
        dynamodb.create_table(**definition)
        dynamodb.update_time_to_live(
            TableName=definition["TableName"],
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
    queue_url = client("sqs", endpoint_url).create_queue(
        QueueName=names.order_queue, Attributes={"VisibilityTimeout": "120"}
    )["QueueUrl"]
    bus_arn = client("events", endpoint_url).create_event_bus(Name=names.event_bus)["EventBusArn"]
    return CreatedResources(order_queue_url=str(queue_url), event_bus_arn=str(bus_arn))


def put_secret_json(endpoint_url: str, name: str, value: dict[str, Any]) -> None:
    """Create the secret, or add a new current version when it exists (as a rotation would)."""
    secrets = client("secretsmanager", endpoint_url)
    payload = json.dumps(value)
    try:
        secrets.create_secret(Name=name, SecretString=payload)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=name, SecretString=payload)


def get_secret_json(endpoint_url: str, name: str) -> dict[str, Any]:
    secret = client("secretsmanager", endpoint_url).get_secret_value(SecretId=name)
    value: dict[str, Any] = json.loads(secret["SecretString"])
    return value
