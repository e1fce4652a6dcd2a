"""Dfns errors as domain errors, so the REST layer answers 503/502 with the product's error shape."""

from __future__ import annotations

from managed_accounts.dfns.errors import DfnsError, DfnsRateLimited, DfnsUnavailable
from managed_accounts.errors import DomainError, UpstreamError, UpstreamUnavailable


def as_domain_error(error: DfnsError) -> DomainError:
    """503 when trying again later can help (outage, rate limit), 502 otherwise."""
    if isinstance(error, DfnsUnavailable | DfnsRateLimited):
        return UpstreamUnavailable("Dfns is unavailable; try again shortly")
    reference = f" (Dfns error id {error.error_id})" if error.error_id else ""
    return UpstreamError(f"Dfns refused the operation{reference}")


def may_have_taken_effect(error: DfnsError) -> bool:
    """Whether a state-changing call that failed could still have been applied by Dfns."""
    if isinstance(error, DfnsUnavailable):
        return error.may_have_reached_dfns
    return False
