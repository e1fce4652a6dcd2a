"""A DynamoDB write applied whose answer is lost, as the SDK's retries meet it."""

from __future__ import annotations

from typing import Any


class AnswerLost:
    """Wraps a boto3 ``Table`` or client: each write is applied, then its answer lost. The SDK retries the
    same request, which meets the first attempt's write (a conditional write fails its own condition);
    with ``retries_fail``, every retry fails instead, and the caller gets the error."""

    WRITES = ("put_item", "transact_write_items")

    def __init__(self, target: Any, *, retries_fail: bool = False) -> None:
        self._target = target
        self._retries_fail = retries_fail
        self.retries = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)
        if name not in self.WRITES:
            return method

        def applied_then_retried(**kwargs: Any) -> Any:
            method(**kwargs)
            self.retries += 1
            if self._retries_fail:
                raise RuntimeError("InternalServerError (reached max retries)")
            return method(**kwargs)

        return applied_then_retried
