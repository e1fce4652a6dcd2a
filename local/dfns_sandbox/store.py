"""The sandbox's in-memory state: plain records guarded by one re-entrant lock.

Every route runs under ``Store.lock``, so each request sees and leaves a consistent state; the only
work done outside it is webhook delivery (network I/O) and injected latency.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from dfns_sandbox.errors import bad_request

Json = dict[str, Any]
T = TypeVar("T")


@dataclass(slots=True)
class Credential:
    cred_id: str
    public_key_pem: str
    active: bool = True


@dataclass(slots=True)
class User:
    user_id: str
    username: str
    kind: str  # "CustomerEmployee" or "ServiceAccount"
    credentials: dict[str, Credential] = field(default_factory=dict)
    assignment_ids: list[str] = field(default_factory=list)  # its permission assignments (roles)
    token_id: str = ""
    date_created: datetime | None = None

    @property
    def is_service_account(self) -> bool:
        return self.kind == "ServiceAccount"


@dataclass(slots=True)
class Challenge:
    user_id: str
    method: str
    path: str
    payload: str
    challenge: str
    expires_at: datetime
    used: bool = False


@dataclass(slots=True)
class UserAction:
    user_id: str
    cred_id: str
    method: str
    path: str
    payload: str
    expires_at: datetime
    used: bool = False
    token: str = ""
    date_signed: datetime | None = None
    client_data: str = ""  # base64url, exactly as the user signed it
    signature: str = ""  # base64url
    challenge: str = ""  # the challenge /auth/action/init issued for this action (clientData carries it)


@dataclass(slots=True)
class PermissionRecord:
    """A Dfns "permission" (a role in the dashboard): a named list of operations."""

    id: str
    name: str
    operations: list[str]
    date_created: datetime
    is_immutable: bool = False
    is_archived: bool = False


@dataclass(slots=True)
class Assignment:
    id: str
    permission_id: str
    identity_id: str
    date_created: datetime


@dataclass(slots=True)
class Wallet:
    id: str
    network: str
    address: str
    date_created: datetime
    signing_key: Json
    name: str | None = None
    external_id: str | None = None
    tags: list[str] = field(default_factory=list)
    balances: dict[str, int] = field(default_factory=dict)  # "native" or a lowercase contract → amount
    history: list[Json] = field(default_factory=list)  # newest last


@dataclass(slots=True)
class Transfer:
    id: str
    wallet_id: str
    network: str
    requester: Json
    request_body: Json
    asset: Json  # {symbol, decimals, verified, quotes?}
    asset_key: str
    amount: int
    to: str
    date_requested: datetime
    status: str = "Pending"
    external_id: str | None = None
    approval_id: str | None = None
    reason: str | None = None
    tx_hash: str | None = None
    fee: int | None = None
    usd: Any = None  # Decimal | None, the USD value at request time
    date_policy_resolved: datetime | None = None
    date_broadcasted: datetime | None = None
    date_confirmed: datetime | None = None
    next_step_at: datetime | None = None  # when the lifecycle moves on (sandbox clock)


@dataclass(slots=True)
class Policy:
    id: str
    name: str
    activity_kind: str
    rule: Json
    action: Json
    filters: Json | None
    date_created: datetime
    date_updated: datetime
    status: str = "Active"
    pending_change_request_id: str | None = None


@dataclass(slots=True)
class ChangeRequest:
    id: str
    operation_kind: str  # always "Update" (an archive proposes the policy with status "Archived")
    requester: Json
    entity_id: str
    date_created: datetime
    body: Json | None
    status: str = "Pending"
    approval_id: str | None = None
    date_resolved: datetime | None = None


@dataclass(slots=True)
class Approval:
    id: str
    initiator_id: str
    activity_kind: str
    date_created: datetime
    evaluations: list[Json]  # {policyId, triggered, reason}
    groups_by_policy: dict[str, list[Json]]  # triggered RequestApproval policy id → its approval groups
    transfer_id: str | None = None
    change_request_id: str | None = None
    status: str = "Pending"
    expiration_date: datetime | None = None
    date_updated: datetime | None = None
    date_resolved: datetime | None = None
    decisions: list[Json] = field(default_factory=list)


@dataclass(slots=True)
class AuditRow:
    id: str
    date: datetime
    user_id: str
    username: str
    cred_id: str
    action_path: str  # the concrete request, e.g. "PUT /wallets/wa-1/tags"
    summary: str = ""
    action: UserAction | None = None  # the signed user action (signature material for GET …/logs/{id})
    safe: bool = False  # whether GET /auth/action/logs/{id} may show it (Dfns exposes "safe" routes only)
    date_resolved: datetime | None = None
    response_status: int | None = None
    response_error: str | None = None


@dataclass(slots=True)
class Store:
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token → (userId, tokenId)
    challenges: dict[str, Challenge] = field(default_factory=dict)
    user_actions: dict[str, UserAction] = field(default_factory=dict)
    wallets: dict[str, Wallet] = field(default_factory=dict)
    wallet_external_ids: dict[str, str] = field(default_factory=dict)
    wallets_by_address: dict[tuple[str, str], Wallet] = field(default_factory=dict)  # (network, normalised)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    transfers_by_wallet: dict[str, list[Transfer]] = field(default_factory=dict)  # oldest first
    # (due, sequence, transferId): a heap of lifecycle steps; an entry is stale once the transfer moved on
    schedule: list[tuple[datetime, int, str]] = field(default_factory=list)
    sequence: itertools.count[int] = field(default_factory=itertools.count)
    policy_version: int = 0  # bumped on every policy change; the engine's index follows it
    policy_index: Any = None  # engine.PolicyIndex, rebuilt when policy_version moves
    transfer_external_ids: dict[str, str] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    change_requests: dict[str, ChangeRequest] = field(default_factory=dict)
    approvals: dict[str, Approval] = field(default_factory=dict)
    expiring: dict[str, Approval] = field(default_factory=dict)  # pending approvals with an expirationDate
    audit: list[AuditRow] = field(default_factory=list)
    audit_by_id: dict[str, AuditRow] = field(default_factory=dict)
    permissions: dict[str, PermissionRecord] = field(default_factory=dict)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    org_id: str = ""
    webhooks: dict[str, WebhookRecord] = field(default_factory=dict)


def _encode_position(position: int) -> str:
    return base64.urlsafe_b64encode(f"o:{position}".encode()).decode().rstrip("=")


def _decode_position(token: str, size: int) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "o" or not number.isdigit() or int(number) >= size:
            raise ValueError(raw)
        return int(number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("paginationToken is not valid") from exc


def parse_limit(raw: str | None, default: int = 50) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise bad_request("limit must be an integer between 1 and 500", field="limit")
    return int(raw)


def paginate(
    items: Sequence[T],
    args: Any,
    render: Callable[[T], Json],
    *,
    keep: Callable[[T], bool] | None = None,
    newest_first: bool = False,
    default_limit: int = 50,
) -> tuple[list[Json], str | None]:
    """A page of ``items`` (an append-only sequence, oldest first) per ``limit``/``paginationToken``.

    ``keep`` filters; ``newest_first`` walks from the end. The token is the absolute position of the
    next item to look at, so items appended (or filtered out) while a client pages never shift or repeat
    what it sees. The next token is absent on the last page (the page after it would be empty).
    """
    limit = parse_limit(args.get("limit"), default_limit)
    token = args.get("paginationToken")
    start = _decode_position(token, len(items)) if token else (len(items) - 1 if newest_first else 0)
    wanted = keep or (lambda _: True)
    positions = range(start, -1, -1) if newest_first else range(start, len(items))
    matching = (p for p in positions if wanted(items[p]))
    page = [render(items[p]) for p in itertools.islice(matching, limit)]
    following = next(matching, None)  # look ahead: no token when nothing matches any more
    return page, (None if following is None else _encode_position(following))


def page_body(items: list[Json], next_token: str | None, **extra: Any) -> Json:
    body: Json = {**extra, "items": items}
    if next_token is not None:
        body["nextPageToken"] = next_token
    return body


@dataclass(slots=True)
class WebhookEventRecord:
    id: str
    kind: str
    date: str
    data: Json
    delivery_attempt: int = 1
    retry_of: str | None = None
    timestamp_sent: int | None = None
    status: str = ""  # the HTTP status the endpoint answered, or "error"
    error: str | None = None
    delivery_failed: bool = False
    next_attempt_date: str | None = None


@dataclass(slots=True)
class WebhookRecord:
    id: str
    url: str
    events: list[str]
    secret: str
    date_created: datetime
    date_updated: datetime
    status: str = "Enabled"
    description: str | None = None
    log: list[WebhookEventRecord] = field(default_factory=list)
    by_id: dict[str, WebhookEventRecord] = field(default_factory=dict)

    def record(self, event: WebhookEventRecord) -> None:
        self.log.append(event)
        self.by_id[event.id] = event
