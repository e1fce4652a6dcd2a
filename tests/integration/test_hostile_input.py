"""No bad input reaches a 5xx (security review, findings 2 and 3), and errors never echo the input.

Client routes: a body in another content type is a 415 (JSON in any letter case or with parameters is
accepted), a body that is not UTF-8, not JSON or nested too deep is a 400, messages are bounded, and an
unexpected failure is a JSON 500 with a correlation id and no details. The webhook route answers 401 to
anything it cannot authenticate, whatever the bytes.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from managed_accounts.api.webhook_endpoint import WebhookReceiver
from managed_accounts.api.webhook_signature import sign
from managed_accounts.domain.onboarding import OnboardingService

import functions.destinations.handler as destinations
import functions.onboard.handler as onboard
import functions.webhooks.handler as webhooks
from tests.fakes.apigw import FakeLambdaContext, HttpResult, call, rest_event
from tests.fakes.recording import FixedClock, RecordingMetrics
from tests.fakes.world import World

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

ADDRESS = "0x" + "ab" * 20
SECRET = "whsec-test"


@pytest.fixture
def api(world: World) -> World:
    world.active_account("alice")
    return world


def _post(world: World, body: str | None, content_type: str | None, *, b64: bool = False) -> HttpResult:
    event = rest_event("POST", "/accounts/me/destination-requests", client_id="alice")
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "Content-Type"}
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
    event["body"], event["isBase64Encoded"] = body, b64
    return call(destinations.handler, event, service=world.destinations, commands=world.commands)


@pytest.mark.parametrize(
    "content_type", ["application/json", "APPLICATION/JSON", "application/json; charset=utf-8", None]
)
def test_json_in_any_case_or_with_parameters_is_accepted(api: World, content_type: str | None) -> None:
    assert _post(api, json.dumps({"address": ADDRESS}), content_type).status == 202


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_other_content_types_are_415_and_store_nothing(api: World, content_type: str) -> None:
    result = _post(api, json.dumps({"address": ADDRESS}), content_type)
    assert result.status == 415
    assert result.body["error"]["code"] == "unsupported_media_type"
    assert api.repo.list_requests("alice").items == []


@pytest.mark.parametrize(
    ("body", "b64"),
    [
        ("{not json", False),
        ("[" * 100_000 + "]" * 100_000, False),
        (base64.b64encode(b'{"address": "\xff\xfe"}').decode(), True),
    ],
    ids=["not-json", "too-deep", "not-utf8"],
)
def test_undecodable_bodies_are_400(api: World, body: str, b64: bool) -> None:
    result = _post(api, body, "application/json", b64=b64)
    assert result.status == 400
    assert result.body["error"]["code"] == "malformed_body"
    assert api.repo.list_requests("alice").items == []


def test_a_huge_field_name_is_not_echoed_back(api: World) -> None:
    result = _post(api, json.dumps({"x" * 200_000: 1, "address": ADDRESS}), "application/json")
    assert result.status == 422
    assert len(result.body["error"]["message"]) <= 300


def test_an_unexpected_failure_is_a_json_500_with_a_correlation_id(api: World) -> None:
    class Broken(OnboardingService):
        def get_account(self, client_id: str) -> Any:
            raise RuntimeError("secret internals")

    broken = Broken(api.repo, api.dfns, api.settings, api.publisher, api.clock)
    event = rest_event("GET", "/accounts/me", client_id="alice")
    result = call(onboard.handler, event, service=broken)
    assert result.status == 500
    assert "secret internals" not in json.dumps(result.body)
    assert event["requestContext"]["requestId"] in result.body["error"]["message"]


class _NeverCalled:
    def process(self, event: Any) -> Any:
        raise AssertionError("an unauthenticated body reached the processor")


def _webhook(body: bytes, signature: str | None) -> dict[str, Any]:
    receiver = WebhookReceiver(
        secret=lambda: SECRET,
        processor=_NeverCalled(),
        clock=FixedClock(datetime.now(UTC)),
        tolerance_seconds=300,
        metrics=RecordingMetrics(),
    )
    event = rest_event("POST", "/webhooks/dfns")
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    if signature is not None:
        event["headers"]["X-DFNS-WEBHOOK-SIGNATURE"] = signature
    response: dict[str, Any] = webhooks.handler(event, FakeLambdaContext(), receiver=receiver)
    return response


@pytest.mark.parametrize(
    "body",
    [b'{"a":"\\ud800"}', b"\xff\xfe\x00", b"[" * 50_000, b'{"kind": "policy.approval.resolved"}', b""],
    ids=["lone-surrogate", "not-utf8", "deep", "plausible", "empty"],
)
@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "garbage \u00e9"])
def test_the_webhook_answers_401_to_anything_it_cannot_authenticate(
    body: bytes, signature: str | None
) -> None:
    assert _webhook(body, signature)["statusCode"] == 401


@pytest.mark.parametrize(
    "payload",
    [{"kind": "webhook.ping"}, {"id": "whe-1", "kind": "vault.created", "data": {}}, {"data": {}}],
    ids=["ping-without-timestamp", "unknown-kind", "no-kind"],
)
def test_authenticated_pings_and_unknown_kinds_are_200_whatever_they_lack(payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    assert _webhook(body, sign(body, SECRET))["statusCode"] == 200
