"""Reading the synthesised template: resources by type, and the IAM statements of each function's role."""

from __future__ import annotations

from typing import Any


def resources(template: Any, resource_type: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(resource_type)
    return found


def function_by_handler(template: Any, description_suffix: str) -> tuple[str, dict[str, Any]]:
    """The function whose description ends with ``<folder>/<handler>`` (set by FunctionsConstruct)."""
    matches = [
        (logical_id, body)
        for logical_id, body in resources(template, "AWS::Lambda::Function").items()
        if body["Properties"].get("Description", "").endswith(description_suffix)
    ]
    assert len(matches) == 1, f"expected one function for {description_suffix}, found {len(matches)}"
    return matches[0]


def role_statements(template: Any, function_id: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to the function's role."""
    function = resources(template, "AWS::Lambda::Function")[function_id]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    role = resources(template, "AWS::IAM::Role")[role_id]
    assert not role["Properties"].get("ManagedPolicyArns"), "function roles carry no managed policy"
    for inline in role["Properties"].get("Policies", []):
        statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def references(value: Any) -> set[str]:
    """Logical ids a value points at through Ref / Fn::GetAtt."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found
