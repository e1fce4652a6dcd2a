"""cdk-nag acknowledgements: every one carries a written reason, and wildcard findings are acknowledged
one by one (cdk-nag 3 names each ``RuleId[Resource::<LogicalId.Arn>…]``)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    # "AwsSolutions::" is the plugin's prefix; an id without a known prefix would count as an annotation.
    Validations.of(construct).acknowledge(Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))


def arn_wildcard(resource: IConstruct, suffix: str) -> str:
    """The IAM5 finding for ``<resource ARN><suffix>``, e.g. a table's ``/index/*`` or a function's ``:*``."""
    element = resource.node.default_child
    assert isinstance(element, CfnElement), f"{resource.node.path} has no CloudFormation resource"
    return f"AwsSolutions-IAM5[Resource::<{Stack.of(element).get_logical_id(element)}.Arn>{suffix}]"
