"""The sandbox itself: state, clock, prices, faults, the webhook dispatcher, and the users it starts with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from dfns_sandbox import permissions as roles
from dfns_sandbox.auth import register_user
from dfns_sandbox.clock import SandboxClock
from dfns_sandbox.delivery import Dispatcher
from dfns_sandbox.faults import Faults, RequestLog
from dfns_sandbox.prices import PriceTable, random_id
from dfns_sandbox.store import Approval, Json, Store


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    realtime: bool = False  # False: the clock moves only through POST /sandbox/clock (deterministic tests)
    executing_after_s: float = 1.0  # policy cleared → Executing
    broadcast_after_s: float = 2.0  # Executing → Broadcasted
    confirm_after_s: float = 10.0  # Broadcasted → Confirmed
    webhook_backoff_s: tuple[float, ...] = (
        0.05,
        0.1,
        0.2,
        0.4,
    )  # between the 5 attempts (Dfns: ~1 min … 1 day)
    webhook_timeout_s: float = 5.0
    officer_count: int = 1
    prices: PriceTable = field(default_factory=PriceTable)
    # Store and return policies the way another server might write the same content (whole floats as
    # ints, defaults filled in, keys and lists reordered): see reserialize.py. Also POST /sandbox/faults.
    reserialize_policies: bool = False


@dataclass(frozen=True, slots=True)
class OfficerCredentials:
    """A compliance officer: a human user with a Key credential (the sandbox stands in for a passkey)."""

    user_id: str
    cred_id: str
    token: str
    private_key_pem: str
    username: str

    def as_json(self) -> Json:
        return {
            "userId": self.user_id,
            "credId": self.cred_id,
            "token": self.token,
            "privateKeyPem": self.private_key_pem,
            "username": self.username,
        }


@dataclass(frozen=True, slots=True)
class ServiceAccountCredentials:
    user_id: str
    cred_id: str
    access_token: str
    permission_id: str = ""  # the role assigned to it

    def as_json(self) -> Json:
        return {
            "userId": self.user_id,
            "credId": self.cred_id,
            "accessToken": self.access_token,
            "permissionId": self.permission_id,
        }


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.store = Store(org_id=random_id("or"))
        self.clock = SandboxClock(realtime=self.config.realtime)
        self.prices = self.config.prices
        self.faults = Faults(reserialize=self.config.reserialize_policies)
        self.requests = RequestLog()
        self.dispatcher = Dispatcher(
            self.store,
            self.faults,
            self.clock.now,
            backoff_s=self.config.webhook_backoff_s,
            timeout_s=self.config.webhook_timeout_s,
        )
        self.officers = [
            self.create_officer(f"compliance-officer-{i + 1}") for i in range(self.config.officer_count)
        ]

    def emit(self, kind: str, data: Json) -> None:
        self.dispatcher.publish(kind, data)

    def tick(self, now: datetime | None = None) -> None:
        """Apply everything due by ``now``: approval expiries, then transfer lifecycle steps."""
        from dfns_sandbox.approvals import expire_due
        from dfns_sandbox.transfers import advance

        with self.store.lock:
            moment = now or self.clock.now()
            expire_due(self, moment)
            advance(self, moment)

    def advance(self, seconds: float) -> datetime:
        with self.store.lock:
            now = self.clock.advance(seconds)
            self.tick(now)
            return now

    def on_approval_resolved(self, approval: Approval) -> None:
        from dfns_sandbox import policies, transfers

        if approval.transfer_id is not None:
            transfers.on_approval_resolved(self, approval)
        if approval.change_request_id is not None:
            policies.on_approval_resolved(self, approval)

    def register_service_account(
        self, public_key_pem: str, name: str, permissions: list[str] | None = None
    ) -> ServiceAccountCredentials:
        """A service account with one Key credential and one role: ``permissions`` (operation names) as a
        role of its own, or by default the product's service-account role (``SERVICE_ACCOUNT_ROLE``)."""
        now = self.clock.now()
        with self.store.lock:
            if permissions is None:
                role = roles.role_named(self.store, roles.SERVICE_ACCOUNT_ROLE_NAME) or roles.create_role(
                    self.store, roles.SERVICE_ACCOUNT_ROLE_NAME, list(roles.SERVICE_ACCOUNT_ROLE), now
                )
            else:
                operations = roles.validate_operations(permissions)
                role = roles.create_role(self.store, f"{name}-role", operations, now)
            user, cred_id, token = register_user(
                self.store, name=name, public_key_pem=public_key_pem, kind="ServiceAccount", now=now
            )
            roles.assign(self.store, role, user, now)
        return ServiceAccountCredentials(user.user_id, cred_id, token, role.id)

    def create_officer(self, name: str) -> OfficerCredentials:
        """A compliance officer: a human user holding ``ManagedFullAdminAccess`` (every operation)."""
        key = ed25519.Ed25519PrivateKey.generate()
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        now = self.clock.now()
        with self.store.lock:
            admin = roles.role_named(self.store, roles.FULL_ADMIN_ROLE_NAME) or roles.create_role(
                self.store, roles.FULL_ADMIN_ROLE_NAME, list(roles.OPERATIONS), now, immutable=True
            )
            user, cred_id, token = register_user(
                self.store, name=name, public_key_pem=public_pem, kind="CustomerEmployee", now=now
            )
            roles.assign(self.store, admin, user, now)
        return OfficerCredentials(user.user_id, cred_id, token, private_pem, name)
