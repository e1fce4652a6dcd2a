"""What the local notifier records of the domain bus's client-facing events."""

from __future__ import annotations

import json

from local_stack.notifications import NOTIFICATIONS_FILE, notification_of, read_notifications


def test_a_notification_is_the_event_type_time_and_detail():
    event = {
        "detail-type": "DestinationApproved",
        "time": "2026-11-22T02:00:00Z",
        "source": "managed-accounts",
        "detail": {"clientId": "alice", "address": "0xabc"},
    }
    assert notification_of(event) == {
        "type": "DestinationApproved",
        "time": "2026-11-22T02:00:00Z",
        "clientId": "alice",
        "address": "0xabc",
    }


def test_notifications_are_read_per_client(tmp_path):
    rows = [
        {"type": "DestinationApproved", "clientId": "alice"},
        {"type": "DestinationRejected", "clientId": "bob"},
    ]
    (tmp_path / NOTIFICATIONS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_notifications(tmp_path, "bob") == [rows[1]]
    assert read_notifications(tmp_path) == rows


def test_no_file_means_no_notifications_yet(tmp_path):
    assert read_notifications(tmp_path, "alice") == []
