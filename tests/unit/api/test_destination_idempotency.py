"""Repeated destination requests, through the destinations function (DESIGN.md §4 "Idempotent client
calls").

- With an ``Idempotency-Key``: the same key and body get the stored answer; the same key with another
  body is a 422; keys are the caller's own; a failed call is not remembered.
- Without a key: a repeat (same action, address and label) is answered with the earlier request only
  while it is pending (queued or submitted); with another label it is a 409; once the earlier request
  is resolved, a repeat is a new request, submitted to Dfns like any other.

Every test runs with the idempotency records on DynamoDB (moto, as deployed) and in memory.
"""

from __future__ import annotations

from typing import Any

import pytest
from managed_accounts.errors import Conflict

from tests.fakes.apigw import FakeLambdaContext
from tests.fakes.world import World
from tests.unit.api.test_destinations_handler import delete, request

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

X = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
Y = "0x" + "b2" * 20


@pytest.fixture
def api(either_world: World) -> World:
    either_world.active_account("alice")
    either_world.active_account("bob")
    return either_world


def _stored(world: World, client_id: str = "alice") -> list[Any]:
    return world.repo.list_requests(client_id, limit=100).items


def _change_requests(world: World) -> int:
    return world.dfns.calls["update_policy"]


# --- with an Idempotency-Key ---------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_gets_the_stored_answer(api: World) -> None:
    first = request(api, "alice", {"address": X, "label": "Ledger"}, key="k-1")
    again = request(api, "alice", {"address": X, "label": "Ledger"}, key="k-1")
    assert (first.status, again.status) == (202, 202)
    assert again.body == first.body
    assert len(_stored(api)) == 1
    assert _change_requests(api) == 1


def test_the_stored_answer_outlives_the_request_it_describes(api: World) -> None:
    first = request(api, "alice", {"address": X}, key="k-1")
    api.approve_all()
    again = request(api, "alice", {"address": X}, key="k-1")
    assert again.status == 202
    assert again.body == first.body  # the answer given then, not a new request
    assert len(_stored(api)) == 1


def test_the_same_key_with_another_body_is_422_and_changes_nothing(api: World) -> None:
    assert request(api, "alice", {"address": X, "label": "Ledger"}, key="k-1").status == 202
    for other in ({"address": Y, "label": "Ledger"}, {"address": X, "label": "Savings"}, {"address": X}):
        response = request(api, "alice", other, key="k-1")
        assert response.status == 422
        assert response.body["error"]["code"] == "invalid_input"
        assert "Idempotency-Key" in response.body["error"]["message"]
    assert [r.address for r in _stored(api)] == [X.lower()]


def test_a_key_belongs_to_the_client_who_sent_it(api: World) -> None:
    alice = request(api, "alice", {"address": X}, key="shared-key")
    bob = request(api, "bob", {"address": X}, key="shared-key")
    assert (alice.status, bob.status) == (202, 202)
    assert bob.body["requestId"] != alice.body["requestId"]
    assert len(_stored(api, "bob")) == 1


def test_a_failed_call_is_not_remembered_so_its_retry_runs_again(api: World) -> None:
    assert delete(api, "alice", X, key="k-remove").status == 404  # X is not approved yet
    assert request(api, "carol", {"address": X}, key="k-add").status == 404  # carol has no account
    api.active_account("carol")
    request(api, "alice", {"address": X})
    api.approve_all()
    assert delete(api, "alice", X, key="k-remove").status == 202
    assert request(api, "carol", {"address": X}, key="k-add").status == 202


def test_the_same_key_while_the_first_call_is_still_running_is_409(api: World) -> None:
    conflicts: list[Conflict] = []

    def the_client_retries_meanwhile() -> None:
        try:
            api.commands.request_destination("alice", X, None, key="k-1", context=FakeLambdaContext())
        except Conflict as error:
            conflicts.append(error)

    api.dfns.on_call("get_policy", the_client_retries_meanwhile)  # while the first call talks to Dfns
    first = request(api, "alice", {"address": X}, key="k-1")
    assert (first.status, first.body["status"]) == (202, "submitted")
    [conflict] = conflicts
    assert (conflict.status, conflict.code, conflict.retry_after) == (409, "request_in_progress", 1)
    assert "being processed" in conflict.message
    assert len(_stored(api)) == 1
    assert request(api, "alice", {"address": X}, key="k-1").body == first.body


@pytest.mark.parametrize("key", ["", "k" * 129, "with space", "caf\u00e9"])
def test_a_malformed_key_is_422_and_changes_nothing(api: World, key: str) -> None:
    response = request(api, "alice", {"address": X}, key=key)
    assert response.status == 422
    assert "Idempotency-Key" in response.body["error"]["message"]
    assert _stored(api) == []


# --- without a key -----------------------------------------------------------------------------------


def test_a_repeat_while_submitted_is_answered_with_the_earlier_request(api: World) -> None:
    first = request(api, "alice", {"address": X, "label": "Ledger"})
    assert first.body["status"] == "submitted"
    again = request(api, "alice", {"address": X.lower(), "label": "Ledger"})  # another spelling of X
    assert again.status == 202
    assert again.body["requestId"] == first.body["requestId"]
    assert len(_stored(api)) == 1
    assert _change_requests(api) == 1


def test_a_repeat_while_queued_is_answered_with_the_earlier_request(api: World) -> None:
    api.dfns.down = True
    first = request(api, "alice", {"address": X})
    again = request(api, "alice", {"address": X})
    assert first.body["status"] == again.body["status"] == "queued"
    assert again.body["requestId"] == first.body["requestId"]
    assert len(_stored(api)) == 1


def test_a_repeated_removal_while_pending_is_the_same_removal(api: World) -> None:
    request(api, "alice", {"address": X})
    api.approve_all()
    first, again = delete(api, "alice", X), delete(api, "alice", X)
    assert (first.status, again.status) == (202, 202)
    assert again.body["requestId"] == first.body["requestId"]
    assert sorted(r.action for r in _stored(api)) == ["add", "remove"]


def test_another_label_while_pending_is_409(api: World) -> None:
    request(api, "alice", {"address": X, "label": "Ledger"})
    for label in ("Savings", None):
        body = {"address": X, "label": label} if label else {"address": X}
        response = request(api, "alice", body)
        assert response.status == 409
        assert response.body["error"]["code"] == "conflict"
        assert "pending" in response.body["error"]["message"]
    assert len(_stored(api)) == 1


def test_after_a_rejection_the_same_request_is_a_new_request(api: World) -> None:
    first = request(api, "alice", {"address": X})
    api.destinations.apply_approval(api.dfns.decide(first.body["approvalId"], "Denied"))
    again = request(api, "alice", {"address": X})
    assert again.status == 202
    assert again.body["requestId"] != first.body["requestId"]
    assert again.body["status"] == "submitted"
    assert _change_requests(api) == 2


@pytest.mark.parametrize("keyed", [False, True], ids=["without-keys", "a-new-key-each-call"])
def test_add_remove_add_again_makes_a_new_request_that_reaches_dfns(api: World, keyed: bool) -> None:
    """The security finding: a re-add soon after a removal must not be answered with the old add."""
    keys = iter(["k-add", "k-remove", "k-add-again"]) if keyed else iter([None, None, None])
    added = request(api, "alice", {"address": X, "label": "Ledger"}, key=next(keys))
    api.approve_all()
    removed = delete(api, "alice", X, key=next(keys))
    api.approve_all()
    assert api.repo.list_destinations("alice") == []

    again = request(api, "alice", {"address": X, "label": "Ledger"}, key=next(keys))

    assert again.status == 202
    assert again.body["requestId"] not in (added.body["requestId"], removed.body["requestId"])
    assert again.body["action"] == "add"
    assert again.body["status"] == "submitted"
    stored = api.repo.get_request("alice", again.body["requestId"])
    assert stored is not None
    assert stored.status == "submitted"
    assert sorted(r.action for r in _stored(api)) == ["add", "add", "remove"]
    assert _change_requests(api) == 3
    [approval_id] = api.dfns.pending_approval_ids()
    assert approval_id == again.body["approvalId"]
    api.approve_all()
    account = api.repo.get_account("alice")
    assert account is not None
    assert api.dfns.whitelist(str(account.whitelist_policy_id)) == [X.lower()]


def test_the_in_progress_answer_tells_the_client_to_retry_unlike_a_business_conflict(api: World) -> None:
    # Found by tests/e2e/test_story_under_faults.py: when DynamoDB writes the in-progress record but
    # answers 500, the SDK's retry finds that record and the call answers "in progress" until it expires.
    # A client must tell this 409 (retry the same call) from a business conflict (never retry).
    answers: list[Any] = []
    api.dfns.on_call("get_policy", lambda: answers.append(request(api, "alice", {"address": X}, key="k-1")))
    request(api, "alice", {"address": X}, key="k-1")
    [in_progress] = answers
    assert (in_progress.status, in_progress.body["error"]["code"]) == (409, "request_in_progress")
    assert in_progress.headers["Retry-After"] == "1"
