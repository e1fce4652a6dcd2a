"""Networks, their native assets and a fixed, configurable USD price table.

Amounts are integers in the smallest unit; USD values use ``Decimal`` (never floats) so limits compare
exactly. A missing price makes the amount unknown, and amount rules then trigger (fail closed, §4.3).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    symbol: str
    decimals: int
    evm: bool
    fee: int  # flat fee per transfer in the smallest unit, deducted from the sender


NETWORKS: dict[str, NetworkInfo] = {
    "Ethereum": NetworkInfo("ETH", 18, True, 21_000 * 10**9),
    "EthereumSepolia": NetworkInfo("SepoliaETH", 18, True, 21_000 * 10**9),
    "Base": NetworkInfo("ETH", 18, True, 21_000 * 10**8),
    "BaseSepolia": NetworkInfo("ETH", 18, True, 21_000 * 10**8),
    "ArbitrumSepolia": NetworkInfo("ETH", 18, True, 21_000 * 10**8),
    "Polygon": NetworkInfo("POL", 18, True, 21_000 * 10**10),
    "PolygonAmoy": NetworkInfo("POL", 18, True, 21_000 * 10**10),
    "ArcTestnet": NetworkInfo("USDC", 18, True, 21_000 * 10**9),
    "Bitcoin": NetworkInfo("BTC", 8, False, 1_000),
    "BitcoinSignet": NetworkInfo("BTC", 8, False, 1_000),
    "BitcoinTestnet4": NetworkInfo("BTC", 8, False, 1_000),
    "Solana": NetworkInfo("SOL", 9, False, 5_000),
    "SolanaDevnet": NetworkInfo("SOL", 9, False, 5_000),
    "Tron": NetworkInfo("TRX", 6, False, 1_000_000),
    "TronNile": NetworkInfo("TRX", 6, False, 1_000_000),
}

DEFAULT_PRICES: dict[str, Decimal] = {
    "ETH": Decimal(3000),
    "SepoliaETH": Decimal(3000),
    "POL": Decimal("0.5"),
    "USDC": Decimal(1),
    "BTC": Decimal(60000),
    "SOL": Decimal(150),
    "TRX": Decimal("0.1"),
}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    symbol: str
    decimals: int


class PriceTable:
    """USD prices by symbol, plus the ERC-20 contracts the sandbox knows (lowercase address → token)."""

    def __init__(
        self,
        prices: dict[str, Decimal] | None = None,
        tokens: dict[str, TokenInfo] | None = None,
    ) -> None:
        self.prices = dict(DEFAULT_PRICES if prices is None else prices)
        self.tokens = {k.lower(): v for k, v in (tokens or {}).items()}

    def token(self, contract: str) -> TokenInfo:
        # An unknown contract is still transferable; it just has no price (amount rules fail closed).
        return self.tokens.get(contract.lower(), TokenInfo("UNKNOWN", 18))

    def usd(self, symbol: str, amount: int, decimals: int) -> Decimal | None:
        price = self.prices.get(symbol)
        if price is None:
            return None
        return Decimal(amount) / (Decimal(10) ** decimals) * price


def network_info(network: str) -> NetworkInfo | None:
    return NETWORKS.get(network)


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_address(network: str) -> str:
    """A plausible, random address: EVM lowercase 0x+40 hex; others in their usual alphabet."""
    info = NETWORKS[network]
    if info.evm:
        return "0x" + secrets.token_hex(20)
    if network.startswith("Bitcoin"):
        prefix = "bc1q" if network == "Bitcoin" else "tb1q"
        alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
        return prefix + "".join(secrets.choice(alphabet) for _ in range(38))
    if network.startswith("Tron"):
        return "T" + "".join(secrets.choice(_B58) for _ in range(33))
    return "".join(secrets.choice(_B58) for _ in range(44))


def new_tx_hash(network: str) -> str:
    info = NETWORKS[network]
    if info.evm:
        return "0x" + secrets.token_hex(32)
    if network.startswith("Solana"):
        return "".join(secrets.choice(_B58) for _ in range(88))
    return secrets.token_hex(32)


def normalise_address(network: str, address: str) -> str:
    """How addresses compare: EVM case-insensitively (lowercase both), others exactly (§4.7)."""
    info = NETWORKS.get(network)
    return address.lower() if info is not None and info.evm else address


def random_id(prefix: str) -> str:
    """Dfns-looking ids, e.g. ``wa-1a2b3-4c5d6-7e8f9a0b1c2d3e4f``."""
    alphabet = string.ascii_lowercase + string.digits
    parts = ["".join(secrets.choice(alphabet) for _ in range(n)) for n in (5, 5, 16)]
    return f"{prefix}-" + "-".join(parts)
