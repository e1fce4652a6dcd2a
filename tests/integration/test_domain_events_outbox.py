"""Domain events are at least once: EventBridge failing during an approval loses nothing.

The approval's event is committed with the approval itself (the outbox). With EventBridge down the
client's request is approved all the same; once EventBridge is back, the reconciler publishes the event,
exactly once, with the same ``eventId`` it was committed with.
"""

from __future__ import annotations

from datetime import timedelta

from managed_accounts.domain.outbox import RELAY_AFTER, Outbox

from tests.fakes.world import World

CLIENT = "alice"
ADDRESS = "0x" + "a1" * 20


def test_an_event_lost_to_an_eventbridge_outage_is_delivered_after_recovery_once(
    either_world: World,
) -> None:
    world, bus = either_world, either_world.publisher
    destinations = world.destinations
    world.active_account(CLIENT)
    request = destinations.request_destination(CLIENT, ADDRESS, "savings")
    reconciler = world.reconciler()

    bus.down = True
    assert destinations.apply_approval(world.dfns.decide(str(request.approval_id), "Approved"))
    stored = world.repo.get_request(CLIENT, request.request_id)
    assert stored is not None
    assert stored.status == "approved"  # the outage did not undo or fail the approval
    assert "DestinationApproved" not in bus.types()

    bus.down = False
    assert reconciler.run()["eventsRelayed"] == 0  # too fresh: its own call may still publish it
    world.clock.advance(RELAY_AFTER.total_seconds() + 1)
    assert reconciler.run()["eventsRelayed"] == 1
    assert reconciler.run()["eventsRelayed"] == 0

    approved = [e for e in bus.events if e.type == "DestinationApproved"]
    assert len(approved) == 1
    assert approved[0].detail["requestId"] == request.request_id
    assert approved[0].event_id.startswith("ev-")
    assert f'"eventId":"{approved[0].event_id}"' in approved[0].to_detail_json()


def test_published_events_leave_the_outbox(either_world: World) -> None:
    world = either_world
    world.active_account(CLIENT)
    world.destinations.request_destination(CLIENT, ADDRESS, None)
    world.clock.advance(3600)
    assert world.repo.list_outbox(older_than=world.clock.now()) == []
    assert world.publisher.types()[-2:] == ["DestinationRequested", "DestinationSubmitted"]


def test_the_relay_waits_as_long_as_configured(either_world: World) -> None:
    # The local stack relays after 5 s (OUTBOX_RELAY_AFTER_SECONDS), so that the e2e story under DynamoDB
    # faults sees an event its failed write left in the outbox reach the trail within seconds.
    world, bus = either_world, either_world.publisher
    world.active_account(CLIENT)
    bus.down = True
    world.destinations.request_destination(CLIENT, ADDRESS, None)
    bus.down = False
    outbox = Outbox(world.repo, bus, relay_after=timedelta(seconds=5))
    assert outbox.relay(world.clock.now()) == 0
    world.clock.advance(6)
    assert outbox.relay(world.clock.now()) == 2
    assert sorted(bus.types()[-2:]) == ["DestinationRequested", "DestinationSubmitted"]
