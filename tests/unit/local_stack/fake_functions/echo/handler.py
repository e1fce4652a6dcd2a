"""A stand-in Lambda handler for the invoker tests: echoes what Lambda would have handed it."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "functionName": context.function_name,
        "requestId": context.aws_request_id,
        "remainingMs": context.get_remaining_time_in_millis(),
    }


def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import not_a_module_anywhere  # type: ignore[import-not-found]  # noqa: F401

    return {}
