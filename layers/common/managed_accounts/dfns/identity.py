"""Who a Dfns identity is, and which operations its roles grant.

A Dfns access token is a JWT (the API docs say to decode it to read ``exp``). Its claim
``https://custom/app_metadata`` carries ``orgId`` (read by Dfns's own TS SDK, ``utils/authToken.ts``) and,
as observed in Dfns tokens by third-party integrations, ``userId`` and ``tokenKind``. A service account
can therefore learn its own user id from its token; ``Settings.dfns_service_account_id`` overrides it.
The token is only decoded, never trusted for anything else: Dfns checks it on every call.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from managed_accounts.dfns.models import Permission

APP_METADATA_CLAIM = "https://custom/app_metadata"


def token_claims(token: str) -> dict[str, Any]:
    """The JWT payload of a Dfns token, or ``{}`` when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def token_user_id(token: str) -> str | None:
    """The user id in the token's ``https://custom/app_metadata`` claim, if there is one."""
    metadata = token_claims(token).get(APP_METADATA_CLAIM)
    user_id = metadata.get("userId") if isinstance(metadata, dict) else None
    return user_id if isinstance(user_id, str) and user_id else None


@dataclass(frozen=True, slots=True)
class HeldPermissions:
    """The roles a service account holds, each with its operations, as read from Dfns."""

    user_id: str
    roles: tuple[Permission, ...]
    flat: tuple[str, ...] = ()  # ``userInfo.permissions``: Dfns's deprecated flat list of operations

    def operations(self) -> frozenset[str]:
        return frozenset(self.flat).union(*(role.operations for role in self.roles))

    def sources_of(self, operation: str) -> list[str]:
        """Where an operation comes from: role names (ids) and/or the flat list."""
        sources = [f"{role.name or '?'} ({role.id})" for role in self.roles if operation in role.operations]
        if operation in self.flat:
            sources.append("userInfo.permissions")
        return sources
