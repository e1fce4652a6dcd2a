"""``python -m dfns_sandbox --port 3001``: run the sandbox in the foreground (real-time clock by default)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

from dfns_sandbox.server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dfns_sandbox", description="A local, faithful Dfns API sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument(
        "--frozen-clock", action="store_true", help="move the clock only via POST /sandbox/clock"
    )
    args = parser.parse_args(argv)
    try:
        server = SandboxServer(args.host, args.port, realtime=not args.frozen_clock)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        print(f"Dfns sandbox listening on {server.url}")
        print(
            "compliance officer:",
            json.dumps({k: v for k, v in server.officer.as_json().items() if k != "privateKeyPem"}),
        )
        print(f"officer credentials (with private key): GET {server.url}/sandbox/officers")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
