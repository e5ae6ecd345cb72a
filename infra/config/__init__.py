"""The deployment configuration: ``cdk.json`` context -> frozen, validated dataclasses.

``environment`` holds the per-environment dataclasses and :func:`load_config`; ``alerting``
the alarm thresholds and the escalation ladder; ``reader`` the typed context reader;
``catalog`` the AWS facts the values are checked against.
"""

from infra.config.alerting import (
    AlarmThresholds,
    AlertingConfig,
    Channel,
    EscalationLevel,
    Severity,
    SlackConfig,
)
from infra.config.environment import (
    ENVIRONMENT_NAMES,
    BackupConfig,
    CacheConfig,
    DatabaseConfig,
    EnvironmentConfig,
    NetworkConfig,
    PgBouncerConfig,
    load_config,
)
from infra.config.reader import ConfigError

__all__ = [
    "ENVIRONMENT_NAMES",
    "AlarmThresholds",
    "AlertingConfig",
    "BackupConfig",
    "CacheConfig",
    "Channel",
    "ConfigError",
    "DatabaseConfig",
    "EnvironmentConfig",
    "EscalationLevel",
    "NetworkConfig",
    "PgBouncerConfig",
    "Severity",
    "SlackConfig",
    "load_config",
]
