"""Container images through ECR pull-through caches: no anonymous public-registry pulls.

Each rule mirrors one upstream registry under a repository prefix of this account's ECR
(``docker-hub/...`` for Docker Hub, with credentials from a Secrets Manager secret the
operator creates; ``ecr-public/...`` for ECR Public, anonymous). Tasks pull through the VPC's
ECR endpoints and the S3 gateway, so neither the rate limits of one NAT address nor a NAT at
all are in the way. An image in the config whose first path segment is no cache prefix is
pulled as written (a private ECR copy, or a public registry through the NAT).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config.environment import PullThroughRule

_UPSTREAM_NAMES = {"registry-1.docker.io": "docker-hub", "public.ecr.aws": "ecr-public"}


class ImageSource(Construct):
    """The pull-through cache rules of the environment and the image URIs they serve."""

    def __init__(
        self, scope: Construct, construct_id: str, *, rules: tuple[PullThroughRule, ...]
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._rules = rules
        self.registry = f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"
        for rule in rules:
            credential = (
                stack.format_arn(
                    service="secretsmanager",
                    resource="secret",
                    resource_name=rule.credential_secret_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
                if rule.credential_secret_name
                else None
            )
            ecr.CfnPullThroughCacheRule(
                self,
                "".join(part.capitalize() for part in rule.prefix.split("-")),
                ecr_repository_prefix=rule.prefix,
                upstream_registry_url=rule.upstream,
                upstream_registry=_UPSTREAM_NAMES[rule.upstream],
                credential_arn=credential,
            )

    def uri(self, image: str) -> str:
        """The URI a task pulls ``image`` (config value, digest pin included) from."""
        first = image.split("/", 1)[0]
        cached = any(first == rule.prefix for rule in self._rules)
        return f"{self.registry}/{image}" if cached else image

    def grant_pull(self, role: iam.IRole) -> None:
        """Let ``role`` pull through the caches (the first pull creates the repository)."""
        stack = Stack.of(self)
        repositories = [
            stack.format_arn(service="ecr", resource="repository", resource_name=f"{rule.prefix}/*")
            for rule in self._rules
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullThroughCache",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchImportUpstreamImage",
                    "ecr:CreateRepository",
                ],
                resources=repositories,
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )
