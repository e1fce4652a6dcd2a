"""``managed-accounts``: run the local stack, mint dev tokens, decide approvals, bootstrap Dfns, run the demo.

Exit codes: 0 success, 1 a failed operation (Dfns refused, the demo broke), 2 bad usage or a stack
that cannot start (a port in use) or is not running.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from local_stack.serving import PortInUse

if TYPE_CHECKING:
    from local_stack.remote import RunningStack

EXIT_FAILED, EXIT_USAGE = 1, 2


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="managed-accounts", description=__doc__)
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
    run.add_argument("--reconcile-seconds", type=float, default=60.0, help="reconciler schedule")
    run.add_argument(
        "--order-run-schedule",
        default=os.environ.get("MANAGED_ACCOUNTS_ORDER_RUN_SCHEDULE", "rate(1 hour)"),
        help="order runs: an EventBridge Scheduler expression, rate(...) or cron(...) in UTC",
    )
    run.add_argument(
        "--no-realtime", action="store_true", help="sandbox transfers advance only via POST /sandbox/clock"
    )

    token = commands.add_parser("token", help="print a dev ID token for a client")
    token.add_argument("client_id")
    token.add_argument("--operator", action="store_true", help="member of the operators group")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")

    sandbox = commands.add_parser("sandbox", help="act as the compliance officer in the Dfns sandbox")
    decisions = sandbox.add_subparsers(dest="action", required=True)
    for action in ("approve", "deny"):
        decide = decisions.add_parser(action, help=f"{action} a policy approval (a signed decision)")
        decide.add_argument("approval_id")
        decide.add_argument("--reason", default=None)
    decisions.add_parser("approvals", help="list the approvals waiting for a decision")

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
    ensure_ports_free({"API": args.api_port, "Dfns sandbox": args.sandbox_port, "moto": args.aws_port})
    from local_stack.stack import LocalStack, StackConfig

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The API's access log stays; moto's, the product's HTTP client's and boto's chatter go.
    for noisy in ("werkzeug", "httpx", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = StackConfig(
        api_port=args.api_port,
        sandbox_port=args.sandbox_port,
        aws_port=args.aws_port,
        state_dir=_state_dir(args),
        reconcile_seconds=args.reconcile_seconds,
        order_run_schedule=args.order_run_schedule,
        sandbox_realtime=not args.no_realtime,
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        # A second Ctrl-C while stopping ends the process at once.
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    stack = LocalStack(config)
    try:
        info = stack.start()
    except PortInUse:
        raise
    except Exception as exc:  # start() already stopped what it had started
        logging.getLogger("local_stack").exception("the local stack failed to start")
        print(f"error: the local stack failed to start: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        print(_usage(info, config.state_dir), flush=True)
        stop.wait()
        print("stopping the local stack…", flush=True)
    finally:
        stack.stop()
    return 0


def _usage(info: dict[str, object], state_dir: Path) -> str:
    api = info["apiUrl"]
    return f"""
Managed accounts — local stack is up (state in {state_dir}/stack.json)
  API            {api}   (Swagger UI: {api}/docs, OpenAPI: {api}/openapi.json)
  Dfns sandbox   {info["sandboxUrl"]}
  AWS (moto)     {info["awsEndpointUrl"]}

Try it:
  TOKEN=$(uv run managed-accounts token alice)
  curl -s -X POST {api}/accounts -H "Authorization: Bearer $TOKEN"
  curl -s {api}/accounts/me -H "Authorization: Bearer $TOKEN"
  curl -s -X POST {api}/accounts/me/destination-requests -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{{"address": "0x52908400098527886e0f7030069857d2e4169ee7"}}'
  uv run managed-accounts sandbox approvals            # what the compliance officer sees
  uv run managed-accounts sandbox approve <approvalId> # their signed decision
  curl -s {api}/accounts/me/destinations -H "Authorization: Bearer $TOKEN"
  curl -s -X PUT {api}/accounts/me/trading-authorization -H "Authorization: Bearer $TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"exchange": "sandbox-exchange", "asset": "ETH", "amountPerRun": "0.05"}}'
  OPS=$(uv run managed-accounts token ops --operator)   # runs also fire on {info.get("orderRunSchedule")}
  curl -s -X POST {api}/admin/order-runs -H "Authorization: Bearer $OPS" \
       -H 'Content-Type: application/json' -d '{{}}'
  curl -s {api}/accounts/me/orders -H "Authorization: Bearer $TOKEN"
  uv run managed-accounts demo                         # the whole story, narrated
Press Ctrl-C to stop.
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
    with stack, stack.officer_client() as officer:
        try:
            if args.action == "approvals":
                for approval in officer.iter_approvals(status="Pending"):
                    kind = approval.activity.kind if approval.activity else "?"
                    print(f"{approval.id}  {kind}  by {approval.initiator_id}  since {approval.date_created}")
                return 0
            value = "Approved" if args.action == "approve" else "Denied"
            decision = DecisionBody(value=value, reason=args.reason)
            approval = officer.decide_approval(args.approval_id, decision)
        except DfnsError as exc:
            print(f"Dfns refused: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(f"{approval.id}: {approval.status}")
    return 0


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
