"""Domain models: what the logic reads and writes, independent of DynamoDB items and API bodies."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from managed_accounts.errors import Forbidden, InvalidInput

AccountStatus = Literal["creating_policy", "creating_wallet", "active"]
RequestStatus = Literal["queued", "submitted", "approved", "rejected", "failed"]
RequestAction = Literal["add", "remove"]
REQUEST_STATUSES: tuple[RequestStatus, ...] = ("queued", "submitted", "approved", "rejected", "failed")
TERMINAL_REQUEST_STATUSES: frozenset[str] = frozenset({"approved", "rejected", "failed"})

# Dfns tags match ^[a-zA-Z0-9_.:/+-]{1,100}$; "client:" takes 7 of the 100 characters.
_CLIENT_ID = re.compile(r"[a-zA-Z0-9_.:/+-]{1,90}")


def validate_client_id(client_id: str) -> str:
    """The client id (the token's ``sub``) if it can become the Dfns tag ``client:<id>``."""
    if not _CLIENT_ID.fullmatch(client_id):
        raise Forbidden("the token's subject cannot identify a client")
    return client_id


def validate_label(label: str | None) -> str | None:
    """Labels reach notifications and statements: no control (Cc) or invisible format (Cf) characters,
    such as a right-to-left override that makes ``bank\u202egpj.exe`` read as ``bankexe.jpg``."""
    if label is None:
        return None
    bad = next((c for c in label if unicodedata.category(c) in {"Cc", "Cf"}), None)
    if bad is not None:
        raise InvalidInput(f"label must not contain control or invisible characters (U+{ord(bad):04X})")
    return label


def client_tag(client_id: str) -> str:
    return f"client:{client_id}"


def limits_tag(profile: str) -> str:
    return f"limits:{profile}"


def whitelist_policy_name(client_id: str) -> str:
    return f"whitelist:client:{client_id}"


@dataclass(frozen=True, slots=True)
class Claim:
    """The one destination change in flight for a client (DESIGN §4): a batch of requests.

    ``approval_id`` is set once Dfns answered 202; until then a claim older than the lease may be
    taken over (its holder crashed between claiming and recording the submission).
    """

    batch_id: str
    claimed_at: datetime
    approval_id: str | None = None
    change_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    client_id: str
    status: AccountStatus
    network: str
    limit_profile: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    wallet_id: str | None = None
    address: str | None = None
    whitelist_policy_id: str | None = None
    # Set before a Dfns create call whose outcome may be unknown after a crash: the retry looks first.
    wallet_create_started: bool = False
    policy_create_started: bool = False
    # A short lease on onboarding so two concurrent calls never both create.
    onboarding_lease_until: datetime | None = None
    claim: Claim | None = None


@dataclass(frozen=True, slots=True)
class DestinationRequest:
    request_id: str
    client_id: str
    action: RequestAction
    address: str
    network: str
    status: RequestStatus
    created_at: datetime
    updated_at: datetime
    label: str | None = None
    change_request_id: str | None = None
    approval_id: str | None = None
    # True when Dfns applied the change at once (200: no Policies:Modify governance matched).
    ungoverned: bool = False
    reason: str | None = None
    submitted_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApprovedDestination:
    client_id: str
    address: str
    network: str
    approved_at: datetime
    request_id: str
    label: str | None = None
    approval_id: str | None = None


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """The guard item that keeps one address from being pending twice; also the client's work queue."""

    address: str
    request_id: str
    action: RequestAction
    state: Literal["queued", "submitted"]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RequestPage:
    items: list[DestinationRequest] = field(default_factory=list)
    next_cursor: str | None = None
