"""managed-accounts: run the local stack, mint dev tokens, decide approvals, bootstrap Dfns, run the demo.

Exit codes: 0 success, 1 a failed operation (Dfns refused, the demo broke), 2 bad usage or a stack
that cannot start (a port in use) or is not running.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from local_stack.serving import PortInUse

if TYPE_CHECKING:
    from managed_accounts.dfns.client import DfnsClient

    from local_stack.remote import RunningStack
    from local_stack.stack import LocalStack

EXIT_FAILED, EXIT_USAGE = 1, 2

# What `--help` prints: the commands as a newcomer runs them, from the repository root, with only python3
# on the machine (uv is bootstrapped into .tools/, not onto the PATH, and the console script lives in .venv).
EPILOG = """From the repository root, the make targets run these commands (and install what they need):
  make run                              start the local stack (make run VERBOSE=1: full logs on the console)
  TOKEN=$(make -s token CLIENT=alice)   a dev ID token (OPERATOR=1: in the operators group)
  make approvals                        what waits for the compliance officer
  make approve                          approve the pending approval (APPROVAL=<id> when several wait)
  make deny REASON=unknown              deny it (APPROVAL=<id> when several wait)
  make demo                             the whole story, narrated

The script itself is .venv/bin/managed-accounts, for the options make does not pass:
  .venv/bin/managed-accounts run --help
  .venv/bin/managed-accounts token --help
"""
PROG = ".venv/bin/managed-accounts"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--state-dir",
        default=os.environ.get("MANAGED_ACCOUNTS_STATE_DIR", ".local"),
        help="where the stack keeps stack.json, the dev JWT key and env (default .local)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the whole product on loopback (what `make run` calls)")
    run.add_argument("--api-port", type=int, default=_env_int("MANAGED_ACCOUNTS_API_PORT", 3000))
    run.add_argument("--sandbox-port", type=int, default=_env_int("MANAGED_ACCOUNTS_SANDBOX_PORT", 3001))
    run.add_argument("--aws-port", type=int, default=_env_int("MANAGED_ACCOUNTS_AWS_PORT", 3002))
    run.add_argument(
        "--portal-port",
        type=int,
        default=_env_int("MANAGED_ACCOUNTS_PORTAL_PORT", 3003),
        help="the reference portal (its own origin, allowed by CORS)",
    )
    run.add_argument("--reconcile-seconds", type=float, default=60.0, help="reconciler schedule")
    run.add_argument(
        "--order-run-schedule",
        default=os.environ.get("MANAGED_ACCOUNTS_ORDER_RUN_SCHEDULE", "rate(1 hour)"),
        help="order runs: an EventBridge Scheduler expression, rate(...) or cron(...) in UTC",
    )
    run.add_argument(
        "--no-realtime", action="store_true", help="sandbox transfers advance only via POST /sandbox/clock"
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="the full logs (handlers' JSON, Dfns calls) on the console as well as in <state-dir>/stack.log",
    )

    token = commands.add_parser("token", help="print a dev ID token for a client")
    token.add_argument("client_id")
    token.add_argument("--operator", action="store_true", help="member of the operators group")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")

    sandbox = commands.add_parser("sandbox", help="act as the compliance officer in the Dfns sandbox")
    decisions = sandbox.add_subparsers(dest="action", required=True)
    for action in ("approve", "deny"):
        decide = decisions.add_parser(action, help=f"{action} a policy approval (a signed decision)")
        decide.add_argument(
            "approval_id", nargs="?", default=None, help="default: the pending one (refused if several are)"
        )
        decide.add_argument("--reason", default=None)
    decisions.add_parser("approvals", help="list the approvals waiting for a decision")
    fund = decisions.add_parser("fund", help="deposit sandbox ETH into a client's wallet (sandbox only)")
    fund.add_argument("client_id")
    fund.add_argument("--eth", default="1", help="how much ETH (default 1)")

    bootstrap = commands.add_parser("bootstrap", help="create governance, limits and webhook in Dfns")
    bootstrap.add_argument("--webhook-url", default=None, help="default: the running stack's")

    commands.add_parser("demo", help="the whole story against the running stack, narrated")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command != "run":
        # The product's modules log every Dfns call at INFO: right for the stack, noise for a command.
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    handlers = {"run": _run, "token": _token, "sandbox": _sandbox, "bootstrap": _bootstrap, "demo": _demo}
    try:
        return handlers[args.command](args)
    except PortInUse as exc:
        print(f"error: {exc}. Stop whatever uses it, or choose another port (--help).", file=sys.stderr)
        return EXIT_USAGE
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


class _UsageError(Exception):
    pass


# --- run ----------------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from local_stack.serving import ensure_ports_free

    # Before the heavy imports (boto3, moto): a taken port should fail in a blink, not after seconds.
    ensure_ports_free(
        {
            "API": args.api_port,
            "Dfns sandbox": args.sandbox_port,
            "moto": args.aws_port,
            "portal": args.portal_port,
        }
    )
    from local_stack.console import route_logs
    from local_stack.stack import LocalStack, StackConfig

    config = StackConfig(
        api_port=args.api_port,
        sandbox_port=args.sandbox_port,
        aws_port=args.aws_port,
        portal_port=args.portal_port,
        state_dir=_state_dir(args),
        reconcile_seconds=args.reconcile_seconds,
        order_run_schedule=args.order_run_schedule,
        sandbox_realtime=not args.no_realtime,
    )
    stop = threading.Event()

    on_signal = StopOnSignal(stop)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # `kill -USR1 <pid>` prints every thread's stack to stderr: what a stack that will not stop is doing.
    faulthandler.register(signal.SIGUSR1, file=sys.__stderr__ or sys.stderr, all_threads=True)
    # From here on print() goes to the log file (Powertools' metrics print): the console is `out`.
    out = sys.stdout
    routing = route_logs(config.state_dir, verbose=args.verbose, console_stream=out)
    try:
        return _serve(LocalStack(config), stop, out, routing.log_path)
    finally:
        routing.close()


class StopOnSignal:
    """SIGINT and SIGTERM ask the stack to stop; a second Ctrl-C, a second or more after the first,
    ends the process at once.

    One Ctrl-C under `make run` arrives twice within milliseconds: the terminal signals the whole
    foreground process group, and `uv run` forwards the signal to its child as well. That is not a
    second Ctrl-C, and must not cut the clean stop short.
    """

    REPEAT_AFTER_S = 1.0

    def __init__(self, stop: threading.Event, clock: Callable[[], float] = time.monotonic) -> None:
        self._stop = stop
        self._clock = clock
        self._first: float | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        now = self._clock()
        if self._first is None:
            self._first = now
            self._stop.set()
        elif signum == signal.SIGINT and now - self._first >= self.REPEAT_AFTER_S:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)


def _serve(stack: LocalStack, stop: threading.Event, out: TextIO, log_path: Path) -> int:
    try:
        info = stack.start()
    except PortInUse:
        raise
    except Exception as exc:  # start() already stopped what it had started
        logging.getLogger("local_stack").exception("the local stack failed to start")
        print(f"error: the local stack failed to start: {exc} (details in {log_path})", file=sys.stderr)
        return EXIT_FAILED
    try:
        print(usage(info, stack.config.state_dir, log_path), file=out, flush=True)
        stop.wait()
        print("stopping the local stack…", file=out, flush=True)
    finally:
        stack.stop()
    print("stopped.", file=out, flush=True)
    return 0


def _second_terminal_setup(state_dir: Path) -> list[str]:
    """What a second terminal needs before the make targets find this stack: the repository root (a new
    terminal may open anywhere) and, unless the state is where `make run` keeps it, its folder."""
    from local_stack.stack import REPO_ROOT

    lines = [f"cd {shlex.quote(str(REPO_ROOT))}"]
    if state_dir.resolve() != REPO_ROOT / ".local":
        lines.append(f"export MANAGED_ACCOUNTS_STATE_DIR={shlex.quote(str(state_dir.resolve()))}")
    return lines


def usage(info: dict[str, Any], state_dir: Path, log_path: Path) -> str:
    """The banner `make run` prints once the stack is up: the links and the commands to try, each one
    runnable as printed in a second terminal."""
    api = info["apiUrl"]
    schedule = info.get("orderRunSchedule", "the order-run schedule")
    commands = [
        *_second_terminal_setup(state_dir),
        "TOKEN=$(make -s token CLIENT=alice)",
        f'curl -s -X POST {api}/accounts -H "Authorization: Bearer $TOKEN"',
        f'curl -s {api}/accounts/me -H "Authorization: Bearer $TOKEN"',
        f'curl -s -X POST {api}/accounts/me/destination-requests -H "Authorization: Bearer $TOKEN" \\',
        "     -H 'Content-Type: application/json' "
        + """-d '{"address": "0x52908400098527886e0f7030069857d2e4169ee7"}'""",
        "make approvals                 # what the compliance officer sees",
        "make approve                   # their signed decision (or: make deny REASON=unknown)",
        f'curl -s {api}/accounts/me/destinations -H "Authorization: Bearer $TOKEN"',
        f'curl -s -X PUT {api}/accounts/me/trading-authorization -H "Authorization: Bearer $TOKEN" \\',
        "     -H 'Content-Type: application/json' "
        + """-d '{"exchange": "sandbox-exchange", "asset": "ETH", "amountPerRun": "0.05"}'""",
        "make approve                   # the exchange's deposit address, approved like any destination",
        "make fund CLIENT=alice         # 1 sandbox ETH in Alice's wallet, for the order run to pay",
        f"OPS=$(make -s token CLIENT=ops OPERATOR=1)   # order runs also start on {schedule}",
        f'curl -s -X POST {api}/admin/order-runs -H "Authorization: Bearer $OPS" \\',
        "     -H 'Content-Type: application/json' -d '{}'",
        f'curl -s {api}/accounts/me/orders -H "Authorization: Bearer $TOKEN"',
        "make demo                      # the whole story, narrated",
    ]
    try_it = "\n".join(f"  {line}" for line in commands)
    return f"""
Managed accounts — the local stack is up (state in {state_dir}/stack.json)
  Portal         {info.get("portalUrl", "(not served)")}   (sign in as any client; a sandbox officer panel)
  API            {api}
  Swagger UI     {api}/docs   (OpenAPI: {api}/openapi.json)
  Dfns sandbox   {info["sandboxUrl"]}
  AWS (moto)     {info["awsEndpointUrl"]}

Try it in a second terminal:
{try_it}

Here: one line per API request, webhook and domain event. Full logs: {log_path}
(or on this console: make run VERBOSE=1). Press Ctrl-C to stop.
"""


# --- token --------------------------------------------------------------------------------------------


def _token(args: argparse.Namespace) -> int:
    from local_stack.tokens import issue_token, load_key

    try:
        key = load_key(_state_dir(args))
    except FileNotFoundError as exc:
        raise _UsageError(str(exc)) from None
    print(issue_token(key, args.client_id, operator=args.operator, ttl_seconds=args.ttl))
    return 0


# --- sandbox approve|deny|approvals -------------------------------------------------------------------


def _running(args: argparse.Namespace) -> RunningStack:
    from local_stack.remote import RunningStack, StackNotRunning

    try:
        return RunningStack(_state_dir(args))
    except StackNotRunning as exc:
        raise _UsageError(str(exc)) from None


def _sandbox(args: argparse.Namespace) -> int:
    from managed_accounts.dfns.errors import DfnsError
    from managed_accounts.dfns.models import DecisionBody

    stack = _running(args)
    if args.action == "fund":
        with stack:
            return _fund(stack, args.client_id, args.eth)
    with stack, stack.officer_client() as officer:
        try:
            if args.action == "approvals":
                pending = list(officer.iter_approvals(status="Pending"))
                for approval in pending:
                    kind = approval.activity.kind if approval.activity else "?"
                    print(f"{approval.id}  {kind}  by {approval.initiator_id}  since {approval.date_created}")
                if not pending:
                    print("no approval is waiting for a decision")
                return 0
            approval_id = args.approval_id or _the_pending_approval(officer)
            value = "Approved" if args.action == "approve" else "Denied"
            decision = DecisionBody(value=value, reason=args.reason)
            approval = officer.decide_approval(approval_id, decision)
        except DfnsError as exc:
            print(f"Dfns refused: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(f"{approval.id}: {approval.status}")
    return 0


def _fund(stack: RunningStack, client_id: str, eth: str) -> int:
    """A sandbox deposit into the client's wallet, so that an order run has something to pay with."""
    try:
        wei = int(Decimal(eth) * 10**18)
    except InvalidOperation:
        raise _UsageError(f"not an amount of ETH: {eth!r}") from None
    if wei <= 0:
        raise _UsageError("the amount must be positive")
    response = stack.api("GET", "/accounts/me", client_id=client_id)
    wallet_id = response.json().get("walletId") if response.status_code == 200 else None
    if not wallet_id:
        raise _UsageError(f"{client_id} has no wallet yet: POST /accounts first (as {client_id})")
    stack.deposit(wallet_id, str(wei))
    print(f"{wallet_id}: +{Decimal(wei) / 10**18} ETH (a sandbox deposit)")
    return 0


def _the_pending_approval(officer: DfnsClient) -> str:
    """The id of the one approval waiting for a decision; a usage error when none or several wait."""
    pending = [approval.id for approval in officer.iter_approvals(status="Pending")]
    if len(pending) == 1:
        return pending[0]
    if not pending:
        raise _UsageError("no approval is waiting for a decision (see: make approvals)")
    waiting = " ".join(pending)
    raise _UsageError(f"{len(pending)} approvals are waiting: choose one with APPROVAL=<id>: {waiting}")


# --- bootstrap ----------------------------------------------------------------------------------------


def _bootstrap(args: argparse.Namespace) -> int:
    from managed_accounts.config import Settings

    from local_stack.dfns_setup import run_bootstrap
    from local_stack.environment import read_env_file

    state = _state_dir(args)
    webhook_url = args.webhook_url
    if "DFNS_API_URL" not in os.environ and (state / "env").exists():
        # No configuration in the environment: use the running local stack's.
        os.environ.update(read_env_file(state / "env"))
        if webhook_url is None and (state / "stack.json").exists():
            webhook_url = json.loads((state / "stack.json").read_text())["webhookUrl"]
    if webhook_url is None:
        raise _UsageError("--webhook-url is required (the product's public POST /webhooks/dfns URL)")
    result = run_bootstrap(Settings(), webhook_url=webhook_url)
    print(json.dumps(result, indent=2))
    return 0


# --- demo ---------------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from local_stack.demo import run_demo

    return run_demo(_state_dir(args))


if __name__ == "__main__":
    raise SystemExit(main())
