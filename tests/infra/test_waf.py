"""The web ACL: body-size limits enforced per route class (small for clients, relaxed for the Dfns webhook),
per-IP rate limits with the webhook's own budget, managed rules, and blocks in the error contract."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from managed_accounts.api.webhook_signature import MAX_BODY_BYTES
from managed_accounts.routes import ROUTES

from infra.capabilities.waf import CLIENT_BODY_LIMIT, WEBHOOK_BODY_LIMIT, greater_than_pattern
from tests.infra.helpers import resources

pytestmark = pytest.mark.infra

WEBHOOK_PATHS = [r.path for r in ROUTES if r.auth == "webhook"]


def _acl(template: Any) -> dict[str, Any]:
    [acl] = resources(template, "AWS::WAFv2::WebACL").values()
    props: dict[str, Any] = acl["Properties"]
    return props


def _rules(template: Any) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in _acl(template)["Rules"]}


def _is_webhook(statement: dict[str, Any]) -> bool:
    match: dict[str, Any] = statement.get("ByteMatchStatement") or {}
    return match.get("FieldToMatch") == {"UriPath": {}} and match.get("SearchString") in WEBHOOK_PATHS


def _blocks_with(rule: dict[str, Any], status: int) -> str:
    custom = rule["Action"]["Block"]["CustomResponse"]
    assert custom["ResponseCode"] == status
    key: str = custom["CustomResponseBodyKey"]
    return key


def test_client_bodies_over_8_kb_are_blocked_everywhere_but_the_webhook(template: Any) -> None:
    rule = _rules(template)["ClientBodySize"]
    assert _blocks_with(rule, 413) == "payload_too_large"
    left, right = rule["Statement"]["AndStatement"]["Statements"]
    assert _is_webhook(left["NotStatement"]["Statement"])
    size = right["SizeConstraintStatement"]
    assert size["FieldToMatch"] == {"Body": {"OversizeHandling": "MATCH"}}  # beyond inspection = too large
    assert size["ComparisonOperator"] == "GT"
    assert size["Size"] == CLIENT_BODY_LIMIT == 8 * 1024


def test_webhook_bodies_are_capped_at_256_kib(template: Any) -> None:
    rule = _rules(template)["WebhookBodySize"]
    assert _blocks_with(rule, 413) == "payload_too_large"
    left, right = rule["Statement"]["AndStatement"]["Statements"]
    assert _is_webhook(left)
    regex = right["RegexMatchStatement"]
    assert regex["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    assert WEBHOOK_BODY_LIMIT == MAX_BODY_BYTES == 256 * 1024  # the same bound as the handler's
    pattern = re.compile(regex["RegexString"])
    assert pattern.fullmatch(str(WEBHOOK_BODY_LIMIT + 1))
    assert not pattern.fullmatch(str(WEBHOOK_BODY_LIMIT))


@pytest.mark.parametrize("limit", [0, 9, 10, 99, 262_144, 8192, 199_999, 909])
def test_the_content_length_pattern_matches_exactly_the_numbers_above_the_limit(limit: int) -> None:
    pattern = re.compile(greater_than_pattern(limit))
    samples = {*range(max(0, limit - 1200), limit + 1200), 10 * limit + 7, 10**9, 0, 1}
    for n in samples:
        assert bool(pattern.fullmatch(str(n))) == (n > limit), n
    assert pattern.fullmatch("000" + str(limit + 1))  # leading zeros change nothing
    assert not pattern.fullmatch("000" + str(limit))
    assert not pattern.fullmatch("")
    assert not pattern.fullmatch("12a")


def test_nothing_is_left_counting_but_the_size_rule_the_route_rules_replace(template: Any) -> None:
    rules = _rules(template)
    for name, rule in rules.items():
        assert "Count" not in rule.get("Action", {}), name
    overrides = [
        o
        for rule in rules.values()
        for o in rule["Statement"].get("ManagedRuleGroupStatement", {}).get("RuleActionOverrides", [])
    ]
    assert [o["Name"] for o in overrides] == ["SizeRestrictions_BODY"]
    # Our size rules run before the managed groups.
    assert rules["ClientBodySize"]["Priority"] < rules["AWSManagedRulesCommonRuleSet"]["Priority"]


def test_per_ip_rate_limits_give_the_webhook_its_own_budget(template: Any) -> None:
    rules = _rules(template)
    client, webhook = rules["RatePerIp"], rules["WebhookRatePerIp"]
    assert _blocks_with(client, 429) == _blocks_with(webhook, 429) == "rate_limited"
    client_rate = client["Statement"]["RateBasedStatement"]
    webhook_rate = webhook["Statement"]["RateBasedStatement"]
    assert _is_webhook(client_rate["ScopeDownStatement"]["NotStatement"]["Statement"])
    assert _is_webhook(webhook_rate["ScopeDownStatement"])
    assert webhook_rate["Limit"] > client_rate["Limit"]  # Dfns delivers from a few addresses


def test_waf_blocks_answer_in_the_error_contract(template: Any) -> None:
    bodies = _acl(template)["CustomResponseBodies"]
    for key, body in bodies.items():
        assert body["ContentType"] == "APPLICATION_JSON"
        error = json.loads(body["Content"])["error"]
        assert error["code"] == key
        assert error["message"]
