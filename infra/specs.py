"""What each Lambda may touch, as data: one ``FunctionSpec`` per function.

The API functions are the ``function`` names of ``managed_accounts.routes.ROUTES``; each needs an entry here
(same id, same folder, ``handler.handler``). Functions outside the route table (the reconciler, the
bootstrap, the order-run planner and the order-leg worker) are listed here only. Adding a function is a
data change: a route (if it serves one) and a spec; the constructs derive the function, its role, its
schedules, its queue wiring and the API's throttles from them, and ``function_specs`` fails the synth
when the two disagree or a spec asks for something that does not exist.

DynamoDB actions are IAM action names without the ``dynamodb:`` prefix. A transaction needs the action of
each of its parts (``Put`` -> ``PutItem``, ``Update`` -> ``UpdateItem``, ``Delete`` -> ``DeleteItem``,
``ConditionCheck`` -> ``ConditionCheckItem``): ``TransactWriteItems`` is not an IAM action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aws_cdk import Duration
from managed_accounts.data import schema
from managed_accounts.data.audit_items import DIRECTORY_PREFIX, SHARED_POLICIES_KEY
from managed_accounts.data.items import OUTBOX_PK
from managed_accounts.routes import ROUTES, Route

from infra.constants import (
    API_FUNCTION_TIMEOUT,
    AUDIT_INGEST_EVERY,
    AUDIT_INGEST_TIMEOUT,
    BOOTSTRAP_TIMEOUT,
    FUNCTIONS_DIR,
    ORDER_LEG_VISIBILITY,
    ORDER_PLANNER_TIMEOUT,
    ORDER_WORKER_TIMEOUT,
    RECONCILE_EVERY,
    RECONCILER_TIMEOUT,
)

# Item-level data actions a spec may name. No DescribeTable (boto3's Table resource never needs it here),
# no stream or control-plane actions.
DYNAMODB_ACTIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "ConditionCheckItem",
    }
)
INDEXES = frozenset(
    index["IndexName"] for index in schema.main_table_definition("-")["GlobalSecondaryIndexes"]
)


class SpecError(ValueError):
    """The route table and the function specs disagree, or a spec names something that does not exist."""


# EventBridge Scheduler puts the invocation's slot in the payload in place of this placeholder.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"

SecretAccess = Literal["none", "read", "read_write"]
QueueAccess = Literal["none", "send", "consume"]


@dataclass(frozen=True, slots=True)
class PartitionGrant:
    """DynamoDB actions allowed on the main table only for items of these partition keys
    (``dynamodb:LeadingKeys``): e.g. batch writes, which could otherwise overwrite any item. A key ending
    in ``*`` is a prefix (one partition per id, e.g. ``DFNSREF#<dfnsId>``)."""

    actions: tuple[str, ...]
    partitions: tuple[str, ...]

    @property
    def by_prefix(self) -> bool:
        return any(p.endswith("*") for p in self.partitions)


# domain/outbox.py: whoever publishes committed events deletes them from the outbox in one batch
# (BatchWriteItem). That batch may touch the outbox partition and nothing else.
OUTBOX_CLEANUP = PartitionGrant(("BatchWriteItem",), (OUTBOX_PK,))
# domain/audit_trail.py: whoever publishes events (through the AuditingPublisher) files the Dfns ids they
# name under their client in one batch (BatchWriteItem of ``DFNSREF#<dfnsId>`` items), so the audit-log
# ingestion can tell whose a Dfns audit-log row is. That batch may touch those partitions only.
DFNS_REFERENCES = PartitionGrant(("BatchWriteItem",), (f"{DIRECTORY_PREFIX}*",))
# shared_policies.py: the bootstrap records the shared policy ids (one PutItem on one item).
SHARED_POLICY_REGISTRY = PartitionGrant(("PutItem",), (str(SHARED_POLICIES_KEY[schema.PK]),))
# Every function that publishes domain events: the outbox cleanup and the Dfns-id directory.
EVENT_PUBLISHER_PARTITIONS = (OUTBOX_CLEANUP, DFNS_REFERENCES)


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """An EventBridge Scheduler schedule that invokes the function with ``payload``: every ``every``, or
    on the expression (``rate(…)``/``cron(…)``, UTC) the stage's settings hold in the field ``setting``."""

    id: str  # construct id, e.g. "Reconcile"
    payload: Mapping[str, Any]
    description: str
    every: Duration | None = None
    setting: str | None = None  # a ``Settings`` field, e.g. "order_run_schedule"
    retries: int = 0  # a missed periodic job is simply the next one

    def __post_init__(self) -> None:
        if (self.every is None) == (self.setting is None):
            raise SpecError(f"schedule {self.id}: give either every or setting")


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    id: str  # construct id, alarm name; the route table's function name for API functions
    folder: str  # functions/<folder>/
    handler: str = "handler.handler"  # module.function inside the folder
    timeout: Duration = API_FUNCTION_TIMEOUT
    table: tuple[str, ...] = ()  # DynamoDB actions on the main table
    indexes: tuple[str, ...] = ()  # GSIs of the main table the function may Query
    partitions: tuple[PartitionGrant, ...] = ()  # main-table actions limited to some partition keys
    idempotency: tuple[str, ...] = ()  # DynamoDB actions on the Powertools idempotency table
    dfns_credentials: SecretAccess = "read"  # the service-account secret
    webhook_hmac: SecretAccess = "none"  # the webhook secret (its HMAC key)
    events: bool = False  # puts domain events on the bus
    # "send": enqueues order legs; "consume": the queue invokes it, and it enqueues (planning pages become
    # legs and the next page) and defers (ChangeMessageVisibility) legs itself.
    order_legs: QueueAccess = "none"
    schedules: tuple[ScheduleSpec, ...] = field(default=())


# Read from the handlers, wiring.py and the data layer (data/repository.py, data/transitions.py,
# data/dedupe.py, data/audit_repository.py, domain/outbox.py). Every state change that emits domain events
# writes them in its own transaction (a Put on the outbox partition) and, once published, deletes them
# (OUTBOX_CLEANUP). Publishing goes through the AuditingPublisher (wiring.py): each event about a client
# is filed in the client's audit trail (UpdateItem upserts on ``CLIENT#<id>``/``AUDIT#…``) and the Dfns ids
# it names in the directory (DFNS_REFERENCES); the webhooks and the reconciler resolve approvals through
# the DecisionRecorder (the directory by GetItem, accounts and requests on GSI1, UpdateItem upserts).
# - onboard: the client record only: get, conditional put, versioned updates (a transaction with events).
# - destinations: request creation is one transaction (Put request + Put pending guard + 2 ConditionChecks);
#   listings and pending guards are Queries on the client's partition; submission claims the slot
#   (UpdateItem); an immediate outcome resolves in a transaction (Update, Delete of the pending guard,
#   Put/Delete of the mirror). Idempotency-Key records are Powertools' (get, put, update, delete).
# - webhooks: de-dup facts (GetItem, conditional PutItem, DeleteItem to release), accounts by wallet and
#   requests by approval (Query on GSI1), then resolution and the next submission as above.
# - reconciler: the GSI2 work queues, approvals on GSI1, the outbox relay (Query), resumed onboarding, and
#   every account: ``iter_accounts`` is a Scan of the main table (filtered on the account sort key); no
#   other function may Scan.
# - reports: reads only: the account, mirror, pending requests and requests (GetItem, Query), the audit
#   trail (Query, GetItem), an approval's decisions (Query on GSI1), the shared-policy registry (GetItem).
# - audit-ingest: the watermark (GetItem, conditional UpdateItem), the directory (GetItem), accounts by
#   wallet and requests by approval (Query on GSI1), audit entries (UpdateItem upserts). It publishes
#   nothing and batch-writes nothing.
# - orders: mandates (GetItem, conditional PutItem) and their exchange address through the destination flow
#   (as destinations above); starting a run: the run (conditional PutItem, UpdateItem for a replay, GetItem),
#   its report from the run's orders (Query on GSI1), its first planning page onto the queue; the client's
#   orders (Query). Idempotency-Key records as destinations.
# - order-planner: the scheduled start of a run, as the orders function starts one. No Dfns, no events.
# - order-worker: planning pages (the mandates' GSI2 queue, the run's existing orders by BatchGetItem, new
#   orders with their externalId pointer in one transaction of two Puts) and legs (the account and mirror,
#   the mandate, the order claimed and saved conditionally with its events, the run's breaker counters by
#   UpdateItem, the client's recent orders for the count budget by Query); one Dfns transfer per leg.
#   Webhooks and the reconciler move orders forward too (the open orders' GSI2 queue, the externalId pointer).
# - bootstrap: Dfns and the webhook secret (it writes the secret Dfns shows once), and the shared policy
#   ids in their one registry item (SHARED_POLICY_REGISTRY).
SPECS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "onboard",
        "onboard",
        table=("GetItem", "PutItem", "UpdateItem"),
        partitions=EVENT_PUBLISHER_PARTITIONS,
        events=True,
    ),
    FunctionSpec(
        "destinations",
        "destinations",
        table=("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"),
        partitions=EVENT_PUBLISHER_PARTITIONS,
        idempotency=("GetItem", "PutItem", "UpdateItem", "DeleteItem"),
        events=True,
    ),
    FunctionSpec(
        "webhooks",
        "webhooks",
        table=("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"),
        indexes=("GSI1",),
        partitions=EVENT_PUBLISHER_PARTITIONS,
        webhook_hmac="read",
        events=True,
    ),
    FunctionSpec(
        "reconciler",
        "webhooks",
        "reconciler.handler",
        timeout=RECONCILER_TIMEOUT,
        table=("GetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem"),
        indexes=("GSI1", "GSI2"),
        partitions=EVENT_PUBLISHER_PARTITIONS,
        events=True,
        schedules=(
            ScheduleSpec(
                "Reconcile",
                {"source": "schedule", "task": "reconcile"},
                "Pull from Dfns what a webhook missed; relay unpublished events; check tags and whitelists",
                every=RECONCILE_EVERY,
            ),
        ),
    ),
    FunctionSpec(
        "reports",
        "reports",
        table=("GetItem", "Query"),
        indexes=("GSI1",),
    ),
    FunctionSpec(
        "audit-ingest",
        "reports",
        "audit_ingest.handler",
        timeout=AUDIT_INGEST_TIMEOUT,
        table=("GetItem", "UpdateItem"),
        indexes=("GSI1",),
        schedules=(
            ScheduleSpec(
                "AuditIngest",
                {"source": "schedule", "task": "audit-ingest"},
                "File Dfns audit-log rows in the clients' audit trails, from the stored watermark",
                every=AUDIT_INGEST_EVERY,
            ),
        ),
    ),
    FunctionSpec(
        "orders",
        "orders",
        table=("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"),
        indexes=("GSI1",),
        partitions=EVENT_PUBLISHER_PARTITIONS,
        idempotency=("GetItem", "PutItem", "UpdateItem", "DeleteItem"),
        events=True,
        order_legs="send",
    ),
    FunctionSpec(
        "order-planner",
        "orders",
        "planner.handler",
        timeout=ORDER_PLANNER_TIMEOUT,
        table=("GetItem", "PutItem", "UpdateItem"),
        indexes=("GSI1",),
        dfns_credentials="none",
        order_legs="send",
        schedules=(
            ScheduleSpec(
                "OrderRun",
                {"source": "schedule", "task": "order-run", "scheduledTime": SCHEDULED_TIME},
                "Start the order run of this slot (its run id comes from the slot: a repeat is a replay)",
                setting="order_run_schedule",
                retries=3,  # the run id comes from the slot: a retried start replays the same run
            ),
        ),
    ),
    FunctionSpec(
        "order-worker",
        "orders",
        "worker.handler",
        timeout=ORDER_WORKER_TIMEOUT,
        table=("GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem"),
        indexes=("GSI2",),
        partitions=EVENT_PUBLISHER_PARTITIONS,
        events=True,
        order_legs="consume",
    ),
    FunctionSpec(
        "bootstrap",
        "bootstrap",
        timeout=BOOTSTRAP_TIMEOUT,
        webhook_hmac="read_write",
        partitions=(SHARED_POLICY_REGISTRY,),
    ),
)

BOOTSTRAP_ID = "bootstrap"  # the custom resource's function


def construct_name(function_id: str) -> str:
    """``audit-ingest`` -> ``AuditIngest``: the function's construct (and alarm) name."""
    return "".join(part[:1].upper() + part[1:] for part in function_id.split("-"))


def function_specs(
    specs: Iterable[FunctionSpec] = SPECS, routes: Iterable[Route] = ROUTES
) -> list[FunctionSpec]:
    """The specs, checked against the route table and the repository; raises ``SpecError`` naming the fix."""
    found = list(specs)
    by_id = {s.id: s for s in found}
    if len(by_id) != len(found):
        raise SpecError("two function specs share an id")
    for name in dict.fromkeys(r.function for r in routes):
        spec = by_id.get(name)
        if spec is None:
            raise SpecError(
                f"routes.py routes to function {name!r}, which has no FunctionSpec in infra/specs.py: "
                "declare its DynamoDB actions, secrets, events and queue access there"
            )
        if spec.folder != name or spec.handler != "handler.handler":
            raise SpecError(f"API function {name!r} must be functions/{name}/handler.py:handler")
    for spec in found:
        _check(spec)
    return found


def _check(spec: FunctionSpec) -> None:
    module, _, function = spec.handler.rpartition(".")
    source = FUNCTIONS_DIR / spec.folder / f"{module.replace('.', '/')}.py"
    if not module or not function or not source.is_file():
        raise SpecError(f"{spec.id}: handler {spec.handler!r} not found at {source}")
    _check_dynamodb(spec)
    if spec.order_legs == "consume" and spec.timeout.to_seconds() > ORDER_LEG_VISIBILITY.to_seconds():
        # SQS would hand the message to a second worker while the first still runs.
        raise SpecError(f"{spec.id}: timeout exceeds the order-leg queue's visibility timeout")


def _check_dynamodb(spec: FunctionSpec) -> None:
    named = (*spec.table, *spec.idempotency, *(a for grant in spec.partitions for a in grant.actions))
    unknown = {a for a in named if a not in DYNAMODB_ACTIONS}
    if unknown:
        raise SpecError(
            f"{spec.id}: {sorted(unknown)} are not DynamoDB item actions; name each transaction part instead "
            f"(PutItem, UpdateItem, DeleteItem, ConditionCheckItem). Known: {sorted(DYNAMODB_ACTIONS)}"
        )
    unknown_indexes = sorted(set(spec.indexes) - INDEXES)
    if unknown_indexes:
        raise SpecError(f"{spec.id}: unknown index {unknown_indexes}; the main table has {sorted(INDEXES)}")
    _check_partitions(spec)


def _check_partitions(spec: FunctionSpec) -> None:
    if any(not grant.partitions for grant in spec.partitions):
        raise SpecError(f"{spec.id}: a partition grant names no partition key")
    keys = [p for grant in spec.partitions for p in grant.partitions]
    if any(p.rstrip("*") == "" or "*" in p.rstrip("*") for p in keys):
        raise SpecError(f"{spec.id}: a partition key may only end in '*' (a prefix), and not be '*' alone")
