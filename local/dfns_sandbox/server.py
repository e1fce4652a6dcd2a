"""``SandboxServer``: the sandbox on a threaded werkzeug server, embeddable in tests and the local stack.

with SandboxServer(port=0) as sandbox:          # ephemeral port on 127.0.0.1
    creds = sandbox.register_service_account(public_key_pem, "svc")
    httpx.get(f"{sandbox.url}/wallets", headers={"Authorization": f"Bearer {creds.access_token}"})
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from dfns_sandbox.app import SandboxApp
from dfns_sandbox.core import OfficerCredentials, Sandbox, SandboxConfig, ServiceAccountCredentials


class _QuietHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive, no per-request access log on stderr."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle stalls keep-alive clients.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SandboxServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        config: SandboxConfig | None = None,
        realtime: bool | None = None,
        tick_interval_s: float = 0.5,
    ) -> None:
        """``realtime`` overrides ``config.realtime``; in real-time mode a ticker thread moves transfers
        and expiries along every ``tick_interval_s`` even when nobody calls the API."""
        config = config or SandboxConfig()
        if realtime is not None and realtime != config.realtime:
            from dataclasses import replace

            config = replace(config, realtime=realtime)
        self.sandbox = Sandbox(config)
        self._server: BaseWSGIServer = make_server(
            host, port, SandboxApp(self.sandbox), threaded=True, request_handler=_QuietHandler
        )
        self._serve_thread = threading.Thread(target=self._serve, name="dfns-sandbox", daemon=True)
        self._tick_interval = tick_interval_s
        self._stop_ticker = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="dfns-sandbox-ticker", daemon=True)
        self._started = False

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def officer(self) -> OfficerCredentials:
        return self.sandbox.officers[0]

    @property
    def officers(self) -> list[OfficerCredentials]:
        return list(self.sandbox.officers)

    def register_service_account(
        self, public_key_pem: str, name: str = "service-account", permissions: list[str] | None = None
    ) -> ServiceAccountCredentials:
        """``permissions=None``: the product's service-account role; else a role with exactly these."""
        return self.sandbox.register_service_account(public_key_pem, name, permissions)

    def advance(self, seconds: float) -> None:
        self.sandbox.advance(seconds)

    def flush_webhooks(self, timeout: float = 10.0) -> bool:
        return self.sandbox.dispatcher.flush(timeout)

    def start(self) -> SandboxServer:
        if not self._started:
            self._started = True
            self.sandbox.dispatcher.start()
            self._serve_thread.start()
            if self.sandbox.config.realtime:
                self._ticker.start()
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._stop_ticker.set()
        self._server.shutdown()
        self._server.server_close()
        self.sandbox.dispatcher.stop()
        self._started = False

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)  # a short poll makes stop() quick

    def _tick_loop(self) -> None:
        while not self._stop_ticker.wait(self._tick_interval):
            self.sandbox.tick()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
