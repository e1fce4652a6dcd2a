"""A WAFv2 web ACL on the API stage: per-IP rate limits, body-size limits per route class, AWS managed rules.

Client routes carry small JSON bodies: anything over ``CLIENT_BODY_LIMIT`` is blocked (413). Dfns webhook
deliveries can be much larger (an approval carries a whole policy): the webhook route is exempt from that
limit and capped at ``WEBHOOK_BODY_LIMIT`` instead. WAF inspects only the first 16 KB of an API Gateway
body, so the webhook cap is checked on the declared ``Content-Length``; the handler enforces the same
256 KiB bound on the bytes it receives (a chunked request has no Content-Length). Blocks answer in the
product's error shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.constants import SERVICE_NAME

RATE_LIMIT_PER_5_MIN = 2000  # per client IP, client routes
WEBHOOK_RATE_LIMIT_PER_5_MIN = 10_000  # per IP: Dfns delivers every client's events from a few addresses
CLIENT_BODY_LIMIT = 8 * 1024  # bytes; the largest client body (a destination request) is well under 1 KB
WEBHOOK_BODY_LIMIT = 256 * 1024  # bytes; api/webhook_signature.MAX_BODY_BYTES, the handler's own bound

_TOO_LARGE, _TOO_MANY = "payload_too_large", "rate_limited"
_BODIES = {
    _TOO_LARGE: "the request body is too large",
    _TOO_MANY: "too many requests from this address; retry later",
}


def greater_than_pattern(limit: int) -> str:
    """A regex matching exactly the decimal integers above ``limit`` (WAF regex: no lookarounds)."""
    digits = str(limit)
    width = len(digits)
    options = [rf"[1-9]\d{{{width},}}"]  # more digits than the limit
    for i, digit in enumerate(digits):
        if digit != "9":
            rest = width - i - 1
            options.append(digits[:i] + f"[{int(digit) + 1}-9]" + (rf"\d{{{rest}}}" if rest else ""))
    return "^0*(" + "|".join(options) + ")$"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _block(status: int, body: str) -> wafv2.CfnWebACL.RuleActionProperty:
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=status, custom_response_body_key=body
            )
        )
    )


def _managed(priority: int, name: str, *, count_only: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in count_only
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


def _webhook_statement(paths: Sequence[str]) -> wafv2.CfnWebACL.StatementProperty:
    # Ends-with: the path WAF sees starts with the stage name (or a custom domain's base path).
    matches = [
        wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="ENDS_WITH",
                search_string=path,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        for path in paths
    ]
    if len(matches) == 1:
        return matches[0]
    return wafv2.CfnWebACL.StatementProperty(
        or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=matches)
    )


def _and(*statements: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=list(statements))
    )


def _not(statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=statement)
    )


def _rate(
    name: str, priority: int, limit: int, scope: wafv2.CfnWebACL.StatementProperty
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=_block(429, _TOO_MANY),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP", limit=limit, scope_down_statement=scope
            )
        ),
        visibility_config=_visibility(name),
    )


class WebAclConstruct(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: apigateway.Stage, webhook_paths: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        webhook = _webhook_statement(webhook_paths)
        client_body_too_large = wafv2.CfnWebACL.StatementProperty(
            size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                # A body beyond what WAF inspects counts as a match: too large by definition.
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                    body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                ),
                comparison_operator="GT",
                size=CLIENT_BODY_LIMIT,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        webhook_body_too_large = wafv2.CfnWebACL.StatementProperty(
            regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": "content-length"}),
                regex_string=greater_than_pattern(WEBHOOK_BODY_LIMIT),
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{SERVICE_NAME}-{stage.stage_name}"),
            custom_response_bodies={
                key: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=json.dumps({"error": {"code": key, "message": message}}, separators=(",", ":")),
                )
                for key, message in _BODIES.items()
            },
            rules=[
                _rate("RatePerIp", 0, RATE_LIMIT_PER_5_MIN, _not(webhook)),
                _rate("WebhookRatePerIp", 1, WEBHOOK_RATE_LIMIT_PER_5_MIN, webhook),
                wafv2.CfnWebACL.RuleProperty(
                    name="ClientBodySize",
                    priority=2,
                    action=_block(413, _TOO_LARGE),
                    statement=_and(_not(webhook), client_body_too_large),
                    visibility_config=_visibility("ClientBodySize"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="WebhookBodySize",
                    priority=3,
                    action=_block(413, _TOO_LARGE),
                    statement=_and(webhook, webhook_body_too_large),
                    visibility_config=_visibility("WebhookBodySize"),
                ),
                # The common set's own 8 KB body rule would block every route alike, webhook included: it
                # only counts here, the two rules above enforce the limit of each route class.
                _managed(4, "AWSManagedRulesCommonRuleSet", count_only=("SizeRestrictions_BODY",)),
                _managed(5, "AWSManagedRulesKnownBadInputsRuleSet"),
            ],
        )
        association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        # The stage ARN is a formatted string, not a reference: without this, CloudFormation may try to
        # associate the ACL before the stage exists.
        association.node.add_dependency(stage)
