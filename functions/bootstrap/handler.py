"""The Dfns bootstrap as a CloudFormation custom resource (behind ``aws_cdk.custom_resources.Provider``).

Create/Update run ``bootstrap_dfns``; the Provider framework turns the return value into the response and
an exception into a FAILED one. Delete changes nothing in Dfns on purpose: the governance and limit
policies protect client wallets that outlive any stack, removing the governance policy is itself a
change the compliance officer must approve, and a stack deletion must never weaken controls.

Invoked directly with ``{"action": "bootstrap"}`` (``aws lambda invoke``) it runs the same bootstrap:
that is how the operator finishes the first deploy once the service-account secret is filled in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from managed_accounts.bootstrap import bootstrap_dfns
from managed_accounts.observability import logger, metrics, tracer
from managed_accounts.secrets import SecretFormatError
from managed_accounts.shared_policies import shared_policy_ids
from managed_accounts.wiring import BootstrapDependencies

PHYSICAL_RESOURCE_ID = "dfns-bootstrap"


def run(event: dict[str, Any], deps: BootstrapDependencies) -> dict[str, Any]:
    request_type = event.get("RequestType") or event.get("action") or ""
    if request_type == "Delete":
        logger.info("stack resource deleted: Dfns policies and webhook are left in place on purpose")
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_RESOURCE_ID}
    if request_type not in ("Create", "Update", "bootstrap"):
        raise ValueError(f"unsupported request {request_type!r}")
    try:
        gateway = deps.gateway()
    except SecretFormatError:
        if request_type == "bootstrap":
            raise
        # The first deploy creates the secret empty: succeed so the stack exists, and say what is next.
        logger.warning("Dfns credentials not stored yet: fill the secret, then invoke this function")
        return {"PhysicalResourceId": PHYSICAL_RESOURCE_ID, "Data": {"Status": "AwaitingCredentials"}}
    result = bootstrap_dfns(
        gateway,
        deps.settings,
        webhook_url=deps.webhook_url,
        store_webhook_secret=deps.webhook_secrets.store,
        load_webhook_secret=deps.webhook_secrets.load,
    )
    logger.info("dfns bootstrapped", extra=result.as_dict())
    if deps.policy_registry is not None:  # the restrictions view reads these policies by id
        deps.policy_registry.record_shared_policies(
            shared_policy_ids(result, deps.settings, datetime.now(UTC))
        )
    data = {"Status": "Bootstrapped", **result.summary()}
    return {"PhysicalResourceId": PHYSICAL_RESOURCE_ID, "Data": data}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, deps: BootstrapDependencies | None = None
) -> dict[str, Any]:
    if deps is None:
        from managed_accounts import wiring

        deps = wiring.bootstrap_dependencies()
    return run(event, deps)
