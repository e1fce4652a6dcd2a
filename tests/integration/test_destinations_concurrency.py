"""20 destination requests for one client at once (threads, moto DynamoDB, FakeDfns with governance).

Each thread has its own Table object, repository and service, as concurrent Lambdas would. The
test then acts as compliance (approve what Dfns asks) and as the webhook (apply_approval), and as the
reconciler for anything left queued, until nothing is pending.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from managed_accounts.data.repository import DynamoAccountsRepository
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.domain.models import DestinationRequest

from tests.fakes.world import REGION, World

pytestmark = pytest.mark.usefixtures("atomic_moto")

CLIENT = "concurrent-client"
COUNT = 20
MAX_ROUNDS = 40


def _service_for_thread(world: World) -> DestinationService:
    # Its own Table object and repository; boto3 clients (shared underneath) are thread-safe.
    table = boto3.resource("dynamodb", region_name=REGION).Table(world.table.name)
    return DestinationService(DynamoAccountsRepository(table), world.dfns, world.publisher, world.clock)


def _drain(world: World) -> int:
    rounds = 0
    while world.dfns.pending_approval_ids() or list(world.repo.iter_clients_with_queued_requests()):
        rounds += 1
        assert rounds <= MAX_ROUNDS, "did not converge"
        world.approve_all()
        for client_id in world.repo.iter_clients_with_queued_requests():
            world.destinations.submit_next_batch(client_id)  # what the reconciler does
    return rounds


def test_twenty_concurrent_requests_all_end_approved_in_the_live_whitelist(world: World) -> None:
    account = world.active_account(CLIENT)
    addresses = [f"0x{i:040x}" for i in range(1, COUNT + 1)]
    start = threading.Barrier(COUNT)
    services = [_service_for_thread(world) for _ in range(COUNT)]

    def ask(index: int) -> DestinationRequest:
        start.wait()
        return services[index].request_destination(CLIENT, addresses[index], f"label {index}")

    with ThreadPoolExecutor(max_workers=COUNT) as pool:
        created = list(pool.map(ask, range(COUNT)))

    assert len({r.request_id for r in created}) == COUNT
    _drain(world)

    live = world.dfns.whitelist(str(account.whitelist_policy_id))
    assert sorted(live) == sorted(addresses)
    assert len(live) == COUNT  # no duplicates
    requests = world.repo.list_requests(CLIENT, limit=100).items
    assert len(requests) == COUNT
    assert {r.status for r in requests} == {"approved"}
    mirror = world.repo.list_destinations(CLIENT)
    assert sorted(d.address for d in mirror) == sorted(addresses)
    assert world.repo.list_pending(CLIENT) == []
    final = world.repo.get_account(CLIENT)
    assert final is not None
    assert final.claim is None
    # Batching: far fewer change requests than requests, and never two pending on the policy at once.
    assert world.dfns.calls["update_policy"] < COUNT
    approved_events = [e for e in world.publisher.events if e.type == "DestinationApproved"]
    assert len(approved_events) == COUNT


def test_concurrent_repeats_of_one_address_create_exactly_one_request(world: World) -> None:
    world.active_account(CLIENT)
    start = threading.Barrier(8)
    services = [_service_for_thread(world) for _ in range(8)]
    address = "0x" + "ab" * 20

    def ask(index: int) -> Any:
        start.wait()
        try:
            return services[index].request_destination(CLIENT, address, None)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(ask, range(8)))

    # A repeat while the first is pending is answered with that request (or a retryable 409 while
    # the first is still being written): never a second request.
    answered = [o for o in outcomes if isinstance(o, DestinationRequest)]
    assert answered
    assert len({o.request_id for o in answered}) == 1
    assert all(getattr(o, "status", None) == 409 for o in outcomes if not isinstance(o, DestinationRequest))
    assert len(world.repo.list_requests(CLIENT).items) == 1
