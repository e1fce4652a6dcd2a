"""An in-memory Powertools idempotency store, with the DynamoDB store's write rule: a record is replaced
only once it expired (or, in progress, once its invocation's time ran out). The handler tests run the
same idempotency scenarios on both stores (tests/unit/api/test_destination_idempotency.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord


class MemoryPersistenceLayer(BasePersistenceLayer):
    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.records: dict[str, DataRecord] = {}
        self._lock = threading.Lock()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        record = self.records.get(idempotency_key)
        if record is None:
            raise IdempotencyItemNotFoundError
        return record

    def _put_record(self, data_record: DataRecord) -> None:
        with self._lock:
            existing = self.records.get(data_record.idempotency_key)
            if existing is not None and not _replaceable(existing):
                self._validate_payload(data_payload=data_record, stored_data_record=existing)
                raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
            self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.records.pop(data_record.idempotency_key, None)


def _replaceable(record: DataRecord) -> bool:
    now = datetime.now(UTC).timestamp()
    if record.expiry_timestamp is not None and record.expiry_timestamp < int(now):
        return True
    return (
        record.status == STATUS_CONSTANTS["INPROGRESS"]
        and record.in_progress_expiry_timestamp is not None
        and record.in_progress_expiry_timestamp < int(now * 1000)
    )
