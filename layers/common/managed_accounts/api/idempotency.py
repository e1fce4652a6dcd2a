"""Repeat-safe side effects: the same call within a minute returns the first call's result.

Used where a client retry (a double click, a timeout) would otherwise repeat a side effect or turn a
success into a 409, e.g. destination requests keyed on clientId + action + address. The window is
short on purpose: after a removal, asking for the same address again must create a new request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from managed_accounts.errors import Conflict

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

REPEAT_WINDOW_SECONDS = 60


def run_once(
    persistence: BasePersistenceLayer | None,
    key_prefix: str,
    key: dict[str, str],
    run: Callable[[], dict[str, Any]],
    *,
    lambda_context: Any = None,
    window_seconds: int = REPEAT_WINDOW_SECONDS,
) -> dict[str, Any]:
    """``run()`` unless the same ``key`` ran within the window (then its stored result). Failures are
    not stored, so a retry after an error runs again. Without persistence, simply ``run()``."""
    if persistence is None:
        return run()
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    def call(*, key: dict[str, str]) -> dict[str, Any]:
        return run()

    config = IdempotencyConfig(expires_after_seconds=window_seconds)
    if lambda_context is not None:
        # An in-progress record then expires with this invocation, so a retry after a timeout runs.
        config.register_lambda_context(lambda_context)
    guarded = idempotent_function(
        data_keyword_argument="key",
        persistence_store=persistence,
        config=config,
        key_prefix=key_prefix,
    )(call)
    try:
        result: dict[str, Any] = guarded(key=key)
    except IdempotencyAlreadyInProgressError as error:
        raise Conflict("the same request is being processed; retry shortly") from error
    return result
