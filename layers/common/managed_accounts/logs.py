"""Loggers for code that must not load the AWS SDK (the domain): plain ``logging`` children of the
Powertools logger that ``observability.py`` builds, so their records get its JSON format and keys."""

from __future__ import annotations

import logging
import os

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "managed-accounts")


def get_logger(name: str) -> logging.Logger:
    """``<service>.<name>``: propagates to the service's Powertools handler once that exists."""
    return logging.getLogger(f"{SERVICE}.{name}")
