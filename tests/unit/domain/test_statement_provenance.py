"""Which approval an outflow's destination rests on: the approved addition in force when the transfer was
asked for, none after an approved removal, and EVM addresses compared as Dfns compares them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from managed_accounts.domain.models import DestinationRequest, RequestAction, RequestStatus
from managed_accounts.domain.statement import provenance_request

T0 = datetime(2026, 2, 1, tzinfo=UTC)
ADDRESS = "0x" + "ab" * 20
NETWORK = "EthereumSepolia"


def _request(
    n: int, action: RequestAction, resolved_hours: int, status: RequestStatus = "approved"
) -> DestinationRequest:
    resolved = T0 + timedelta(hours=resolved_hours)
    return DestinationRequest(
        f"dr-{n}", "c1", action, ADDRESS, NETWORK, status, resolved - timedelta(minutes=5), resolved,
        approval_id=f"ap-{n}", resolved_at=resolved,
    )  # fmt: skip


def test_the_addition_in_force_at_the_time_of_the_transfer_is_its_provenance() -> None:
    requests = [
        _request(1, "add", 1),
        _request(2, "remove", 5),
        _request(3, "add", 9),
        _request(4, "add", 7, "rejected"),
    ]

    def at(hours: int) -> str | None:
        found = provenance_request(
            requests, NETWORK, ADDRESS.upper().replace("0X", "0x"), T0 + timedelta(hours=hours)
        )
        return found.request_id if found else None

    assert at(0) is None  # asked for before any approval
    assert at(2) == "dr-1"
    assert at(6) is None  # removed by then: an unapproved destination
    assert at(8) is None  # a rejected request proves nothing
    assert at(10) == "dr-3"
