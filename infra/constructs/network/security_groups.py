"""Security groups and the exact paths between them; nothing is open to 0.0.0.0/0 inbound.

Paths (ingress on the target and the matching egress on the source):

* app, jobs -> PgBouncer load balancer 6432 -> PgBouncer tasks 6432
* PgBouncer tasks, jobs -> database 5432
* app, jobs -> cache 6379
* app, PgBouncer tasks, jobs -> VPC interface endpoints 443
* PgBouncer tasks -> 443 (image layers from S3 through the gateway endpoint)

Every group starts with no egress at all (``allow_all_outbound=False``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

PGBOUNCER_PORT = 6432
POSTGRES_PORT = 5432
CACHE_PORT = 6379
HTTPS_PORT = 443


@dataclass(frozen=True)
class Path:
    """One allowed flow: ``source`` may open TCP connections to ``target`` on ``port``."""

    source: str
    target: str
    port: int
    description: str


PATHS = (
    Path("app", "pgbouncer_lb", PGBOUNCER_PORT, "app to PgBouncer"),
    Path("jobs", "pgbouncer_lb", PGBOUNCER_PORT, "jobs to PgBouncer"),
    Path("pgbouncer_lb", "pgbouncer", PGBOUNCER_PORT, "load balancer to PgBouncer tasks"),
    Path("pgbouncer", "database", POSTGRES_PORT, "PgBouncer to PostgreSQL"),
    Path("jobs", "database", POSTGRES_PORT, "jobs (migrations, rotation) to PostgreSQL"),
    Path("app", "cache", CACHE_PORT, "app to cache"),
    Path("jobs", "cache", CACHE_PORT, "jobs (GDPR purge) to cache"),
    Path("app", "endpoints", HTTPS_PORT, "app to AWS APIs"),
    Path("pgbouncer", "endpoints", HTTPS_PORT, "PgBouncer to AWS APIs"),
    Path("jobs", "endpoints", HTTPS_PORT, "jobs to AWS APIs"),
)
"""Every allowed path between the groups; tests compare the template against this list."""

DESCRIPTIONS = {
    "app": "application containers (clients of PgBouncer and the cache)",
    "pgbouncer_lb": "internal NLB in front of PgBouncer",
    "pgbouncer": "PgBouncer tasks",
    "database": "RDS PostgreSQL primary and replicas",
    "cache": "ElastiCache replication group",
    "jobs": "job Lambdas (migrations, secret rotation, GDPR, backup validation)",
}


class SecurityGroups(Construct):
    """The security groups of the environment, wired with :data:`PATHS` only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        vpc: ec2.IVpc,
        endpoints: ec2.SecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.groups: dict[str, ec2.SecurityGroup] = {"endpoints": endpoints}
        for name, description in DESCRIPTIONS.items():
            self.groups[name] = ec2.SecurityGroup(
                self,
                "".join(part.capitalize() for part in name.split("_")),
                vpc=vpc,
                security_group_name=f"{prefix}-{name.replace('_', '-')}",
                description=f"{prefix}: {description}",
                allow_all_outbound=False,
            )
        for path in PATHS:
            source, target = self.groups[path.source], self.groups[path.target]
            port = ec2.Port.tcp(path.port)
            target.add_ingress_rule(source, port, path.description)
            source.add_egress_rule(target, port, path.description)
        self.pgbouncer.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(HTTPS_PORT),
            "image layers from S3 (gateway endpoint; its prefix list would need a lookup)",
        )

    @property
    def app(self) -> ec2.SecurityGroup:
        """Application containers."""
        return self.groups["app"]

    @property
    def pgbouncer_lb(self) -> ec2.SecurityGroup:
        """The PgBouncer network load balancer."""
        return self.groups["pgbouncer_lb"]

    @property
    def pgbouncer(self) -> ec2.SecurityGroup:
        """PgBouncer tasks."""
        return self.groups["pgbouncer"]

    @property
    def database(self) -> ec2.SecurityGroup:
        """RDS instances."""
        return self.groups["database"]

    @property
    def cache(self) -> ec2.SecurityGroup:
        """The cache replication group."""
        return self.groups["cache"]

    @property
    def jobs(self) -> ec2.SecurityGroup:
        """Job Lambdas."""
        return self.groups["jobs"]
