"""A local, faithful Dfns API sandbox (see README.md): ``SandboxServer`` or ``python -m dfns_sandbox``."""

from dfns_sandbox.core import OfficerCredentials, Sandbox, SandboxConfig, ServiceAccountCredentials
from dfns_sandbox.prices import PriceTable, TokenInfo
from dfns_sandbox.server import SandboxServer

__all__ = [
    "OfficerCredentials",
    "PriceTable",
    "Sandbox",
    "SandboxConfig",
    "SandboxServer",
    "ServiceAccountCredentials",
    "TokenInfo",
]
