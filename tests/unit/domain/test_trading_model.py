"""Amounts, external ids, the exchange catalog and its configuration: exact and explicit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from managed_accounts.config import Exchange, Settings
from managed_accounts.domain.trading import (
    ExchangeCatalog,
    TradableAsset,
    format_units,
    order_external_id,
    scheduled_run_id,
    to_minimum_units,
    validate_run_id,
)
from managed_accounts.errors import InvalidInput
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("amount", "decimals", "units"),
    [
        ("1", 18, 10**18),
        ("0.05", 18, 5 * 10**16),
        ("0.000000000000000001", 18, 1),
        ("12.500000", 6, 12_500_000),
        ("0.1", 1, 1),
        ("7", 0, 7),
        ("123456789012345678.9", 18, 1234567890123456789 * 10**17),
    ],
)
def test_decimal_amounts_become_exact_minimum_units(amount: str, decimals: int, units: int) -> None:
    assert to_minimum_units(amount, decimals) == units


@pytest.mark.parametrize(
    ("amount", "decimals", "problem"),
    [
        ("0.0000001", 6, "more than 6 decimal places"),
        ("0.15", 1, "more than 1 decimal places"),
        ("0", 18, "more than zero"),
        ("0.000", 18, "more than zero"),
        ("1e18", 18, "decimal number"),
        ("-1", 18, "decimal number"),
        (" 1", 18, "decimal number"),
        ("1.", 18, "decimal number"),
        ("0x10", 18, "decimal number"),
    ],
)
def test_amounts_that_cannot_be_paid_exactly_are_refused_not_rounded(
    amount: str, decimals: int, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        to_minimum_units(amount, decimals)


@given(st.integers(min_value=1, max_value=10**30 - 1), st.integers(min_value=0, max_value=36))
def test_formatting_and_parsing_round_trip(units: int, decimals: int) -> None:
    assert to_minimum_units(format_units(units, decimals), decimals) == units


def test_the_external_id_is_stable_per_run_and_client_and_fits_dfns() -> None:
    first = order_external_id("run-1", "alice")
    assert first == order_external_id("run-1", "alice")
    assert len({first, order_external_id("run-2", "alice"), order_external_id("run-1", "bob")}) == 3
    # A long client id and run id still give a transfer externalId Dfns takes (1–50 characters).
    assert len(order_external_id("r" * 64, "c" * 90)) <= 50
    # No ambiguity from concatenation: ("a", "bc") and ("ab", "c") differ.
    assert order_external_id("a", "bc") != order_external_id("ab", "c")


def test_run_ids_are_checked_and_a_schedule_slot_names_its_run() -> None:
    assert validate_run_id("sched-20260101T0900Z") == "sched-20260101T0900Z"
    for bad in ("", "a b", "x" * 65, "run/1", "ü"):
        with pytest.raises(InvalidInput):
            validate_run_id(bad)
    slot = datetime(2026, 1, 5, 14, 0, 30, tzinfo=UTC)
    assert scheduled_run_id(slot) == "sched-20260105T1400Z"


def test_the_catalog_resolves_assets_per_network_and_names_what_is_missing() -> None:
    catalog = ExchangeCatalog(
        [
            TradableAsset("x", "EthereumSepolia", "ETH", "Native", 18, "0x" + "AB" * 20),
            TradableAsset(
                "x", "EthereumSepolia", "USDC", "Erc20", 6, "0x" + "AB" * 20, contract="0x" + "CD" * 20
            ),
        ]
    )
    usdc = catalog.resolve("x", "EthereumSepolia", "usdc")
    assert (usdc.symbol, usdc.decimals, usdc.contract) == ("USDC", 6, "0x" + "cd" * 20)
    assert usdc.deposit_address == "0x" + "ab" * 20  # sent lowercase, as every EVM address
    assert catalog.deposit_address("x", "EthereumSepolia") == "0x" + "ab" * 20
    with pytest.raises(InvalidInput, match="unknown exchange"):
        catalog.resolve("y", "EthereumSepolia", "ETH")
    with pytest.raises(InvalidInput, match="no deposits on BaseSepolia"):
        catalog.resolve("x", "BaseSepolia", "ETH")
    with pytest.raises(InvalidInput, match="no asset 'DOGE'"):
        catalog.resolve("x", "EthereumSepolia", "DOGE")


def test_a_configured_deposit_address_that_is_not_valid_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="EXCHANGES: x on EthereumSepolia"):
        ExchangeCatalog([TradableAsset("x", "EthereumSepolia", "ETH", "Native", 18, "0x1234")])


def test_exchange_configuration_is_validated_at_cold_start() -> None:
    deposit = {"EthereumSepolia": "0x" + "ab" * 20}
    Exchange.model_validate({"depositAddresses": deposit})  # assets are optional (nothing to trade)
    bad = [
        {"EthereumSepolia": [{"symbol": "USDC", "kind": "Erc20", "decimals": 6}]},  # no contract
        {"EthereumSepolia": [{"symbol": "ETH", "decimals": 18, "contract": "0x" + "cd" * 20}]},
        {"BaseSepolia": [{"symbol": "ETH", "decimals": 18}]},  # no deposit address there
        {"EthereumSepolia": [{"symbol": "ETH", "decimals": 18}, {"symbol": "eth", "decimals": 18}]},
        {"EthereumSepolia": [{"symbol": "ETH", "decimals": 40}]},
    ]
    for assets in bad:
        with pytest.raises(ValidationError):
            Exchange.model_validate({"depositAddresses": deposit, "assets": assets})
    with pytest.raises(ValidationError):
        Settings(order_run_schedule="every day")
    assert Settings(order_run_schedule="rate(1 day)").order_run_schedule == "rate(1 day)"
