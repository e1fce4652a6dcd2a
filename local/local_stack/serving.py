"""Threaded WSGI servers on loopback, and the port check that runs before anything starts."""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

LOOPBACK = "127.0.0.1"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PortInUse(Exception):
    """A port the stack needs is taken by another process."""

    def __init__(self, name: str, port: int) -> None:
        super().__init__(f"port {port} ({name}) is already in use on {LOOPBACK}")
        self.name = name
        self.port = port


def ensure_ports_free(ports: dict[str, int], host: str = LOOPBACK) -> None:
    """Raise ``PortInUse`` for the first fixed port that cannot be bound (0 means "any free port").

    Binds with SO_REUSEADDR, as werkzeug does, so a port in TIME_WAIT from a previous run is free.
    """
    for name, port in ports.items():
        if port == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    raise PortInUse(name, port) from exc
                raise


access_log = logging.getLogger("local_stack.access")


class _AccessLogHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive; one access-log line per request on this server's own logger."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        access_log.info('"%s" %s %s', self.requestline, code, size)


class ServerThread:
    """A werkzeug server bound at construction (so its port is known at once), served from a thread."""

    def __init__(self, app: WsgiApp, *, host: str = LOOPBACK, port: int = 0, name: str = "server") -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_AccessLogHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
        )
        self.name = name

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
