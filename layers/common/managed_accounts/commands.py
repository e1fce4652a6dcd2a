"""Client commands with side effects, made repeat-safe (DESIGN.md §4 "Idempotent client calls").

- With an ``Idempotency-Key``: Powertools ``idempotent_function`` on the command, keyed on client and
  key. The same key with the same body returns the stored answer; with another body it is a 422; while
  the first call is still running, a 409. Answers are kept for a day.
- Without a key, the domain decides: a repeat is answered from the earlier request only while that
  request is pending (``DestinationService``). A request made after it resolved is a new request.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel, ConfigDict

from managed_accounts.api.models import DestinationRequestOut
from managed_accounts.domain.destinations import DestinationService
from managed_accounts.errors import InvalidInput, RequestInProgress

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

KEEP_ANSWERS_SECONDS = 24 * 3600
_KEY = re.compile(r"[\x21-\x7e]{1,128}")


def checked_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header: 1–128 printable ASCII characters, or absent."""
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        raise InvalidInput("Idempotency-Key must be 1-128 printable ASCII characters")
    return value


class DestinationCommand(BaseModel):
    """What identifies a call (client + key) and what must be the same on a repeat (the body)."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    idempotency_key: str
    action: Literal["add", "remove"]
    address: str
    label: str | None = None


class DestinationCommands:
    def __init__(self, service: DestinationService, persistence: BasePersistenceLayer) -> None:
        self._service = service
        self._config = IdempotencyConfig(
            event_key_jmespath="[client_id, idempotency_key]",
            payload_validation_jmespath="[action, address, label]",
            expires_after_seconds=KEEP_ANSWERS_SECONDS,
        )
        self._run_once = idempotent_function(
            data_keyword_argument="command",
            persistence_store=persistence,
            config=self._config,
            output_serializer=PydanticSerializer(model=DestinationRequestOut),
            key_prefix="destination-command",
        )(self._run)

    def request_destination(
        self, client_id: str, address: str, label: str | None, *, key: str | None, context: Any = None
    ) -> DestinationRequestOut:
        return self._dispatch(client_id, "add", address, label, key=key, context=context)

    def request_removal(
        self, client_id: str, address: str, *, key: str | None, context: Any = None
    ) -> DestinationRequestOut:
        return self._dispatch(client_id, "remove", address, None, key=key, context=context)

    def _dispatch(
        self,
        client_id: str,
        action: Literal["add", "remove"],
        address: str,
        label: str | None,
        *,
        key: str | None,
        context: Any,
    ) -> DestinationRequestOut:
        command = DestinationCommand(
            client_id=client_id, idempotency_key=key or "", action=action, address=address, label=label
        )
        if key is None:
            return self._run(command=command)
        if context is not None:
            # An in-progress record then expires with this invocation, so a retry after a timeout runs.
            self._config.register_lambda_context(context)
        try:
            result: DestinationRequestOut = self._run_once(command=command)
        except IdempotencyValidationError as error:
            raise InvalidInput("this Idempotency-Key was used with another body") from error
        except IdempotencyAlreadyInProgressError as error:
            raise RequestInProgress("the same request is being processed; retry shortly") from error
        return result

    def _run(self, *, command: DestinationCommand) -> DestinationRequestOut:
        if command.action == "add":
            request = self._service.request_destination(command.client_id, command.address, command.label)
        else:
            request = self._service.request_removal(command.client_id, command.address)
        return DestinationRequestOut.of(request)
