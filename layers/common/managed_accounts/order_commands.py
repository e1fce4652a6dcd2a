"""The orders API's commands with side effects, made repeat-safe like ``commands.py``.

With an ``Idempotency-Key``: Powertools ``idempotent_function`` keyed on the caller and the key; the
same key with the same body returns the stored answer, another body is a 422, and a call still running
is a 409. Without a key the commands are safe to repeat by design: authorising the same exchange again
changes nothing, revoking twice is revoking once, and an order run with an existing run id is replayed
idempotently (without a run id, a repeat starts a new run: send a key or a run id to retry safely).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel, ConfigDict

from managed_accounts.api.orders_models import MandateOut, RunReportOut
from managed_accounts.commands import KEEP_ANSWERS_SECONDS
from managed_accounts.domain.trading_service import TradingService
from managed_accounts.errors import InvalidInput, RequestInProgress

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

M = TypeVar("M", bound=BaseModel)


class MandateCommand(BaseModel):
    model_config = ConfigDict(frozen=True)

    client_id: str
    idempotency_key: str
    action: Literal["authorise", "revoke"]
    exchange: str | None = None
    asset: str | None = None
    amount_per_run: str | None = None


class RunCommand(BaseModel):
    model_config = ConfigDict(frozen=True)

    operator_id: str
    idempotency_key: str
    run_id: str | None = None


class _Idempotent(Generic[M]):
    """``run`` once per caller and key (Powertools idempotency); straight through without a key."""

    def __init__(
        self,
        run: Callable[..., M],
        persistence: BasePersistenceLayer,
        *,
        key: str,
        payload: str,
        model: type[M],
        prefix: str,
    ) -> None:
        self._run = run
        self._config = IdempotencyConfig(
            event_key_jmespath=key,
            payload_validation_jmespath=payload,
            expires_after_seconds=KEEP_ANSWERS_SECONDS,
        )
        self._run_once = idempotent_function(
            data_keyword_argument="command",
            persistence_store=persistence,
            config=self._config,
            output_serializer=PydanticSerializer(model=model),
            key_prefix=prefix,
        )(run)

    def __call__(self, command: BaseModel, key: str | None, context: Any) -> M:
        if key is None:
            return self._run(command=command)
        if context is not None:
            # An in-progress record then expires with this invocation, so a retry after a timeout runs.
            self._config.register_lambda_context(context)
        try:
            result: M = self._run_once(command=command)
        except IdempotencyValidationError as error:
            raise InvalidInput("this Idempotency-Key was used with another body") from error
        except IdempotencyAlreadyInProgressError as error:
            raise RequestInProgress("the same request is being processed; retry shortly") from error
        return result


class TradingCommands:
    def __init__(self, service: TradingService, persistence: BasePersistenceLayer) -> None:
        self._service = service
        self._mandate_once = _Idempotent(
            self._mandate,
            persistence,
            key="[client_id, idempotency_key]",
            payload="[action, exchange, asset, amount_per_run]",
            model=MandateOut,
            prefix="trading-authorization",
        )
        self._run_once = _Idempotent(
            self._run,
            persistence,
            key="[operator_id, idempotency_key]",
            payload="[run_id]",
            model=RunReportOut,
            prefix="order-run",
        )

    def authorise(
        self,
        client_id: str,
        exchange: str,
        asset: str,
        amount_per_run: str,
        *,
        key: str | None,
        context: Any = None,
    ) -> MandateOut:
        command = MandateCommand(
            client_id=client_id,
            idempotency_key=key or "",
            action="authorise",
            exchange=exchange,
            asset=asset,
            amount_per_run=amount_per_run,
        )
        return self._mandate_once(command, key, context)

    def revoke(self, client_id: str, *, key: str | None, context: Any = None) -> MandateOut:
        command = MandateCommand(client_id=client_id, idempotency_key=key or "", action="revoke")
        return self._mandate_once(command, key, context)

    def start_run(
        self, operator_id: str, run_id: str | None, *, key: str | None, context: Any = None
    ) -> RunReportOut:
        command = RunCommand(operator_id=operator_id, idempotency_key=key or "", run_id=run_id)
        return self._run_once(command, key, context)

    def _mandate(self, *, command: MandateCommand) -> MandateOut:
        if command.action == "revoke":
            return MandateOut.of(self._service.revoke(command.client_id))
        exchange, asset, amount = command.exchange or "", command.asset or "", command.amount_per_run or ""
        return MandateOut.of(self._service.authorise(command.client_id, exchange, asset, amount))

    def _run(self, *, command: RunCommand) -> RunReportOut:
        report, replayed = self._service.start_run(command.run_id, operator_id=command.operator_id)
        return RunReportOut.of(report, replayed=replayed)
