"""Address canonicalisation (domain/addresses.py): one stored form per EVM address whatever its case
spelling, EIP-55 enforced on mixed case, other networks byte-exact, and one rule for "the same address"."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from managed_accounts.domain.addresses import (
    address_key,
    checksum_address,
    is_evm_network,
    normalize_address,
)
from managed_accounts.errors import InvalidInput

EVM_NETWORKS = st.sampled_from(["EthereumSepolia", "Ethereum", "Base", "ArbitrumOne", "Polygon", "Bsc"])
OTHER_NETWORKS = st.sampled_from(["Solana", "Tron", "Bitcoin", "Litecoin", "Stellar", "Algorand"])
LOWER = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A lowercase address and a valid spelling of it: lowercase, uppercase or its EIP-55 checksum."""
    lower = draw(LOWER)
    form = draw(st.sampled_from(["lower", "upper", "checksum"]))
    spelled = {"lower": lower, "upper": "0x" + lower[2:].upper(), "checksum": checksum_address(lower)}[form]
    return lower, spelled


@given(EVM_NETWORKS, spellings())
def test_every_valid_spelling_of_an_evm_address_is_stored_lowercase(
    network: str, pair: tuple[str, str]
) -> None:
    lower, spelled = pair
    assert normalize_address(network, spelled) == lower


@given(EVM_NETWORKS, spellings())
def test_normalising_is_idempotent_and_keeps_the_same_key(network: str, pair: tuple[str, str]) -> None:
    _, spelled = pair
    once = normalize_address(network, spelled)
    assert normalize_address(network, once) == once
    assert address_key(network, once) == address_key(network, spelled)


@given(EVM_NETWORKS, LOWER, st.data())
def test_a_mixed_case_spelling_other_than_the_checksum_is_refused(
    network: str, lower: str, data: st.DataObject
) -> None:
    body = lower[2:]
    letters = [i for i, c in enumerate(body) if c.isalpha()]
    assume(len(letters) >= 2)
    upper = data.draw(st.sets(st.sampled_from(letters), min_size=1, max_size=len(letters) - 1))
    spelled = "0x" + "".join(c.upper() if i in upper else c for i, c in enumerate(body))
    assume(spelled != checksum_address(lower))
    with pytest.raises(InvalidInput, match="checksum"):
        normalize_address(network, spelled)


@given(EVM_NETWORKS, st.text(max_size=50))
def test_anything_not_0x_and_40_hex_digits_is_refused_on_evm(network: str, text: str) -> None:
    body = text[2:]
    assume(
        not (text.startswith("0x") and len(body) == 40 and all(c in "0123456789abcdefABCDEF" for c in body))
    )
    with pytest.raises(InvalidInput):
        normalize_address(network, text)


@given(OTHER_NETWORKS, st.text(max_size=60))
def test_other_networks_keep_an_accepted_address_byte_exact(network: str, text: str) -> None:
    try:
        kept = normalize_address(network, text)
    except InvalidInput:
        return
    assert kept == text
    assert normalize_address(network, kept) == kept
    assert address_key(network, kept) == text  # compared byte-exact: case matters there


@given(EVM_NETWORKS | OTHER_NETWORKS, spellings(), spellings())
def test_two_addresses_are_the_same_exactly_when_their_keys_match(
    network: str, first: tuple[str, str], second: tuple[str, str]
) -> None:
    same_address = first[0] == second[0]
    if is_evm_network(network):
        assert (address_key(network, first[1]) == address_key(network, second[1])) == same_address
    else:
        assert (address_key(network, first[1]) == address_key(network, second[1])) == (first[1] == second[1])
