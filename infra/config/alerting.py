"""Alarm thresholds and alerting endpoints of the deployment configuration.

Part of :mod:`infra.config` (which re-exports everything here); kept apart so each module
stays readable. Parsed from ``alarms`` and ``alerting`` in the ``cdk.json`` context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from infra.config.reader import Section

Severity = Literal["medium", "high", "critical"]
Channel = Literal["slack", "email", "pagerduty"]

_EMAIL = r"[^@\s]+@[^@\s]+\.[a-z]{2,}"


@dataclass(frozen=True)
class AlarmThresholds:
    """Alarm thresholds of seeds 001 and 003 (durations and severities live with the rules)."""

    cpu_percent: float
    memory_percent: float
    connections_high: float
    connections_critical: float
    query_latency_p95_ms: float
    slow_queries_per_5_minutes: float
    cache_hit_rate_percent: float
    cache_evictions_per_5_minutes: float
    cache_memory_percent: float
    cache_engine_cpu_percent: float
    cache_auth_failures_per_5_minutes: float
    vector_search_p95_ms: float
    vector_search_recall_percent: float
    replica_lag_seconds: float
    free_storage_gib: float
    max_used_transaction_ids: float
    pgbouncer_client_wait_ms: float


@dataclass(frozen=True)
class SlackConfig:
    """AWS Chatbot Slack channel (the workspace is authorised once in the Chatbot console)."""

    workspace_id: str
    channel_id: str


@dataclass(frozen=True)
class EscalationLevel:
    """One step of the escalation ladder: who hears about an alarm after how long."""

    severity: Severity
    after_minutes: int
    channels: tuple[Channel, ...]


@dataclass(frozen=True)
class AlertingConfig:
    """Alerting endpoints and the escalation ladder (seed 001: 5 / 15 / 30 minutes)."""

    emails: tuple[str, ...]
    slack: SlackConfig | None
    pagerduty_url_secret_name: str | None
    escalation: tuple[EscalationLevel, ...]

    def level(self, severity: Severity) -> EscalationLevel:
        """The escalation level of ``severity``."""
        return next(level for level in self.escalation if level.severity == severity)


def parse_alarms(section: Section) -> AlarmThresholds:
    """Thresholds from ``alarms``; percentages must lie in 0..100."""
    values: dict[str, Any] = {}
    percent_keys = {name for name in AlarmThresholds.__dataclass_fields__ if "percent" in name}
    for name in AlarmThresholds.__dataclass_fields__:
        values[name] = section.number(
            name, minimum=0.0, maximum=100.0 if name in percent_keys else None
        )
    if values["connections_critical"] <= values["connections_high"]:
        raise section.error("connections_critical", "must be above connections_high")
    section.reject_unknown_keys()
    return AlarmThresholds(**values)


def parse_alerting(section: Section) -> AlertingConfig:
    """Endpoints and the escalation ladder from ``alerting``, checked against each other."""
    slack_section = section.optional_section("slack")
    slack = None
    if slack_section is not None:
        slack = SlackConfig(
            workspace_id=slack_section.string("workspace_id", pattern=r"T[A-Z0-9]{8,}"),
            channel_id=slack_section.string("channel_id", pattern=r"[CG][A-Z0-9]{8,}"),
        )
        slack_section.reject_unknown_keys()
    levels = []
    for level_section in section.sections("escalation"):
        levels.append(
            EscalationLevel(
                severity=level_section.choice("severity", ("medium", "high", "critical")),
                after_minutes=level_section.integer("after_minutes", minimum=1, maximum=1440),
                channels=_channels(level_section),
            )
        )
        level_section.reject_unknown_keys()
    severities = [level.severity for level in levels]
    if severities != ["medium", "high", "critical"]:
        raise section.error("escalation", "expected the levels medium, high, critical in order")
    delays = [level.after_minutes for level in levels]
    if delays != sorted(set(delays)):
        raise section.error("escalation", "after_minutes must increase from level to level")
    config = AlertingConfig(
        emails=section.strings("emails", pattern=_EMAIL, hint="an e-mail address"),
        slack=slack,
        pagerduty_url_secret_name=section.optional_string("pagerduty_url_secret_name"),
        escalation=tuple(levels),
    )
    used = {channel for level in levels for channel in level.channels}
    if "slack" in used and config.slack is None:
        raise section.error("slack", "missing, but an escalation level notifies slack")
    if "pagerduty" in used and config.pagerduty_url_secret_name is None:
        raise section.error(
            "pagerduty_url_secret_name", "missing, but an escalation level notifies pagerduty"
        )
    section.reject_unknown_keys()
    return config


_CHANNELS: dict[str, Channel] = {"slack": "slack", "email": "email", "pagerduty": "pagerduty"}


def _channels(section: Section) -> tuple[Channel, ...]:
    channels = []
    for channel in section.strings("channels"):
        if channel not in _CHANNELS:
            raise section.error("channels", f"{channel!r} is not one of: slack, email, pagerduty")
        channels.append(_CHANNELS[channel])
    return tuple(channels)
