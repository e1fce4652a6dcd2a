"""A compliance officer's own Dfns client (their CLI, the demo, tests): what a human may do and the
product's service account deliberately cannot.

The product's ``DfnsClient`` has no way to vote on an approval or to remove a wallet tag. This subclass
adds both, for a client built with an officer's OWN token and key (``Policies:Evaluations:Vote``,
``Wallets:Tags:Remove``): ``managed-accounts sandbox approve|deny`` and the local stack use it. It never
runs in a Lambda (``local/`` is not part of the Lambda layer).

    with officer_client(url, identity) as officer:
        officer.decide_approval(approval_id, DecisionBody(value="Approved", reason="KYC ok"))
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import httpx
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.models import Approval, DecisionBody
from managed_accounts.dfns.signing import UserActionSigner
from pydantic import ValidationError


class Identity(Protocol):
    """Anything carrying a Dfns user's credentials (``local_stack.dfns_setup.DfnsIdentity``, …)."""

    @property
    def cred_id(self) -> str: ...
    @property
    def token(self) -> str: ...
    @property
    def private_key_pem(self) -> str: ...


class OfficerDfnsClient(DfnsClient):
    """``DfnsClient`` plus the calls only a human compliance officer (or administrator) makes."""

    def decide_approval(self, approval_id: str, body: DecisionBody) -> Approval:
        """Vote on an approval (``POST /v2/policy-approvals/{id}/decisions``), signed with the officer's
        key. Never retried after a possible effect: Dfns takes one vote per user."""
        route = "/v2/policy-approvals/{approvalId}/decisions"
        path = f"/v2/policy-approvals/{quote(approval_id, safe='')}/decisions"
        response = self._call("POST", route, path, body=body.to_wire())
        try:
            return Approval.model_validate_json(response.content)
        except ValidationError as exc:
            raise DfnsError(f"{route}: unexpected response shape ({exc.error_count()} errors)") from exc

    def untag_wallet(self, wallet_id: str, tags: list[str]) -> None:
        """``DELETE /wallets/{id}/tags`` with a JSON body (DFNS.md §2; ``Wallets:Tags:Remove``).
        Idempotent: removing absent tags changes nothing."""
        path = f"/wallets/{quote(wallet_id, safe='')}/tags"
        self._call("DELETE", "/wallets/{walletId}/tags", path, body={"tags": tags}, idempotent=True)


def officer_client(
    base_url: str,
    identity: Identity,
    *,
    http_client: httpx.Client | None = None,
    max_attempts: int = 1,
) -> OfficerDfnsClient:
    """The officer's client for ``base_url``; a decision is a human act, so no retries by default."""
    signer = UserActionSigner(identity.cred_id, identity.private_key_pem)
    return OfficerDfnsClient(
        base_url, identity.token, signer, http_client=http_client, max_attempts=max_attempts
    )
