"""Re-serialised policies: the same content written the way another server (or a later Dfns) might.

With ``SandboxConfig(reserialize_policies=True)`` or ``POST /sandbox/faults {"reserialize": true}`` the
sandbox stores and returns every policy (and change-request body) with:
- whole numbers as integers (``10000.0`` → ``10000``), other numbers untouched;
- defaults written out: ``initiatorCanApprove: false`` and ``serviceAccountsCanApprove: false`` in each
  approval group, ``autoRejectTimeout: null`` on ``RequestApproval``, ``configuration: {}`` on a rule;
- object keys in reverse alphabetical order;
- lists reordered: strings sorted in reverse, objects in reverse order of their JSON text.

A client that compares what it wants with what it reads must see no difference (the product's bootstrap
proposes no change on a second run): semantic equality, not byte or order equality.
"""

from __future__ import annotations

import json
from typing import Any

from dfns_sandbox.store import Json

_GROUP_DEFAULTS = {"initiatorCanApprove": False, "serviceAccountsCanApprove": False}


def reorder(value: Any) -> Any:
    """Whole floats as ints, keys in reverse order, lists reordered (deterministically), recursively."""
    if isinstance(value, dict):
        return {key: reorder(value[key]) for key in sorted(value, reverse=True)}
    if isinstance(value, list):
        items = [reorder(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True), reverse=True)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def with_defaults(rule: Json, action: Json) -> tuple[Json, Json]:
    """The rule and action with the defaults Dfns would echo written out."""
    rule = {"configuration": {}, **rule}
    if action.get("kind") != "RequestApproval":
        return rule, action
    groups = [{**_GROUP_DEFAULTS, **group} for group in action.get("approvalGroups", [])]
    return rule, {"autoRejectTimeout": None, **action, "approvalGroups": groups}


def policy_parts(rule: Json, action: Json, filters: Json | None) -> tuple[Json, Json, Json | None]:
    """What the sandbox stores in this mode."""
    rule, action = with_defaults(rule, action)
    return reorder(rule), reorder(action), None if filters is None else reorder(filters)
