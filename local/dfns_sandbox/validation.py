"""Validation of policy bodies (DFNS.md §4.3–4.5): every object rejects unknown fields, like Dfns's
``additionalProperties: false``. The sandbox supports the rules this product uses; other kinds get 400.
"""

from __future__ import annotations

from typing import Any

from dfns_sandbox.errors import bad_request, reject_unknown
from dfns_sandbox.store import Json

SIGN_RULES = {
    "AlwaysTrigger",
    "TransactionRecipientWhitelist",
    "TransactionAmountLimit",
    "TransactionAmountVelocity",
    "TransactionCountVelocity",
}
ACTIVITIES: dict[str, tuple[set[str], set[str], str | None]] = {
    # activityKind → (rule kinds, action kinds, the filter key it takes)
    "Wallets:Sign": (SIGN_RULES, {"Block", "RequestApproval", "NoAction"}, None),
    "Policies:Modify": ({"AlwaysTrigger"}, {"RequestApproval"}, "policyId"),
    "Permissions:Modify": ({"AlwaysTrigger"}, {"Block", "RequestApproval"}, "permissionId"),
    "Permissions:Assign": ({"AlwaysTrigger"}, {"Block", "RequestApproval"}, "permissionId"),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ids(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be an object with 'in'", field=where)
    reject_unknown(value, {"in"}, where)
    ids = value.get("in")
    if (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= 100
        or not all(isinstance(i, str) and i for i in ids)
    ):
        raise bad_request(f"{where}.in must list 1 to 100 ids", field=where)


def _configuration(kind: str, config: Any) -> None:
    if not isinstance(config, dict):
        raise bad_request("rule.configuration must be an object", field="rule.configuration")
    fields = {
        "AlwaysTrigger": set(),
        "TransactionRecipientWhitelist": {"addresses"},
        "TransactionAmountLimit": {"limit", "currency"},
        "TransactionAmountVelocity": {"limit", "currency", "timeframe"},
        "TransactionCountVelocity": {"limit", "timeframe"},
    }[kind]
    reject_unknown(config, fields, "rule.configuration")
    missing = sorted(fields - set(config))
    if missing:
        raise bad_request(f"rule.configuration is missing {', '.join(missing)}", fields=missing)
    if kind == "TransactionRecipientWhitelist":
        addresses = config["addresses"]
        if not isinstance(addresses, list) or not all(isinstance(a, str) and a for a in addresses):
            raise bad_request(
                "addresses must be a list of non-empty strings", field="rule.configuration.addresses"
            )
    if "limit" in config and (not _is_number(config["limit"]) or config["limit"] < 0):
        raise bad_request("limit must be a non-negative number", field="rule.configuration.limit")
    if "currency" in config and config["currency"] != "USD":
        raise bad_request("currency must be USD", field="rule.configuration.currency")
    if "timeframe" in config and not (_is_int(config["timeframe"]) and 1 <= config["timeframe"] <= 43200):
        raise bad_request(
            "timeframe must be an integer of minutes, 1 to 43200", field="rule.configuration.timeframe"
        )


def _approval_group(group: Any, index: int) -> None:
    where = f"action.approvalGroups[{index}]"
    if not isinstance(group, dict):
        raise bad_request(f"{where} must be an object", field=where)
    reject_unknown(
        group, {"name", "quorum", "approvers", "initiatorCanApprove", "serviceAccountsCanApprove"}, where
    )
    if not (_is_int(group.get("quorum")) and group["quorum"] >= 1):
        raise bad_request(f"{where}.quorum must be an integer >= 1", field=f"{where}.quorum")
    if "name" in group and not isinstance(group["name"], str):
        raise bad_request(f"{where}.name must be a string", field=f"{where}.name")
    for flag in ("initiatorCanApprove", "serviceAccountsCanApprove"):
        if flag in group and not isinstance(group[flag], bool):
            raise bad_request(f"{where}.{flag} must be a boolean", field=f"{where}.{flag}")
    approvers = group.get("approvers")
    if not isinstance(approvers, dict):
        raise bad_request(f"{where}.approvers is required ({{}} means anyone)", field=f"{where}.approvers")
    reject_unknown(approvers, {"userId"}, f"{where}.approvers")
    if "userId" in approvers:
        _ids(approvers["userId"], f"{where}.approvers.userId")


def _action(action: Any, allowed: set[str], activity: str) -> None:
    if not isinstance(action, dict) or action.get("kind") not in {"Block", "RequestApproval", "NoAction"}:
        raise bad_request("action.kind must be Block, RequestApproval or NoAction", field="action.kind")
    if action["kind"] not in allowed:
        raise bad_request(f"{activity} does not allow action {action['kind']}", field="action.kind")
    if action["kind"] in {"Block", "NoAction"}:
        reject_unknown(action, {"kind"}, "action")
        return
    reject_unknown(action, {"kind", "approvalGroups", "autoRejectTimeout"}, "action")
    groups = action.get("approvalGroups")
    if not isinstance(groups, list) or not groups:
        raise bad_request("action.approvalGroups needs at least one group", field="action.approvalGroups")
    for index, group in enumerate(groups):
        _approval_group(group, index)
    timeout = action.get("autoRejectTimeout")
    if timeout is not None and not (_is_int(timeout) and timeout >= 1):
        raise bad_request(
            "autoRejectTimeout must be an integer >= 1 (minutes) or null", field="action.autoRejectTimeout"
        )


def _filters(filters: Any, activity: str, filter_key: str | None) -> None:
    if not isinstance(filters, dict):
        raise bad_request("filters must be an object", field="filters")
    if activity == "Wallets:Sign":
        reject_unknown(filters, {"walletId", "walletTags"}, "filters")
        if "walletId" in filters:
            _ids(filters["walletId"], "filters.walletId")
        tags = filters.get("walletTags")
        if tags is not None:
            if not isinstance(tags, dict) or not tags:
                raise bad_request("filters.walletTags needs hasAny and/or hasAll", field="filters.walletTags")
            reject_unknown(tags, {"hasAny", "hasAll"}, "filters.walletTags")
            for key, value in tags.items():
                if (
                    not isinstance(value, list)
                    or not 1 <= len(value) <= 100
                    or not all(isinstance(t, str) for t in value)
                ):
                    raise bad_request(
                        f"filters.walletTags.{key} must list 1 to 100 tags", field=f"filters.walletTags.{key}"
                    )
        return
    assert filter_key is not None
    reject_unknown(filters, {filter_key}, "filters")
    if filter_key not in filters:
        raise bad_request(
            f"filters.{filter_key} is required when filters are given", field=f"filters.{filter_key}"
        )
    _ids(filters[filter_key], f"filters.{filter_key}")


def validate_policy_body(body: Json) -> Json:
    """The normalised body (name, activityKind, rule, action, filters?) or a 400 naming the problem."""
    reject_unknown(body, {"name", "activityKind", "rule", "action", "filters"})
    for key in ("name", "activityKind", "rule", "action"):
        if key not in body:
            raise bad_request(f"{key} is required", field=key)
    if not isinstance(body["name"], str) or not body["name"]:
        raise bad_request("name must be a non-empty string", field="name")
    activity = body["activityKind"]
    if activity not in ACTIVITIES:
        raise bad_request(f"activityKind must be one of {', '.join(ACTIVITIES)}", field="activityKind")
    rules, actions, filter_key = ACTIVITIES[activity]
    rule = body["rule"]
    if not isinstance(rule, dict) or rule.get("kind") not in rules:
        raise bad_request(
            f"rule.kind must be one of {', '.join(sorted(rules))} for {activity}", field="rule.kind"
        )
    reject_unknown(rule, {"kind", "configuration"}, "rule")
    rule = {"kind": rule["kind"], "configuration": rule.get("configuration", {})}
    _configuration(rule["kind"], rule["configuration"])
    _action(body["action"], actions, activity)
    normalised: Json = {
        "name": body["name"],
        "activityKind": activity,
        "rule": rule,
        "action": body["action"],
    }
    if body.get("filters") is not None:
        _filters(body["filters"], activity, filter_key)
        normalised["filters"] = body["filters"]
    return normalised
