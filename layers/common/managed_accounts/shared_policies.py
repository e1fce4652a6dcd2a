"""What the bootstrap records for the restrictions view: the ids of the policies every client shares.

The restrictions view reads the governance policy and the client's limit-profile policies by id
(never a listing of every policy), so the bootstrap records their ids in the table once it has
ensured them. The hook is one line after ``bootstrap_dfns`` (functions/bootstrap/handler.py, the local
stack's ``run_bootstrap``):

    registry.record_shared_policies(shared_policy_ids(result, settings, now))
"""

from __future__ import annotations

from datetime import datetime

from managed_accounts.bootstrap import BootstrapResult, governance_policy_name
from managed_accounts.config import Settings
from managed_accounts.domain.report_models import SharedPolicyIds


def shared_policy_ids(result: BootstrapResult, settings: Settings, now: datetime) -> SharedPolicyIds:
    """Governance and limit-profile policy ids from the bootstrap's outcome, by the names it gives them
    (``<service>:governance``, ``<service>:limits:<profile>:<limit>``)."""
    prefix = f"{settings.service_name}:limits:"
    by_profile: dict[str, list[str]] = {profile: [] for profile in settings.limit_profiles}
    governance: str | None = None
    for outcome in result.policies:
        if outcome.name == governance_policy_name(settings):
            governance = outcome.policy_id
        elif outcome.name.startswith(prefix):
            profile = outcome.name[len(prefix) :].split(":", 1)[0]
            by_profile.setdefault(profile, []).append(outcome.policy_id)
    return SharedPolicyIds(
        governance_policy_id=governance or result.governance_policy_id or None,
        limit_policy_ids={profile: tuple(ids) for profile, ids in by_profile.items()},
        recorded_at=now,
    )
