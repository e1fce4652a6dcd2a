"""Responses parse leniently (what Dfns holds may be odd), requests stay strict, numbers go out as Dfns
writes them."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from managed_accounts.dfns.client import DfnsClient
from managed_accounts.dfns.models import (
    AmountLimitConfiguration,
    AmountLimitRule,
    AmountVelocityConfiguration,
    Approval,
    BlockAction,
    CountVelocityConfiguration,
    OtherAction,
    OtherRule,
    Policy,
    PolicyBody,
    RequestApprovalAction,
    WhitelistRule,
)
from pydantic import ValidationError

from tests.unit.dfns.fake_dfns import FakeDfns


def _policy(rule: dict[str, Any], action: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.pop("id", "plc-1"),
        "name": "p",
        "status": "Active",
        "activityKind": "Wallets:Sign",
        "rule": rule,
        "action": action or {"kind": "Block"},
        **extra,
    }


ODD_RULES = [
    {"kind": "TransactionAmountLimit", "configuration": {"limit": 0, "currency": "USD"}},
    {"kind": "TransactionAmountLimit", "configuration": {"limit": 5000, "currency": "EUR"}},
    {"kind": "TransactionAmountVelocity", "configuration": {"limit": 0, "currency": "USD", "timeframe": 60}},
    {"kind": "TransactionCountVelocity", "configuration": {"limit": 0, "timeframe": 60}},
    {"kind": "TransactionCountVelocity", "configuration": {"limit": 1, "timeframe": 99999}},
    {"kind": "ChainalysisTransactionPrescreening", "configuration": {"alerts": {"alertLevel": "HIGH"}}},
    {"kind": "SomethingNew", "configuration": {"x": [1, 2]}},
]


@pytest.mark.parametrize("rule", ODD_RULES)
def test_a_rule_the_product_does_not_understand_is_kept_raw(
    rule: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="managed_accounts.dfns"):
        policy = Policy.model_validate(_policy(rule))

    assert isinstance(policy.rule, OtherRule)
    assert policy.rule.kind == rule["kind"]
    assert policy.body().to_wire()["rule"] == rule  # written back unchanged on a full replacement
    if rule["kind"].startswith("Transaction"):
        assert "kept as raw data" in caplog.text


@pytest.mark.parametrize(
    "action",
    [
        {"kind": "RequestApproval", "approvalGroups": [{"quorum": 0, "approvers": {}}]},
        {"kind": "RequestApproval", "approvalGroups": []},
        {
            "kind": "RequestApproval",
            "approvalGroups": [{"quorum": 1, "approvers": {}}],
            "autoRejectTimeout": 0,
        },
        {"kind": "Escalate", "to": "board"},
    ],
)
def test_an_action_the_product_does_not_understand_is_kept_raw(action: dict[str, Any]) -> None:
    policy = Policy.model_validate(_policy({"kind": "AlwaysTrigger"}, action))
    assert isinstance(policy.action, OtherAction)
    assert policy.body().to_wire()["action"] == action


def test_known_shapes_still_parse_into_their_models_and_unknown_fields_are_ignored() -> None:
    rule = {"kind": "TransactionRecipientWhitelist", "configuration": {"addresses": ["0xa"], "new": 1}}
    policy = Policy.model_validate(_policy(rule, {"kind": "Block"}, futureField={"x": 1}))
    assert isinstance(policy.rule, WhitelistRule)
    assert isinstance(policy.action, BlockAction)
    assert policy.rule.configuration.addresses == ["0xa"]


def test_an_unknown_filter_survives_a_full_replacement() -> None:
    filters = {"walletTags": {"hasAll": ["client:c1"]}, "vaultTags": {"hasAny": ["v"]}}
    policy = Policy.model_validate(_policy({"kind": "AlwaysTrigger"}, filters=filters))
    assert policy.body().to_wire()["filters"] == filters  # dropping vaultTags would widen the policy


def test_an_unknown_decision_value_does_not_break_an_approval() -> None:
    approval = Approval.model_validate(
        {"id": "ap-1", "status": "Pending", "decisions": [{"userId": "us-1", "value": "Abstained"}]}
    )
    assert approval.decisions[0].value == "Abstained"


def test_request_bodies_stay_strict() -> None:
    for bad in (
        lambda: AmountLimitConfiguration(limit=0),
        lambda: AmountLimitConfiguration.model_validate({"limit": 10, "currency": "EUR"}),
        lambda: AmountVelocityConfiguration(limit=-1, timeframe=60),
        lambda: CountVelocityConfiguration(limit=0, timeframe=60),
        lambda: RequestApprovalAction(approval_groups=[]),
        lambda: PolicyBody.model_validate(
            {
                "name": "p",
                "activityKind": "Wallets:Sign",
                "rule": {"kind": "TransactionAmountLimit", "configuration": {"limit": 0, "currency": "USD"}},
                "action": {"kind": "Block"},
            }
        ),
    ):
        with pytest.raises(ValidationError):
            bad()


def test_whole_number_limits_go_on_the_wire_as_integers() -> None:
    whole = AmountLimitRule(configuration=AmountLimitConfiguration(limit=10000))
    assert json.dumps(whole.to_wire(), separators=(",", ":")) == (
        '{"kind":"TransactionAmountLimit","configuration":{"limit":10000,"currency":"USD"}}'
    )
    assert isinstance(whole.to_wire()["configuration"]["limit"], int)
    assert AmountLimitConfiguration(limit=10000.5).to_wire()["limit"] == 10000.5
    velocity = AmountVelocityConfiguration(limit=2.5e4, timeframe=60).to_wire()
    assert velocity == {"limit": 25000, "currency": "USD", "timeframe": 60}
    assert isinstance(velocity["limit"], int)


def test_the_client_sends_whole_limits_as_integers(fake: FakeDfns, client: DfnsClient) -> None:
    body = PolicyBody(
        name="limit",
        activity_kind="Wallets:Sign",
        rule=AmountLimitRule(configuration=AmountLimitConfiguration(limit=10000.0)),
        action=BlockAction(),
    )
    fake.script("POST", "/v2/policies", httpx.Response(200, json={"id": "plc-1", **body.to_wire()}))

    client.create_policy(body)

    (sent,) = fake.calls("POST", "/v2/policies")
    assert b'"limit":10000,' in sent.content
    assert b"10000.0" not in sent.content


def test_a_listing_with_an_odd_policy_still_yields_every_other(
    fake: FakeDfns, client: DfnsClient, caplog: pytest.LogCaptureFixture
) -> None:
    good = _policy({"kind": "AlwaysTrigger"}, id="plc-good")
    eur = _policy(
        {"kind": "TransactionAmountLimit", "configuration": {"limit": 1, "currency": "EUR"}}, id="plc-eur"
    )
    broken = {"id": "plc-broken", "name": "no rule at all", "activityKind": "Wallets:Sign"}
    not_even_a_rule = _policy("AlwaysTrigger", id="plc-string-rule")  # type: ignore[arg-type]
    last = _policy({"kind": "AlwaysTrigger"}, id="plc-last")
    fake.script(
        "GET",
        "/v2/policies",
        httpx.Response(200, json={"items": [good, broken, eur], "nextPageToken": "t1"}),
        httpx.Response(200, json={"items": [not_even_a_rule, last]}),
    )

    with caplog.at_level(logging.WARNING):
        ids = [p.id for p in client.iter_policies(status=None)]

    assert ids == ["plc-good", "plc-eur", "plc-last"]
    assert caplog.text.count("dfns list item skipped") == 2
