"""Alarms on backups and the restore drill (seed 001: backup failed is critical, a backup
longer than 120 minutes and a failed restore test are high).

* Backup job failed, aborted or expired: the EventBridge rule of
  :class:`~infra.constructs.monitoring.dashboards.Monitoring` pages the critical topic.
* Backup running longer than 120 minutes: ``AWS/Backup NumberOfBackupJobsRunning`` for RDS
  stays >= 1 for 24 consecutive 5-minute periods.
* Restore test failed: a restore or copy job that failed or was aborted (EventBridge), or a
  validation that failed (``JobFailed{Job=backup-validation}``), goes to the high topic.
* Drill overdue: ``RestoreDrillAge`` (published daily by the validation function) above
  ``max_age_days``, or missing for two days. A CloudWatch alarm looks back at most seven
  days, so "no validation for a month" is measured as an age, not as a month of missing
  data; the age is missing until the first drill passes, so a new environment alarms until
  then.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from datalayer.metric_names import NAMESPACE, Dimension, Job, Metric
from infra.config import Severity

BACKUP_MAX_MINUTES = 120
_PERIOD = Duration.minutes(5)


class BackupAlarms(Construct):
    """Backup duration, restore test failure and overdue drill alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        environment_name: str,
        topics: Mapping[Severity, sns.ITopic],
        max_drill_age_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = prefix
        high = topics["high"]
        environment = {Dimension.ENVIRONMENT.value: environment_name}
        self.backup_too_long = self._alarm(
            "BackupTooLong",
            "backup-longer-than-120-min",
            f"[high] an RDS backup job has run longer than {BACKUP_MAX_MINUTES} minutes",
            cloudwatch.Metric(
                namespace="AWS/Backup",
                metric_name="NumberOfBackupJobsRunning",
                dimensions_map={"ResourceType": "RDS"},
                statistic="Maximum",
                period=_PERIOD,
            ),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=BACKUP_MAX_MINUTES // 5,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            topic=high,
        )
        self.validation_failed = self._alarm(
            "RestoreValidationFailed",
            "restore-validation-failed",
            "[high] the restore drill's validation failed (see the backup-validation logs)",
            cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=Metric.JOB_FAILED.value,
                dimensions_map={**environment, Dimension.JOB.value: Job.BACKUP_VALIDATION.value},
                statistic="Sum",
                period=_PERIOD,
            ),
            threshold=0,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            topic=high,
        )
        self.drill_overdue = self._alarm(
            "RestoreDrillOverdue",
            "restore-drill-overdue",
            f"[high] no restore drill has passed for {max_drill_age_days} days, or the daily "
            "age report is missing",
            cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=Metric.RESTORE_DRILL_AGE.value,
                dimensions_map=environment,
                statistic="Maximum",
                period=Duration.days(1),
            ),
            threshold=max_drill_age_days * 86_400,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            missing=cloudwatch.TreatMissingData.BREACHING,
            topic=high,
        )
        self.restore_failures = self._restore_failure_rule(high)

    def _alarm(
        self,
        construct_id: str,
        name: str,
        description: str,
        metric: cloudwatch.Metric,
        *,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        evaluation_periods: int,
        missing: cloudwatch.TreatMissingData,
        topic: sns.ITopic,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self._prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm

    def _restore_failure_rule(self, topic: sns.ITopic) -> events.Rule:
        """Failed or aborted restore (the drill's) and copy jobs go to the high topic.

        The target is written at the L1 level for the same reason as the backup-failure
        rule: the alerting key already lets EventBridge encrypt for the alert topics only.
        """
        rule = events.Rule(
            self,
            "RestoreOrCopyJobFailed",
            rule_name=f"{self._prefix}-restore-or-copy-job-failed",
            description="AWS Backup restore (drill) or copy job failed or aborted",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Restore Job State Change", "Copy Job State Change"],
                detail={"status": ["FAILED", "ABORTED"]},
            ),
        )
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.targets = [events.CfnRule.TargetProperty(id="HighAlerts", arn=topic.topic_arn)]
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="RestoreFailureRulePublishes",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
            )
        )
        self._alarm(
            "RestoreNotificationUndelivered",
            "restore-notification-undelivered",
            "[high] EventBridge failed to deliver a restore or copy failure event",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule.rule_name},
                statistic="Sum",
                period=_PERIOD,
            ),
            threshold=0,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            topic=topic,
        )
        return rule
