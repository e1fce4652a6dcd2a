"""The reports routes through API Gateway REST events, on fakes: bad queries are 400s naming the problem,
every view is 404 ``account_not_found`` before onboarding, and the trail is filed as facts happen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from managed_accounts.dfns.models import HistoryEvent
from managed_accounts.domain.movements import format_units

import functions.reports.handler as reports
from tests.fakes.apigw import HttpResult, call, rest_event
from tests.fakes.world import World

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def get(world: World, client_id: str | None, path: str, query: dict[str, str] | None = None) -> HttpResult:
    """``GET path`` as API Gateway sends it, handled with the world's reports (the shared-policy ids as
    the bootstrap records them)."""
    resource, params = path, None
    if path.endswith("/verification"):
        resource, params = "/accounts/me/audit/{entryId}/verification", {"entryId": path.split("/")[-2]}
    event = rest_event(
        "GET", path, client_id=client_id, query=query, resource=resource, path_parameters=params
    )
    if world.registry.shared_policies() is None:
        world.record_shared_policies()
    return call(reports.handler, event, service=world.reports())


ROUTES = (
    "/accounts/me/restrictions",
    "/accounts/me/activity",
    "/accounts/me/audit",
    "/accounts/me/statement",
    "/accounts/me/audit/20260101T000000000000Z-0000/verification",
)


@pytest.mark.parametrize("path", ROUTES)
def test_every_view_is_account_not_found_before_onboarding_and_401_without_a_token(
    world: World, path: str
) -> None:
    missing = get(world, "nobody-yet", path)
    assert (missing.status, missing.body["error"]["code"]) == (404, "account_not_found")
    assert get(world, None, path).status == 401


@pytest.mark.parametrize(
    ("path", "query", "problem"),
    [
        ("/accounts/me/audit", {"from": "2026-13-01"}, "from is not an ISO-8601"),
        ("/accounts/me/audit", {"to": "yesterday"}, "to is not an ISO-8601"),
        ("/accounts/me/audit", {"from": "2026-02-01", "to": "2026-01-01"}, "from must be before to"),
        ("/accounts/me/statement", {"from": "2024-01-01", "to": "2026-01-01"}, "more than 366 days"),
        ("/accounts/me/statement", {"format": "xml"}, "format must be csv or json"),
        ("/accounts/me/activity", {"limit": "0"}, "limit must be a whole number from 1 to 100"),
        ("/accounts/me/activity", {"limit": "101"}, "limit must be"),
        ("/accounts/me/audit", {"limit": "ten"}, "limit must be"),
        ("/accounts/me/activity", {"cursor": "garbage"}, "cursor is not valid"),
        ("/accounts/me/audit", {"cursor": "eyJrIjoiYXVkaXQifQ"}, "cursor is not valid"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_problem(
    world: World, path: str, query: dict[str, str], problem: str
) -> None:
    world.onboarding.onboard("alice")
    result = get(world, "alice", path, query)
    assert result.status == 400
    assert result.body["error"]["code"] == "invalid_query"
    assert problem in result.body["error"]["message"]


def test_a_period_of_exactly_366_days_and_date_only_bounds_are_accepted(world: World) -> None:
    world.onboarding.onboard("alice")
    result = get(world, "alice", "/accounts/me/statement", {"from": "2025-01-01", "to": "2025-12-31"})
    assert result.status == 200
    assert result.body["from"] == "2025-01-01T00:00:00Z"
    assert result.body["to"] == "2026-01-01T00:00:00Z"  # a date-only "to" includes that whole day


def test_product_facts_and_decisions_are_filed_as_they_happen(world: World) -> None:
    world.onboarding.onboard("alice")
    request = world.destinations.request_destination("alice", "0x" + "12" * 20, "bank")
    assert request.approval_id
    world.clock.advance(1)
    decided = world.dfns.decide(request.approval_id, "Denied", reason="unknown", at=world.clock.now())
    world.decisions().apply_approval(decided)  # the webhook, as wired
    world.clock.advance(1)

    entries = get(world, "alice", "/accounts/me/audit").body["items"]

    assert sorted(e["kind"] for e in entries) == sorted(
        [
            "AccountOnboarded",
            "DestinationRequested",
            "DestinationSubmitted",
            "ApprovalDecision",
            "DestinationRejected",
        ]
    )
    assert [e["occurredAt"] for e in entries] == sorted(e["occurredAt"] for e in entries)
    decision = next(e for e in entries if e["kind"] == "ApprovalDecision")
    assert decision["details"]["reason"] == "unknown"
    assert decision["signedAction"] is None
    verification = get(world, "alice", f"/accounts/me/audit/{decision['entryId']}/verification").body
    assert (verification["verified"], verification["reason"]) == (
        False,
        "the officer's signed action is not on record yet",
    )
    assert world.repo.get_account("alice") is not None
    assert world.audit.client_for(str(request.approval_id)) == "alice"  # filed for the audit-log ingestion


def test_publishing_nothing_when_the_trail_cannot_be_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: Any) -> None:
        raise RuntimeError("table down")

    monkeypatch.setattr(world.audit, "record", broken)
    world.onboarding.onboard("alice")  # the events stay in the outbox for the relay
    assert world.publisher.events == []
    assert len(world.repo.list_outbox(older_than=world.clock.now() + timedelta(hours=1))) == 1


def test_the_statement_csv_is_rfc4180_with_a_header_and_crlf(world: World) -> None:
    account = world.onboarding.onboard("alice").account
    at = world.clock.now() - timedelta(hours=1)
    world.dfns.history[str(account.wallet_id)] = [
        HistoryEvent.model_validate(
            {
                "walletId": account.wallet_id,
                "kind": "NativeTransfer",
                "direction": "In",
                "timestamp": at.isoformat(),
                "from": '0xsender,with"quotes',
                "value": "1500000000000000000",
                "txHash": "0xabc",
                "metadata": {"asset": {"symbol": "ETH", "decimals": 18}},
            }
        )
    ]
    result = get(world, "alice", "/accounts/me/statement", {"format": "CSV"})
    assert result.status == 200
    lines = result.body.split("\r\n")
    assert lines[0].startswith("row,time,asset,symbol,direction,amount,")
    assert '"0xsender,with""quotes"' in result.body
    assert "1.5" in lines[2]


def test_units_are_exact_decimal_strings() -> None:
    assert format_units(10**16, 18) == "0.01"
    assert format_units(1, 18) == "0.000000000000000001"
    assert format_units(123_456_789, 6) == "123.456789"
    assert format_units(5, 0) == "5"
    assert format_units(-2_500_000, 6) == "-2.5"
    assert format_units(0, 18) == "0"


def test_missing_bounds_default_to_the_last_days_up_to_now(world: World) -> None:
    world.onboarding.onboard("alice")
    body = get(world, "alice", "/accounts/me/statement").body
    start = datetime.fromisoformat(body["from"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(body["to"].replace("Z", "+00:00"))
    assert end == world.clock.now().astimezone(UTC)
    assert end - start == timedelta(days=30)
