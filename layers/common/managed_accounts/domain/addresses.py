"""Destination address validation and normalisation, per network family.

EVM addresses are checked (0x + 40 hex, EIP-55 checksum when mixed case) and returned lowercase,
because Dfns compares EVM whitelist entries case-insensitively in newer docs but case-sensitively in
older ones (DFNS.md §4.7): lowercase satisfies both. Every other address is kept byte-exact (Dfns
compares them exactly) after basic sanity checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from managed_accounts.domain.keccak import keccak256
from managed_accounts.errors import InvalidInput

_EVM_PREFIXES = (
    "Ethereum",
    "Base",
    "Arbitrum",
    "Polygon",
    "Optimism",
    "Bsc",
    "Avalanche",
    "Arc",
    "Berachain",
    "Celo",
    "Linea",
    "Ink",
    "Plume",
    "Sonic",
    "FantomOpera",
)
_EVM_SHAPE = re.compile(r"0x[0-9a-fA-F]{40}")
_BASE58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_BECH32_DATA = re.compile(r"[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
MAX_ADDRESS_LENGTH = 128


def is_evm_network(network: str) -> bool:
    return network.startswith(_EVM_PREFIXES)


def address_key(network: str, address: str) -> str:
    """The one rule for "the same address" (as Dfns compares them): EVM case-insensitively, the rest
    byte-exact. Every comparison in the product (whitelist, mirror, drift) goes through it."""
    return address.lower() if is_evm_network(network) else address


def checksum_address(lowercase_hex: str) -> str:
    """The EIP-55 form of a ``0x``-prefixed lowercase address."""
    body = lowercase_hex[2:]
    digest = keccak256(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(body, digest[:40], strict=True))


def normalize_address(network: str, raw: str) -> str:
    """The address as stored and sent to Dfns, or ``InvalidInput`` naming what is wrong."""
    if not raw:
        raise InvalidInput("address is empty")
    if raw != raw.strip() or any(c.isspace() for c in raw):
        raise InvalidInput("address contains whitespace")
    if len(raw) > MAX_ADDRESS_LENGTH:
        raise InvalidInput(f"address is longer than {MAX_ADDRESS_LENGTH} characters")
    if is_evm_network(network):
        return _normalize_evm(network, raw)
    return _check_other(network, raw)


def _normalize_evm(network: str, raw: str) -> str:
    if not raw.startswith("0x"):
        raise InvalidInput(f"a {network} address starts with 0x")
    if len(raw) != 42:
        raise InvalidInput(f"a {network} address is 0x followed by 40 hex characters (got {len(raw) - 2})")
    if not _EVM_SHAPE.fullmatch(raw):
        raise InvalidInput(f"a {network} address has only hex characters after 0x")
    lower = raw.lower()
    body = raw[2:]
    mixed_case = body != body.lower() and body != body.upper()
    if mixed_case and checksum_address(lower) != raw:
        raise InvalidInput("the address's EIP-55 checksum is wrong (mixed case that does not match)")
    return lower


def _check_solana(network: str, raw: str) -> None:
    if not (32 <= len(raw) <= 44) or not _BASE58.fullmatch(raw):
        raise InvalidInput("a Solana address is 32 to 44 base58 characters")


def _check_tron(network: str, raw: str) -> None:
    if len(raw) != 34 or not raw.startswith("T") or not _BASE58.fullmatch(raw):
        raise InvalidInput("a Tron address is 34 base58 characters starting with T")


def _check_generic(network: str, raw: str) -> None:
    if len(raw) < 8:
        raise InvalidInput("address is too short")


def _check_other(network: str, raw: str) -> str:
    if not _PRINTABLE.fullmatch(raw):
        raise InvalidInput("address has non-printable or non-ASCII characters")
    family = next((check for prefixes, check in _FAMILY_CHECKS if network.startswith(prefixes)), None)
    (family or _check_generic)(network, raw)
    return raw


def _check_bitcoin_like(network: str, raw: str) -> None:
    lower = raw.lower()
    for hrp in ("bc1", "tb1", "bcrt1", "ltc1", "tltc1"):
        if lower.startswith(hrp):
            if raw != lower and raw != raw.upper():
                raise InvalidInput("a bech32 address is all lowercase or all uppercase")
            data = lower[len(hrp) :]
            if not (6 + 8 <= len(lower) <= 90) or not _BECH32_DATA.fullmatch(data):
                raise InvalidInput("a bech32 address has characters outside the bech32 alphabet")
            return
    if not (26 <= len(raw) <= 35) or not _BASE58.fullmatch(raw):
        raise InvalidInput(f"a legacy {network} address is 26 to 35 base58 characters")


# Address checks by network family (prefix of the Dfns network name); anything else gets the generic one.
_FAMILY_CHECKS: tuple[tuple[tuple[str, ...], Callable[[str, str], None]], ...] = (
    (("Bitcoin", "Litecoin"), _check_bitcoin_like),
    (("Solana",), _check_solana),
    (("Tron",), _check_tron),
)
