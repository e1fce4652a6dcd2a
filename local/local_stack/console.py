"""What the local stack shows on its console, and where everything else goes.

The console shows one short line per API request (``POST /accounts 201 84ms``), one per Dfns webhook
delivery received (``webhook policy.approval.resolved 200 31ms``), the product's domain events as
they are published (``DestinationApproved alice 0x5290…``), start-up and shutdown, and warnings.

The full logs go to ``<state dir>/stack.log``: the handlers' Powertools JSON lines (every Dfns call
among them), their EMF metrics, the Dfns sandbox's, moto's and the stack's own records. With
``--verbose`` they go to the console as well.

Powertools' ``Logger`` writes through a ``StreamHandler`` of its own, bound to ``sys.stdout`` when the
product's ``observability`` module is imported, and ``Metrics`` ``print()`` their EMF documents: so in
the stack's process (and only there) ``route_logs`` points that handler's stream, and ``sys.stdout``,
at the log file (or at the file and the console). The product package is not changed for this.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO, cast

CONSOLE_LOGGER = "local_stack.console"
PRODUCT_LOGGER = "managed-accounts"  # Powertools Logger(service=...) logs under the service name
LOG_FILE = "stack.log"
FULL_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Chatty libraries: their INFO lines add nothing (the product logs its own Dfns calls).
QUIET_LIBRARIES = ("werkzeug", "httpx", "botocore", "urllib3")
# Loggers whose warnings are the libraries' business (Powertools' "no metrics to publish" arrives as a
# Python warning): the log file has them, the console only their errors.
FILE_ONLY_WARNINGS = ("py.warnings",)

console = logging.getLogger(CONSOLE_LOGGER)


# --- the short lines ------------------------------------------------------------------------------


def request_line(method: str, path: str, status: int, elapsed_ms: float) -> str:
    return f"{method} {path} {status} {elapsed_ms:.0f}ms"


def webhook_line(kind: str | None, status: int, elapsed_ms: float) -> str:
    return f"webhook {kind or '?'} {status} {elapsed_ms:.0f}ms"


def webhook_kind(body: bytes) -> str | None:
    """The ``kind`` of a Dfns webhook delivery, when the body is the JSON object Dfns sends."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    kind = payload.get("kind") if isinstance(payload, dict) else None
    return kind if isinstance(kind, str) else None


# The fields of a domain event's detail that tell the story, in order, and how each is shown
# (None: the bare value). The rest (labels, timestamps, batch ids) is in the log file.
_EVENT_FIELDS: dict[str, str | None] = {
    "address": None,
    "walletId": "wallet",
    "approvalId": "approval",
    "driftKind": "drift",
    "orderId": "order",
    "reason": "reason",
}


def event_line(event: Mapping[str, Any]) -> str:
    """``DestinationApproved alice 0x5290… approval=ap-…`` from a domain event (its ``type``,
    ``clientId`` and detail, as the bus delivers them)."""
    parts = [str(event.get("type") or "?"), str(event.get("clientId") or "-")]
    if event.get("action") == "remove":
        parts.append("removal of")
    for name, label in _EVENT_FIELDS.items():
        value = event.get(name)
        if value in (None, ""):
            continue
        parts.append(str(value) if label is None else f"{label}={value}")
    return " ".join(parts)


# --- routing --------------------------------------------------------------------------------------


def _under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + ".")


class ConsoleFilter(logging.Filter):
    """Which records reach the console's handler.

    Default: the short lines (``local_stack.console``), and warnings from everything else except the
    product, whose own handler writes its JSON (only its errors appear, as one short line). Verbose:
    everything except the product's records, which its own handler already writes to the console.
    """

    def __init__(self, *, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if _under(record.name, PRODUCT_LOGGER):
            return not self.verbose and record.levelno >= logging.ERROR
        if self.verbose or _under(record.name, CONSOLE_LOGGER):
            return True
        if any(_under(record.name, name) for name in FILE_ONLY_WARNINGS):
            return record.levelno >= logging.ERROR
        return record.levelno >= logging.WARNING


class NotProductFilter(logging.Filter):
    """For the log file's handler: the product's records reach the file through its own handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _under(record.name, PRODUCT_LOGGER)


class ShortFormatter(logging.Formatter):
    """``12:00:01 POST /accounts 201 84ms``; other records as ``12:00:01 WARNING name: message`` and,
    since the console has no room for them, without tracebacks (those are in the log file)."""

    def __init__(self, log_path: Path | None = None) -> None:
        super().__init__(datefmt="%H:%M:%S")
        self.log_path = log_path

    def format(self, record: logging.LogRecord) -> str:
        when = self.formatTime(record, self.datefmt)
        message = record.getMessage()
        if _under(record.name, CONSOLE_LOGGER) and record.levelno < logging.WARNING:
            return f"{when} {message}"
        line = f"{when} {record.levelname} {record.name}: {message}"
        if record.exc_info and self.log_path is not None:
            line += f" (details in {self.log_path})"
        return line


class Tee(io.TextIOBase):
    """A text stream that writes to several (the console and the log file, with ``--verbose``)."""

    def __init__(self, *streams: TextIO) -> None:
        super().__init__()
        self._streams = streams
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            for stream in self._streams:
                stream.write(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            for stream in self._streams:
                stream.flush()

    def writable(self) -> bool:
        return True


class LogRouting:
    """The logging set-up of one ``managed-accounts run``; ``close()`` undoes it."""

    def __init__(self, log_path: Path, *, verbose: bool, console_stream: TextIO) -> None:
        self.log_path = log_path
        self.verbose = verbose
        self.console_stream = console_stream
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = log_path.open("w", encoding="utf-8", buffering=1)
        # Where the product's JSON and every print() go.
        self.full_stream: TextIO = cast(TextIO, Tee(console_stream, self._file)) if verbose else self._file
        self._handlers: list[logging.Handler] = []
        self._saved_stdout: Any = None
        self._product_handler: logging.StreamHandler[Any] | None = None
        self._product_stream: Any = None
        self._levels: dict[str, int] = {}

    def install(self) -> LogRouting:
        root = logging.getLogger()
        self._levels[""] = root.level
        root.setLevel(logging.INFO)
        file_handler = logging.StreamHandler(self._file)
        file_handler.setFormatter(logging.Formatter(FULL_FORMAT))
        file_handler.addFilter(NotProductFilter())
        console_handler = logging.StreamHandler(self.console_stream)
        console_handler.setFormatter(
            logging.Formatter(FULL_FORMAT) if self.verbose else ShortFormatter(self.log_path)
        )
        console_handler.addFilter(ConsoleFilter(verbose=self.verbose))
        for handler in (file_handler, console_handler):
            root.addHandler(handler)
            self._handlers.append(handler)
        for name in QUIET_LIBRARIES:
            self._levels[name] = logging.getLogger(name).level
            logging.getLogger(name).setLevel(logging.WARNING)
        logging.captureWarnings(True)  # Powertools' "no metrics to publish" and the like: to the file
        self._route_product_logger()
        self._saved_stdout = sys.stdout
        sys.stdout = self.full_stream  # EMF metrics are print()ed
        return self

    def _route_product_logger(self) -> None:
        """Point the handler Powertools' Logger writes through at the log file (or the tee)."""
        from managed_accounts.observability import logger  # importing it creates the handler

        handler = logger.registered_handler
        if isinstance(handler, logging.StreamHandler):
            self._product_handler = handler
            self._product_stream = handler.setStream(self.full_stream)

    def close(self) -> None:
        if self._saved_stdout is not None:
            sys.stdout = self._saved_stdout
            self._saved_stdout = None
        if self._product_handler is not None and self._product_stream is not None:
            self._product_handler.setStream(self._product_stream)
        self._product_handler = None
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
        self._handlers.clear()
        for name, level in self._levels.items():
            logging.getLogger(name or None).setLevel(level)
        logging.captureWarnings(False)
        self._file.close()


def route_logs(state_dir: Path, *, verbose: bool, console_stream: TextIO | None = None) -> LogRouting:
    """Short lines to the console, full logs to ``<state_dir>/stack.log`` (and the console if verbose)."""
    stream = console_stream if console_stream is not None else sys.stdout
    return LogRouting(state_dir / LOG_FILE, verbose=verbose, console_stream=stream).install()
