"""Submitting queued destination requests as one Dfns whitelist change per client (DESIGN §4).

At most one change per client is in flight, claimed with a conditional write on the client record.
The new list is computed from the LIVE policy: 1 GET + 1 signed PUT per batch. A claim whose holder
died before recording its submission is taken over after ``CLAIM_LEASE``; a change request that
reached Dfns but was never recorded is found in the policy's ``pendingChangeRequest`` and adopted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from managed_accounts.dfns.errors import DfnsBadRequest, DfnsError, DfnsNotFound
from managed_accounts.dfns.models import Policy
from managed_accounts.domain import whitelist as wl
from managed_accounts.domain.destination_outcomes import RequestOutcomes
from managed_accounts.domain.models import Account, DestinationRequest
from managed_accounts.domain.ports import AccountsRepository, ChangeRequestPending, Clock, DfnsGateway
from managed_accounts.errors import from_dfns
from managed_accounts.logs import get_logger

logger = get_logger("destinations")

CLAIM_LEASE = timedelta(minutes=2)
# Requests per whitelist change: one DynamoDB transaction moves a whole batch with its events
# (4 items a request + 1, and 100 items at most).
MAX_BATCH = 24


class BatchSubmitter:
    def __init__(
        self, repository: AccountsRepository, dfns: DfnsGateway, outcomes: RequestOutcomes, clock: Clock
    ) -> None:
        self._repo = repository
        self._dfns = dfns
        self._outcomes = outcomes
        self._clock = clock

    def submit_once(self, client_id: str) -> bool:
        """One batch; True when the slot was freed at once and more may be queued."""
        if not any(p.state == "queued" for p in self._repo.list_pending(client_id)):
            return False
        account = self._repo.get_account(client_id)
        if account is None or account.status != "active" or not account.whitelist_policy_id:
            return False
        now = self._clock.now()
        batch_id = f"batch-{uuid.uuid4().hex}"
        if not self._claim(client_id, batch_id, now):
            return False
        try:
            return self._submit_claimed(account, account.whitelist_policy_id, batch_id)
        except BaseException:
            self._repo.release_claim(client_id, batch_id)
            raise

    def _claim(self, client_id: str, batch_id: str, now: datetime) -> bool:
        try:
            return self._repo.claim_change(client_id, batch_id, now, now - CLAIM_LEASE)
        except Exception:
            # DynamoDB may have applied the claim and lost its answer (its retries failing after): free the
            # slot if this batch holds it, rather than leave the client's requests waiting out the lease.
            try:
                self._repo.release_claim(client_id, batch_id)
            except Exception:
                logger.warning("a claim that failed could not be released; its lease frees it", exc_info=True)
            raise

    def _submit_claimed(self, account: Account, policy_id: str, batch_id: str) -> bool:
        batch = self._queued_batch(account.client_id)
        if not batch:
            self._repo.release_claim(account.client_id, batch_id)
            return False
        try:
            policy = self._dfns.get_policy(policy_id)
        except DfnsError as error:
            raise from_dfns(error) from error
        live = wl.live_addresses(policy)
        if policy.pending_change_request is not None and policy.pending_change_request.status == "Pending":
            self._adopt(account, batch_id, policy, live, batch)
            return False
        proposed = wl.apply_batch(live, batch, account.network)
        if wl.same_addresses(live, proposed, account.network):
            # Dfns already enforces what the batch asks (e.g. applied before a crash): nothing to approve.
            self._outcomes.resolve(
                account.client_id,
                batch,
                "approved",
                reason="already enforced by the live whitelist",
                release_batch_id=batch_id,
            )
            return True
        return self._propose(account, policy, proposed, batch, batch_id)

    def _queued_batch(self, client_id: str) -> list[DestinationRequest]:
        # Read after claiming: nothing else moves queued requests while the slot is ours.
        entries = [p for p in self._repo.list_pending(client_id) if p.state == "queued"][:MAX_BATCH]
        requests = self._repo.get_requests(client_id, [e.request_id for e in entries])
        return [r for r in requests if r.status == "queued"]

    def _propose(
        self,
        account: Account,
        policy: Policy,
        proposed: list[str],
        batch: list[DestinationRequest],
        batch_id: str,
    ) -> bool:
        """The signed update; True when the slot was freed at once (applied, or refused for good)."""
        client_id = account.client_id
        try:
            outcome = self._dfns.update_policy(policy.id, wl.with_addresses(policy, proposed))
        except (DfnsBadRequest, DfnsNotFound) as error:
            # Cannot succeed by retrying: the batch fails visibly instead of blocking the queue.
            reason = f"Dfns refused the change: {error.message}"
            self._outcomes.resolve(client_id, batch, "failed", reason=reason, release_batch_id=batch_id)
            return True
        except DfnsError as error:
            raise from_dfns(error) from error
        if isinstance(outcome, ChangeRequestPending):
            change = outcome.change_request
            if not change.approval_id:
                raise from_dfns(DfnsError("change request without an approval id"))
            self._record_submission(client_id, batch_id, batch, change.id, change.approval_id)
            return False
        self._outcomes.resolve(client_id, batch, "approved", ungoverned=True, release_batch_id=batch_id)
        logger.warning(
            "whitelist changed without governance (no Policies:Modify policy)",
            extra={"clientId": client_id, "policyId": policy.id},
        )
        return True

    def _adopt(
        self,
        account: Account,
        batch_id: str,
        policy: Policy,
        live: list[str],
        batch: list[DestinationRequest],
    ) -> None:
        change = policy.pending_change_request
        assert change is not None
        proposed = wl.proposed_addresses(change.body)
        members = wl.covered_by_change(live, proposed, batch, account.network) if proposed is not None else []
        if members and change.approval_id:
            logger.info("adopting an unrecorded change request", extra={"changeRequestId": change.id})
            self._record_submission(account.client_id, batch_id, members, change.id, change.approval_id)
            return
        self._repo.release_claim(account.client_id, batch_id)
        logger.warning(
            "the whitelist has a pending change this product did not record; waiting",
            extra={"clientId": account.client_id, "changeRequestId": change.id},
        )

    def _record_submission(
        self,
        client_id: str,
        batch_id: str,
        batch: Sequence[DestinationRequest],
        change_id: str,
        approval_id: str,
    ) -> None:
        submitted = [
            replace(r, status="submitted", approval_id=approval_id, change_request_id=change_id)
            for r in batch
        ]
        events = self._outcomes.events("DestinationSubmitted", submitted)
        self._repo.mark_submitted(
            client_id,
            batch_id,
            batch,
            change_request_id=change_id,
            approval_id=approval_id,
            now=self._clock.now(),
            events=events,
        )
        logger.info(
            "whitelist change submitted for approval",
            extra={
                "clientId": client_id,
                "approvalId": approval_id,
                "changeRequestId": change_id,
                "requestIds": [r.request_id for r in batch],
            },
        )
        self._outcomes.outbox.publish(events)
