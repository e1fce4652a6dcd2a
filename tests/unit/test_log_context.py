"""Every handler starts from a clean log context (security review, finding 10): a key appended while
serving one client (its clientId) must not appear on the next invocation's log lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from managed_accounts.observability import logger
from managed_accounts.wiring import BootstrapDependencies

import functions.bootstrap.handler as bootstrap
import functions.destinations.handler as destinations
import functions.onboard.handler as onboard
import functions.reports.handler as reports
import functions.webhooks.handler as webhooks
from functions.reports import audit_ingest
from functions.webhooks import reconciler
from tests.fakes.apigw import FakeLambdaContext, rest_event
from tests.fakes.world import World

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")
LEAK = "a-previous-client"
WEBHOOK_URL = "https://api.example/webhooks/dfns"


def _no_dfns() -> Any:
    raise AssertionError("deleting the custom resource reaches no Dfns")


def _invoke(name: str, world: World) -> None:
    calls: dict[str, Callable[[], Any]] = {
        "onboard": lambda: onboard.handler(
            rest_event("GET", "/accounts/me", client_id="alice"),
            FakeLambdaContext(),
            service=world.onboarding,
        ),
        "destinations": lambda: destinations.handler(
            rest_event("GET", "/accounts/me/destinations", client_id="alice"),
            FakeLambdaContext(),
            service=world.destinations,
            commands=world.commands,
        ),
        "webhooks": lambda: webhooks.handler(
            {"body": "{}", "headers": {}}, FakeLambdaContext(), receiver=world.webhook_receiver()
        ),
        "reconciler": lambda: reconciler.handler({}, FakeLambdaContext(), reconciler=world.reconciler()),
        "reports": lambda: reports.handler(
            rest_event("GET", "/accounts/me/audit", client_id="alice"),
            FakeLambdaContext(),
            service=world.reports(),
        ),
        "audit-ingest": lambda: audit_ingest.handler(
            {"source": "schedule", "task": "audit-ingest"}, FakeLambdaContext(), job=world.audit_ingest()
        ),
        "bootstrap": lambda: bootstrap.handler(
            {"RequestType": "Delete"},
            FakeLambdaContext(),
            deps=BootstrapDependencies(
                world.settings, "https://api.example/webhooks/dfns", _no_dfns, cast(Any, None)
            ),
        ),
    }
    calls[name]()


@pytest.mark.parametrize(
    "name", ["onboard", "destinations", "webhooks", "reconciler", "bootstrap", "reports", "audit-ingest"]
)
def test_a_key_from_an_earlier_invocation_is_gone(name: str, world: World) -> None:
    logger.append_keys(client_id=LEAK)
    _invoke(name, world)
    assert logger.get_current_keys().get("client_id") != LEAK
