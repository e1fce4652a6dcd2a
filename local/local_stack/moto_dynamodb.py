"""moto's DynamoDB, made to behave as DynamoDB does under the local stack's concurrent handlers.

1. **Atomic requests.** moto's server has no locking: two requests can interleave inside one conditional
   write or transaction (and moto's transaction code then fails with "dictionary changed size during
   iteration"). ``atomic`` serialises the server's requests, as each DynamoDB request is atomic; races
   between requests stay possible, exactly as on DynamoDB.
2. **Transactions that cost what they touch.** moto backs up every table a transaction touches with a
   deep copy before applying it: a cost that grows with the table (a two-item transaction on a 16,000
   item table takes over a second), which would make the local stack's order runs crawl. Here the backup
   is of the items the transaction touches; on failure they are put back (or removed), so a cancelled
   transaction still changes nothing.
3. **Queries that read their partition.** moto answers every query by sorting the whole table, then
   filtering: 0.7 s for one client's items among 25,000. Here a query on the table reads only its
   partition key's items, and a query on an index reads the items unsorted (moto sorts the matches
   itself); results, order and paging are moto's own.

4. **Injected write failures** (tests and benchmarks only; off by default). ``POST /_local/dynamodb-faults
   {"beforeRate": r1, "afterRate": r2, "seed": n}`` makes a share of DynamoDB writes (PutItem, UpdateItem,
   DeleteItem, TransactWriteItems, BatchWriteItem) fail as DynamoDB's can: ``beforeRate`` refused before
   anything is written (ProvisionedThroughputExceededException or InternalServerError), ``afterRate``
   written and then answered InternalServerError (the caller cannot tell that it took effect).
   ``GET /_local/dynamodb-faults`` answers the settings and how many writes were failed.

Only the local stack installs this (``MotoServer.start``).
"""

from __future__ import annotations

import contextvars
import copy
import inspect
import json
import random
import threading
import types
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

_real_deepcopy = copy.deepcopy
_install_lock = threading.Lock()
_installed: list[bool] = []  # non-empty once installed

Backup = tuple[str, dict[str, Any], dict[str, Any] | None]
# While a query runs: (the table, its partition key or None for an index query).
_query_scope: contextvars.ContextVar[tuple[Any, Any] | None] = contextvars.ContextVar("query", default=None)


FAULTS_PATH = "/_local/dynamodb-faults"
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class WriteFaults:
    """Which share of DynamoDB writes fail, and how (see the module docstring, point 4)."""

    def __init__(self) -> None:
        self.before_rate = 0.0
        self.after_rate = 0.0
        self.failed: Counter[str] = Counter()
        self._rng = random.Random()  # noqa: S311 - fault injection, not security

    def as_json(self) -> dict[str, Any]:
        return {"beforeRate": self.before_rate, "afterRate": self.after_rate, "failed": dict(self.failed)}

    def update(self, body: dict[str, Any]) -> None:
        for wire, attr in (("beforeRate", "before_rate"), ("afterRate", "after_rate")):
            if wire in body:
                value = body[wire]
                if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
                    raise ValueError(f"{wire} must be a number between 0 and 1")
                setattr(self, attr, float(value))
        if "seed" in body:
            self._rng.seed(body["seed"])

    def draw(self, operation: str) -> str | None:
        """None (served normally), "before" or "after"."""
        if operation not in WRITE_OPERATIONS or not (self.before_rate or self.after_rate):
            return None
        roll = self._rng.random()
        if roll < self.before_rate:
            return "before"
        return "after" if roll < self.before_rate + self.after_rate else None


def _error(start_response: Callable[..., Any], status: str, kind: str, message: str) -> list[bytes]:
    body = json.dumps({"__type": _ERROR_PREFIX + kind, "message": message}).encode()
    start_response(
        status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
    )
    return [body]


class AtomicApp:
    """A WSGI app that serves DynamoDB requests one at a time (the body is produced inside the lock).
    Other services pass straight through: an SQS long poll must not hold DynamoDB up."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.faults = WriteFaults()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") == FAULTS_PATH:
            return self._faults_route(environ, start_response)
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("DynamoDB_"):
            return list(self._app(environ, start_response))
        operation = target.split(".", 1)[-1]
        with self._lock:
            fault = self.faults.draw(operation)
            if fault == "before":
                self.faults.failed[f"{operation} refused"] += 1
                throttled = self.faults.failed.total() % 2 == 1
                kind = "ProvisionedThroughputExceededException" if throttled else "InternalServerError"
                status = "400 Bad Request" if throttled else "500 Internal Server Error"
                return _error(start_response, status, kind, "injected before the write")
            if fault == "after":
                list(self._app(environ, lambda *_: None))  # written; the answer is lost
                self.faults.failed[f"{operation} written, answer lost"] += 1
                return _error(start_response, "500 Internal Server Error", "InternalServerError", "injected")
            return list(self._app(environ, start_response))

    def _faults_route(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                self.faults.update(json.loads(environ["wsgi.input"].read(length) or b"{}"))
            except (ValueError, TypeError) as error:
                return _error(start_response, "400 Bad Request", "ValidationException", str(error))
        body = json.dumps(self.faults.as_json()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def install_item_level_transactions() -> None:
    """Patch moto's DynamoDB backend (once per process); see the module docstring."""
    with _install_lock:
        if _installed:
            return
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table

        def deepcopy_except_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
            return value if isinstance(value, Table) else _real_deepcopy(value, memo)

        # The module's own name for ``copy``: its whole-table backup becomes the table itself (restoring
        # "from" it is then a no-op), while every other deep copy in the module stays a real one.
        setattr(models, "copy", types.SimpleNamespace(deepcopy=deepcopy_except_tables))  # noqa: B010
        original = models.DynamoDBBackend.transact_write_items

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            backups = _backup(self, transact_items)
            try:
                original(self, transact_items)
            except Exception:
                _restore(self, backups)
                raise

        setattr(models.DynamoDBBackend, "transact_write_items", transact_write_items)  # noqa: B010
        _install_partition_queries(Table)
        _installed.append(True)


def _install_partition_queries(table_class: Any) -> None:
    all_items, query = table_class.all_items, table_class.query

    def scoped_all_items(self: Any) -> list[Any]:
        scope = _query_scope.get()
        if scope is None or scope[0] is not self:
            return list(all_items(self))  # scans keep moto's sorted order (their paging relies on it)
        partition = scope[1]
        if partition is None:  # an index query: moto filters and sorts the matches itself
            buckets = self.items.values()
            return [i for b in buckets for i in (b.values() if self.range_key_attr else [b])]
        bucket = self.items.get(partition)
        if bucket is None:
            return []
        return list(bucket.values()) if self.range_key_attr else [bucket]

    signature = inspect.signature(query)

    def scoped_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        token = _query_scope.set((self, None if bound.get("index_name") else bound.get("hash_key")))
        try:
            return query(self, *args, **kwargs)
        finally:
            _query_scope.reset(token)

    setattr(table_class, "all_items", scoped_all_items)  # noqa: B010
    setattr(table_class, "query", scoped_query)  # noqa: B010


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _backup(backend: Any, transact_items: list[dict[str, Any]]) -> list[Backup]:
    saved: list[Backup] = []
    for entry in transact_items:
        nothing: tuple[str, dict[str, Any]] = ("", {})
        op_type, op = next(iter(entry.items()), nothing)
        if op_type not in ("Put", "Update", "Delete"):
            continue
        try:
            key = _key_of(backend, op_type, op)
            current = backend.get_item(op["TableName"], key)
        except Exception:  # noqa: S112 - a malformed entry: moto's own validation refuses it
            continue
        attributes = _real_deepcopy(current.to_json()["Attributes"]) if current is not None else None
        saved.append((op["TableName"], key, attributes))
    return saved


def _restore(backend: Any, saved: list[Backup]) -> None:
    for table_name, key, attributes in reversed(saved):
        if attributes is not None:
            backend.put_item(table_name, _real_deepcopy(attributes))
        elif backend.get_item(table_name, key) is not None:
            backend.delete_item(table_name, key)
