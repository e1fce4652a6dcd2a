"""The invoker calls real handler modules as Lambda would; the CLI fails clearly without a running stack."""

from __future__ import annotations

import pytest
from local_stack.cli import main
from local_stack.invoker import FunctionNotFound, HandlerInvoker
from local_stack.stack import StackConfig, scheduled_jobs
from local_stack.tokens import TokenVerifier, generate_key

FAKES = "tests.unit.local_stack.fake_functions"


def test_a_handler_gets_the_event_and_a_lambda_context():
    result = HandlerInvoker(FAKES).invoke("echo", {"hello": "world"})
    assert result["event"] == {"hello": "world"}
    assert result["functionName"] == "managed-accounts-local-echo-handler"
    assert result["requestId"]
    assert result["remainingMs"] > 0


def test_each_invocation_gets_a_new_request_id():
    invoker = HandlerInvoker(FAKES)
    assert invoker.invoke("echo", {})["requestId"] != invoker.invoke("echo", {})["requestId"]


def test_a_function_that_does_not_exist_is_named():
    with pytest.raises(FunctionNotFound, match="nothing_here"):
        HandlerInvoker(FAKES).invoke("nothing_here", {})


def test_an_import_error_inside_a_handler_is_not_mistaken_for_a_missing_function():
    with pytest.raises(ModuleNotFoundError, match="not_a_module_anywhere"):
        HandlerInvoker(FAKES).invoke("echo", {}, entry="broken")


def test_the_reconciler_is_scheduled_when_it_exists(tmp_path):
    (tmp_path / "webhooks").mkdir()
    assert scheduled_jobs(StackConfig(), tmp_path) == []
    (tmp_path / "webhooks" / "reconciler.py").write_text("")
    jobs = scheduled_jobs(StackConfig(reconcile_seconds=5), tmp_path)
    assert [(j.name, j.function, j.module, j.interval_seconds) for j in jobs] == [
        ("reconcile", "webhooks", "reconciler", 5)
    ]
    assert jobs[0].payload == {"source": "schedule", "task": "reconcile"}  # what the CDK schedule sends


def test_token_prints_a_token_the_stack_accepts(tmp_path, capsys):
    key = generate_key(tmp_path)
    assert main(["--state-dir", str(tmp_path), "token", "client-9", "--operator"]) == 0
    identity = TokenVerifier(key.public_key()).verify(capsys.readouterr().out.strip())
    assert identity.client_id == "client-9"
    assert identity.is_operator


@pytest.mark.parametrize(
    "command", [["token", "client-9"], ["demo"], ["sandbox", "approvals"], ["sandbox", "approve", "ap-1"]]
)
def test_commands_that_need_a_stack_say_so_and_exit_2(tmp_path, capsys, command):
    assert main(["--state-dir", str(tmp_path), *command]) == 2
    captured = capsys.readouterr()
    assert "make run" in captured.out + captured.err


def test_bootstrap_without_a_webhook_url_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DFNS_API_URL", "https://api.dfns.io")
    assert main(["--state-dir", str(tmp_path), "bootstrap"]) == 2
    assert "--webhook-url" in capsys.readouterr().err
