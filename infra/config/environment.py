"""The deployment configuration: frozen dataclasses built once from the ``cdk.json`` context.

``cdk.json`` holds ``environments.defaults`` plus one block per environment (``dev``,
``staging``, ``prod``) laid over the defaults. :func:`load_config` validates everything up
front and raises :class:`ConfigError` naming the key at fault, so a typo fails the synth with
a message instead of producing a template that fails half-way through a deployment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from infra.config.alerting import (
    AlarmThresholds,
    AlertingConfig,
    Channel,
    EscalationLevel,
    Severity,
    SlackConfig,
    parse_alarms,
    parse_alerting,
)
from infra.config.catalog import (
    CACHE_NODE_TYPES,
    LOG_RETENTION_DAYS,
    RDS_MONITORING_INTERVALS,
    check_instance_class,
)
from infra.config.operations import (
    CrossRegionCopyConfig,
    MaintenanceConfig,
    RestoreDrillConfig,
    parse_cross_region_copy,
    parse_maintenance,
    parse_restore_drill,
)
from infra.config.reader import ConfigError, Section, deep_merge

__all__ = [
    "AlarmThresholds",
    "AlertingConfig",
    "Channel",
    "ConfigError",
    "EnvironmentConfig",
    "EscalationLevel",
    "Severity",
    "SlackConfig",
    "load_config",
]

ENVIRONMENT_NAMES = ("dev", "staging", "prod")

_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
_WINDOW = rf"{_HHMM}-{_HHMM}"
_WEEKLY_WINDOW = rf"{_DAY}:{_HHMM}-{_DAY}:{_HHMM}"
_ROLE = r"[a-z_][a-z0-9_]{0,62}"
_DIGEST = r"sha256:[0-9a-f]{64}"
_TAGGED = r"[a-z0-9][a-z0-9./_-]*:[A-Za-z0-9._-]+"


@dataclass(frozen=True)
class NetworkConfig:
    """VPC layout: CIDR, NAT gateways (0 means none) and flow-log retention."""

    cidr: str
    nat_gateways: int
    flow_log_retention_days: int


@dataclass(frozen=True)
class DatabaseConfig:
    """RDS PostgreSQL primary, read replica, parameters and protection."""

    database_name: str
    master_username: str
    instance_class: str
    replica_instance_class: str
    replicas: int
    allocated_storage_gib: int
    max_allocated_storage_gib: int
    multi_az: bool
    backup_retention_days: int
    backup_window: str
    maintenance_window: str
    deletion_protection: bool
    insights_mode: Literal["standard", "advanced"]
    monitoring_interval_seconds: int
    log_retention_days: int
    maintenance_work_mem_mb: int
    slow_statement_ms: int
    secret_rotation_days: int
    app_login_username: str
    pgbouncer_auth_username: str


@dataclass(frozen=True)
class CacheConfig:
    """ElastiCache (Valkey) replication group."""

    node_type: str
    engine_version: str
    replicas: int
    snapshot_retention_days: int
    snapshot_window: str
    maintenance_window: str
    log_retention_days: int


@dataclass(frozen=True)
class PgBouncerConfig:
    """PgBouncer on ECS Fargate: images, task size, pools, timeouts and autoscaling bounds."""

    image: str
    image_digest: str | None
    tls_init_image: str
    tls_init_image_digest: str | None
    cpu: int
    memory_mib: int
    min_tasks: int
    max_tasks: int
    pool_mode: Literal["transaction", "session"]
    default_pool_size: int
    min_pool_size: int
    reserve_pool_size: int
    max_db_connections: int
    max_client_conn: int
    max_prepared_statements: int
    tcp_keepidle_seconds: int
    server_login_retry_seconds: int
    scale_up_utilization: float
    scale_down_utilization: float
    scale_in_after_minutes: int
    log_retention_days: int

    @property
    def images(self) -> dict[str, str]:
        """Both images with their digest pins, keyed by their config key."""
        return {
            "image": _pinned(self.image, self.image_digest),
            "tls_init_image": _pinned(self.tls_init_image, self.tls_init_image_digest),
        }


def _pinned(image: str, digest: str | None) -> str:
    return f"{image}@{digest}" if digest else image


@dataclass(frozen=True)
class PullThroughRule:
    """An ECR pull-through cache rule: ``<prefix>/<repository>`` mirrors ``upstream``."""

    prefix: str
    upstream: str
    credential_secret_name: str | None


@dataclass(frozen=True)
class BackupConfig:
    """AWS Backup weekly plan (RDS itself owns the daily automated backups)."""

    weekly_schedule: str
    weekly_retention_weeks: int
    vault_lock_mode: Literal["governance", "compliance"]
    lock_min_retention_days: int
    lock_max_retention_days: int
    cross_region_copy: CrossRegionCopyConfig


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything one environment (dev, staging or prod) is deployed with."""

    name: str
    project: str
    account: str
    region: str
    availability_zones: tuple[str, str]
    retain_on_delete: bool
    network: NetworkConfig
    database: DatabaseConfig
    cache: CacheConfig
    pgbouncer: PgBouncerConfig
    backup: BackupConfig
    pull_through: tuple[PullThroughRule, ...]
    alarms: AlarmThresholds
    alerting: AlertingConfig
    restore_drill: RestoreDrillConfig
    maintenance: MaintenanceConfig

    @property
    def prefix(self) -> str:
        """Resource name prefix, e.g. ``recipe-dev``."""
        return f"{self.project}-{self.name}"


def load_config(environments: object, env_name: object) -> EnvironmentConfig:
    """Validate the ``environments`` context and return the config of ``env_name``.

    ``environments`` is the context value of the same name (``defaults`` plus one block per
    environment); ``env_name`` is the ``env`` context value (``cdk synth -c env=dev``).
    """
    if env_name is None:
        raise ConfigError("env: missing; pass the environment with -c env=dev|staging|prod")
    if not isinstance(environments, Mapping):
        raise ConfigError("environments: missing from the cdk.json context")
    known = sorted(key for key in environments if key != "defaults")
    if env_name not in known:
        raise ConfigError(f"env: unknown environment {env_name!r}; known: {', '.join(known)}")
    defaults = environments.get("defaults", {})
    if not isinstance(defaults, Mapping):
        raise ConfigError("environments.defaults: expected an object")
    merged = deep_merge(defaults, environments[env_name])
    return _environment(Section(merged, f"environments.{env_name}"), str(env_name))


def _environment(root: Section, name: str) -> EnvironmentConfig:
    region = root.string("region", pattern=r"[a-z]{2}(-gov)?-[a-z]+-\d", hint="an AWS region")
    zones = root.strings(
        "availability_zones", pattern=rf"{region}[a-z]", hint=f"a zone of {region}"
    )
    if len(zones) != 2:
        raise root.error("availability_zones", f"expected exactly 2 zones, got {len(zones)}")
    config = EnvironmentConfig(
        name=name,
        project=root.string("project", pattern=r"[a-z][a-z0-9]{1,15}", hint="lowercase, <= 16"),
        account=root.string("account", pattern=r"\d{12}", hint="a 12-digit AWS account id"),
        region=region,
        availability_zones=(zones[0], zones[1]),
        retain_on_delete=root.boolean("retain_on_delete"),
        network=_network(root.section("network")),
        database=_database(root.section("database")),
        cache=_cache(root.section("cache")),
        pgbouncer=_pgbouncer(root.section("pgbouncer")),
        backup=_backup(root.section("backup"), region),
        pull_through=_pull_through(root.section("pull_through_cache")),
        alarms=parse_alarms(root.section("alarms")),
        alerting=parse_alerting(root.section("alerting")),
        restore_drill=parse_restore_drill(root.section("restore_drill")),
        maintenance=parse_maintenance(root.section("maintenance")),
    )
    root.reject_unknown_keys()
    if config.network.nat_gateways == 0:
        for key, image in config.pgbouncer.images.items():
            if not from_ecr(image, config.pull_through):
                raise root.error(
                    "network.nat_gateways",
                    f"0, but pgbouncer.{key} is pulled from a public registry: keep a NAT "
                    "gateway or pull it through an ECR pull-through cache prefix",
                )
    return config


def from_ecr(image: str, rules: tuple[PullThroughRule, ...]) -> bool:
    """Whether ``image`` comes from this account's ECR (a cache prefix or a private copy)."""
    first = image.split("/", 1)[0]
    return ".dkr.ecr." in first or any(first == rule.prefix for rule in rules)


def _network(section: Section) -> NetworkConfig:
    config = NetworkConfig(
        cidr=section.string(
            "cidr", pattern=r"10\.\d{1,3}\.0\.0/16", hint="a 10.x.0.0/16 private range"
        ),
        nat_gateways=section.integer("nat_gateways", minimum=0, maximum=2),
        flow_log_retention_days=section.choice("flow_log_retention_days", LOG_RETENTION_DAYS),
    )
    section.reject_unknown_keys()
    return config


def _database(section: Section) -> DatabaseConfig:
    instance_class = section.string("instance_class")
    replica_class = section.string("replica_instance_class")
    for key, value in (
        ("instance_class", instance_class),
        ("replica_instance_class", replica_class),
    ):
        problem = check_instance_class(value)
        if problem:
            raise section.error(key, problem)
    allocated = section.integer("allocated_storage_gib", minimum=20, maximum=65536)
    maximum = section.integer("max_allocated_storage_gib", minimum=20, maximum=65536)
    if maximum < allocated:
        raise section.error("max_allocated_storage_gib", "must be >= allocated_storage_gib")
    config = DatabaseConfig(
        database_name=section.string("database_name", pattern=r"[a-z][a-z0-9_]{0,62}"),
        master_username=section.string("master_username", pattern=r"[a-z][a-z0-9_]{0,15}"),
        instance_class=instance_class,
        replica_instance_class=replica_class,
        replicas=section.integer("replicas", minimum=0, maximum=2),
        allocated_storage_gib=allocated,
        max_allocated_storage_gib=maximum,
        multi_az=section.boolean("multi_az"),
        backup_retention_days=section.integer("backup_retention_days", minimum=1, maximum=35),
        backup_window=section.string("backup_window", pattern=_WINDOW, hint="HH:MM-HH:MM (UTC)"),
        maintenance_window=section.string(
            "maintenance_window", pattern=_WEEKLY_WINDOW, hint="ddd:HH:MM-ddd:HH:MM (UTC)"
        ),
        deletion_protection=section.boolean("deletion_protection"),
        insights_mode=section.choice("insights_mode", ("standard", "advanced")),
        monitoring_interval_seconds=section.choice(
            "monitoring_interval_seconds", RDS_MONITORING_INTERVALS
        ),
        log_retention_days=section.choice("log_retention_days", LOG_RETENTION_DAYS),
        maintenance_work_mem_mb=section.integer("maintenance_work_mem_mb", minimum=64),
        slow_statement_ms=section.integer("slow_statement_ms", minimum=1),
        secret_rotation_days=section.integer("secret_rotation_days", minimum=1, maximum=365),
        app_login_username=section.string("app_login_username", pattern=_ROLE),
        pgbouncer_auth_username=section.string("pgbouncer_auth_username", pattern=_ROLE),
    )
    section.reject_unknown_keys()
    return config


def _cache(section: Section) -> CacheConfig:
    node_type = section.string("node_type")
    if node_type not in CACHE_NODE_TYPES:
        raise section.error("node_type", f"unknown cache node type {node_type!r}")
    config = CacheConfig(
        node_type=node_type,
        engine_version=section.choice("engine_version", ("7.2", "8.0", "8.1")),
        replicas=section.integer("replicas", minimum=0, maximum=5),
        snapshot_retention_days=section.integer("snapshot_retention_days", minimum=1, maximum=35),
        snapshot_window=section.string("snapshot_window", pattern=_WINDOW, hint="HH:MM-HH:MM"),
        maintenance_window=section.string(
            "maintenance_window", pattern=_WEEKLY_WINDOW, hint="ddd:HH:MM-ddd:HH:MM (UTC)"
        ),
        log_retention_days=section.choice("log_retention_days", LOG_RETENTION_DAYS),
    )
    section.reject_unknown_keys()
    return config


def _pgbouncer(section: Section) -> PgBouncerConfig:
    image = section.string(
        "image",
        pattern=r"[a-z0-9./_-]+:v?1\.(2[2-9]|[3-9]\d)\.\d+[a-z0-9.-]*",
        hint="a pinned image tag of PgBouncer >= 1.22 (no 'latest'; digest in image_digest)",
    )
    min_tasks = section.integer("min_tasks", minimum=1, maximum=10)
    max_tasks = section.integer("max_tasks", minimum=1, maximum=20)
    if max_tasks < min_tasks:
        raise section.error("max_tasks", "must be >= min_tasks")
    default_pool = section.integer("default_pool_size", minimum=1, maximum=500)
    min_pool = section.integer("min_pool_size", minimum=0, maximum=500)
    max_db = section.integer("max_db_connections", minimum=1, maximum=5000)
    if not min_pool <= default_pool <= max_db:
        raise section.error(
            "default_pool_size", "need min_pool_size <= default <= max_db_connections"
        )
    up = section.number("scale_up_utilization", minimum=0.05, maximum=1.0)
    down = section.number("scale_down_utilization", minimum=0.0, maximum=1.0)
    if down >= up:
        raise section.error("scale_down_utilization", "must be below scale_up_utilization")
    config = PgBouncerConfig(
        image=image,
        image_digest=_optional_digest(section, "image_digest"),
        tls_init_image=section.string(
            "tls_init_image", pattern=_TAGGED, hint="an image with a pinned tag"
        ),
        tls_init_image_digest=_optional_digest(section, "tls_init_image_digest"),
        cpu=section.choice("cpu", (256, 512, 1024, 2048)),
        memory_mib=section.integer("memory_mib", minimum=512, maximum=16384),
        min_tasks=min_tasks,
        max_tasks=max_tasks,
        pool_mode=section.choice("pool_mode", ("transaction", "session")),
        default_pool_size=default_pool,
        min_pool_size=min_pool,
        reserve_pool_size=section.integer("reserve_pool_size", minimum=0, maximum=100),
        max_db_connections=max_db,
        max_client_conn=section.integer("max_client_conn", minimum=10, maximum=100000),
        max_prepared_statements=section.integer("max_prepared_statements", minimum=0),
        # An NLB forgets an idle flow after 350 s: keepalives must start before that.
        tcp_keepidle_seconds=section.integer("tcp_keepidle_seconds", minimum=10, maximum=340),
        server_login_retry_seconds=section.integer(
            "server_login_retry_seconds", minimum=1, maximum=15
        ),
        scale_up_utilization=up,
        scale_down_utilization=down,
        scale_in_after_minutes=section.integer("scale_in_after_minutes", minimum=5, maximum=60),
        log_retention_days=section.choice("log_retention_days", LOG_RETENTION_DAYS),
    )
    section.reject_unknown_keys()
    return config


def _backup(section: Section, region: str) -> BackupConfig:
    config = BackupConfig(
        weekly_schedule=section.string(
            "weekly_schedule", pattern=r"cron\(.+\)", hint="an EventBridge cron(...) expression"
        ),
        weekly_retention_weeks=section.integer("weekly_retention_weeks", minimum=1, maximum=520),
        vault_lock_mode=section.choice("vault_lock_mode", ("governance", "compliance")),
        lock_min_retention_days=section.integer("lock_min_retention_days", minimum=1),
        lock_max_retention_days=section.integer("lock_max_retention_days", maximum=36500),
        cross_region_copy=parse_cross_region_copy(section.section("cross_region_copy"), region),
    )
    kept = 7 * config.weekly_retention_weeks
    if not config.lock_min_retention_days <= kept <= config.lock_max_retention_days:
        raise section.error(
            "lock_min_retention_days",
            f"the plan keeps recovery points {kept} days: the vault lock bounds must include it",
        )
    section.reject_unknown_keys()
    return config


def _optional_digest(section: Section, key: str) -> str | None:
    if not section.has(key):
        section.optional_string(key)
        return None
    return section.string(key, pattern=_DIGEST, hint="sha256:<64 hex> as the registry reports it")


def _pull_through(section: Section) -> tuple[PullThroughRule, ...]:
    rules = []
    for prefix in list(section.keys()):
        rule = section.section(prefix)
        if not re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", prefix) or not 2 <= len(prefix) <= 30:
            raise section.error(prefix, "not a valid ECR repository prefix")
        rules.append(
            PullThroughRule(
                prefix=prefix,
                upstream=rule.choice("upstream", ("registry-1.docker.io", "public.ecr.aws")),
                credential_secret_name=rule.optional_string("credential_secret_name"),
            )
        )
        rule.reject_unknown_keys()
        if rules[-1].upstream == "registry-1.docker.io" and not rules[-1].credential_secret_name:
            raise rule.error("credential_secret_name", "Docker Hub needs credentials")
    section.reject_unknown_keys()
    return tuple(rules)
