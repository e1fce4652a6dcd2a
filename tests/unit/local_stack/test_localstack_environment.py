"""The local handler environment is a valid ``Settings`` with the local exchange and limit profile."""

from __future__ import annotations

from local_stack.environment import (
    HandlerEnvironmentInputs,
    exchange_deposit_address,
    handler_environment,
    read_env_file,
    write_env_file,
)
from managed_accounts.config import Settings


def _env() -> dict[str, str]:
    return handler_environment(
        HandlerEnvironmentInputs(
            dfns_api_url="http://127.0.0.1:3001",
            aws_endpoint_url="http://127.0.0.1:3002",
            order_queue_url="http://127.0.0.1:3002/000000000000/q",
            compliance_approver_ids=("us-officer-1",),
        )
    )


def test_the_environment_parses_into_the_products_settings(monkeypatch):
    for key, value in _env().items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert str(settings.dfns_api_url).startswith("http://127.0.0.1:3001")
    assert settings.aws_endpoint_url == "http://127.0.0.1:3002"
    assert settings.compliance_approver_ids == ["us-officer-1"]
    assert settings.limit_profile("standard").amount_limit_usd == 10_000
    deposit = settings.exchanges["sandbox-exchange"].deposit_addresses["EthereumSepolia"]
    assert deposit == exchange_deposit_address("EthereumSepolia")
    assert settings.whitelist_action == "Block"


def test_deposit_addresses_are_lowercase_evm_and_differ_per_network():
    first, second = exchange_deposit_address("EthereumSepolia"), exchange_deposit_address("BaseSepolia")
    assert first != second
    for address in (first, second):
        assert address.startswith("0x")
        assert len(address) == 42
        assert address == address.lower()


def test_the_env_file_round_trips_json_values(tmp_path):
    env = _env()
    write_env_file(tmp_path / "env", env)
    assert read_env_file(tmp_path / "env") == env
