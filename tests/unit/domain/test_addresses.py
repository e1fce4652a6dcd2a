"""Address validation: EVM checked and lowercased, EIP-55 verified; other networks kept byte-exact."""

from __future__ import annotations

import hashlib

import pytest
from managed_accounts.domain.addresses import (
    address_key,
    checksum_address,
    is_evm_network,
    normalize_address,
)
from managed_accounts.domain.keccak import keccak256, sponge256
from managed_accounts.errors import InvalidInput

EIP55_VECTORS = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


def test_keccak256_matches_known_digests() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert (
        keccak256(b"The quick brown fox jumps over the lazy dog").hex()
        == "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"
    )


@pytest.mark.parametrize("size", [0, 1, 135, 136, 137, 500])
def test_the_sponge_with_sha3_padding_equals_hashlib_sha3_across_block_boundaries(size: int) -> None:
    data = bytes(range(256)) * 2
    assert sponge256(data[:size], domain_byte=0x06) == hashlib.sha3_256(data[:size]).digest()


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_eip55_vectors_are_accepted_and_lowercased(address: str) -> None:
    assert checksum_address(address.lower()) == address
    assert normalize_address("EthereumSepolia", address) == address.lower()


def test_all_lower_or_all_upper_evm_addresses_need_no_checksum() -> None:
    lower = EIP55_VECTORS[0].lower()
    assert normalize_address("Base", lower) == lower
    assert normalize_address("ArbitrumSepolia", "0x" + lower[2:].upper()) == lower


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "checksum"),
        ("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "starts with 0x"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", "40 hex"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeZ", "only hex"),
        (" 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "whitespace"),
        ("", "empty"),
        ("0x" + "a" * 200, "longer than"),
    ],
)
def test_bad_evm_addresses_name_the_problem(address: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        normalize_address("Ethereum", address)


def test_non_evm_addresses_are_kept_byte_exact() -> None:
    solana = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV"
    assert normalize_address("SolanaDevnet", solana) == solana
    assert (
        normalize_address("Bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")
        == "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
    )
    bech32 = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"
    assert normalize_address("BitcoinTestnet3", bech32) == bech32
    tron = "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"
    assert normalize_address("Tron", tron) == tron


@pytest.mark.parametrize(
    ("network", "address"),
    [
        ("Solana", "0OIl" * 10),
        ("Bitcoin", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsb"),
        ("Bitcoin", "tb1QW508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"),
        ("Bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2!"),
        ("Tron", "XLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"),
        ("Cardano", "short"),
        ("Cardano", "addr_test1\u00e9qq"),
    ],
)
def test_non_evm_sanity_checks(network: str, address: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_address(network, address)


def test_network_families() -> None:
    assert all(is_evm_network(n) for n in ("Ethereum", "EthereumSepolia", "Bsc", "AvalancheC", "ArcTestnet"))
    assert not any(is_evm_network(n) for n in ("Bitcoin", "Solana", "Tron", "Algorand"))


def test_the_same_address_is_case_insensitive_on_evm_networks_and_byte_exact_elsewhere() -> None:
    evm = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert address_key("EthereumSepolia", evm) == address_key("EthereumSepolia", evm.lower())
    solana = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV"
    assert address_key("Solana", solana) == solana
    assert address_key("Solana", solana) != address_key("Solana", solana.lower())
