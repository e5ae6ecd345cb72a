"""Configuration of the operational jobs: the restore drill, maintenance, the backup copy.

Parsed from ``environments.<env>.restore_drill``, ``.maintenance`` and
``.backup.cross_region_copy`` in ``cdk.json`` and attached to
:class:`~infra.config.environment.EnvironmentConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.catalog import LOG_RETENTION_DAYS, check_instance_class
from infra.config.reader import Section

_CRON = r"cron\(.+\)"
_REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"


@dataclass(frozen=True)
class RestoreDrillConfig:
    """AWS Backup restore testing of the primary database's weekly snapshots."""

    schedule: str
    """When the drill starts (EventBridge cron, UTC)."""
    instance_class: str
    """Class of the temporary instance the snapshot is restored to."""
    selection_window_days: int
    """The newest recovery point at most this old is restored."""
    start_window_hours: int
    validation_window_hours: int
    """Restore testing deletes the temporary instance this long after the restore."""
    max_age_days: int
    """Alarm when the last drill that passed is older than this."""


@dataclass(frozen=True)
class MaintenanceConfig:
    """The scheduled maintenance Lambda."""

    schedule: str
    vector_tune_schedule: str
    log_retention_days: int


@dataclass(frozen=True)
class CrossRegionCopyConfig:
    """Copy of each weekly recovery point to a vault in another region (off: ``enabled``)."""

    enabled: bool
    region: str


def parse_restore_drill(section: Section) -> RestoreDrillConfig:
    """Validate ``restore_drill``."""
    config = RestoreDrillConfig(
        schedule=section.string("schedule", pattern=_CRON, hint="an EventBridge cron(...)"),
        instance_class=section.string("instance_class"),
        selection_window_days=section.integer("selection_window_days", minimum=1, maximum=365),
        start_window_hours=section.integer("start_window_hours", minimum=1, maximum=168),
        validation_window_hours=section.integer("validation_window_hours", minimum=1, maximum=168),
        max_age_days=section.integer("max_age_days", minimum=7, maximum=366),
    )
    problem = check_instance_class(config.instance_class)
    if problem:
        raise section.error("instance_class", problem)
    section.reject_unknown_keys()
    return config


def parse_maintenance(section: Section) -> MaintenanceConfig:
    """Validate ``maintenance``."""
    config = MaintenanceConfig(
        schedule=section.string("schedule", pattern=_CRON, hint="an EventBridge cron(...)"),
        vector_tune_schedule=section.string(
            "vector_tune_schedule", pattern=_CRON, hint="an EventBridge cron(...)"
        ),
        log_retention_days=section.choice("log_retention_days", LOG_RETENTION_DAYS),
    )
    section.reject_unknown_keys()
    return config


def parse_cross_region_copy(section: Section, home_region: str) -> CrossRegionCopyConfig:
    """Validate ``backup.cross_region_copy``; the copy must leave the home region."""
    config = CrossRegionCopyConfig(
        enabled=section.boolean("enabled"),
        region=section.string("region", pattern=_REGION, hint="an AWS region"),
    )
    if config.enabled and config.region == home_region:
        raise section.error("region", "must differ from the environment's region")
    section.reject_unknown_keys()
    return config
