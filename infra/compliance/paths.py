"""Find a construct by its path inside a stack (used by the reviewed-exception lists)."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from constructs import IConstruct


def find_construct(stack: Stack, path: str) -> IConstruct:
    """The construct at ``path`` (``Parent/Child``) under ``stack``; raises when missing."""
    node: IConstruct = stack
    for part in path.split("/"):
        child = node.node.try_find_child(part)
        if child is None:
            raise LookupError(f"no construct {stack.stack_name}/{path}")
        node = child
    return node


def find_resource(stack: Stack, path: str) -> CfnResource:
    """The CloudFormation resource at ``path``: the construct itself or its default child."""
    construct = find_construct(stack, path)
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise LookupError(f"{stack.stack_name}/{path} is not a CloudFormation resource")
    return resource
