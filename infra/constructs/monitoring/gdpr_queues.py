"""Alarms on the GDPR job queues: a dead-letter queue that is not empty, a queue that stalls.

The queues live in the operations stack; they are addressed here by their fixed names
(:func:`~infra.constructs.jobs.gdpr.queue_name`), like the database instances by their
identifiers, so no value crosses the stacks. A message in a dead-letter queue is a request
that failed :data:`~infra.constructs.jobs.gdpr.MAX_RECEIVES` times: a person's export or
erasure is stuck, which the law gives a deadline for, so both alarms notify ``high``.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import Severity
from infra.constructs.jobs.gdpr import JOBS, queue_name

SEVERITY: Severity = "high"
PERIOD = Duration.minutes(5)


class GdprQueueAlarms(Construct):
    """Two alarms per GDPR job: its DLQ holds messages; its oldest message is too old."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        topics: Mapping[Severity, sns.ITopic],
    ) -> None:
        super().__init__(scope, construct_id)
        action = cloudwatch_actions.SnsAction(topics[SEVERITY])
        self.alarms: list[cloudwatch.Alarm] = []
        for job in JOBS:
            dead_letters = queue_name(prefix, job, dead_letter=True)
            waiting = queue_name(prefix, job)
            for construct_id_, name, description, metric, threshold in (
                (
                    f"{job.name.capitalize()}DeadLetters",
                    f"{dead_letters}-not-empty",
                    f"[{SEVERITY}] GDPR {job.name} requests failed every retry and wait in "
                    f"{dead_letters}",
                    _queue_metric(dead_letters, "ApproximateNumberOfMessagesVisible"),
                    0,
                ),
                (
                    f"{job.name.capitalize()}OldestMessage",
                    f"{waiting}-oldest-message-age",
                    f"[{SEVERITY}] the oldest GDPR {job.name} request in {waiting} has waited "
                    f"more than {int(job.oldest_message_alarm.to_minutes())} minutes",
                    _queue_metric(waiting, "ApproximateAgeOfOldestMessage"),
                    job.oldest_message_alarm.to_seconds(),
                ),
            ):
                alarm = cloudwatch.Alarm(
                    self,
                    construct_id_,
                    alarm_name=name,
                    alarm_description=description,
                    metric=metric,
                    threshold=threshold,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    datapoints_to_alarm=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
                alarm.add_alarm_action(action)
                self.alarms.append(alarm)


def _queue_metric(queue: str, metric_name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/SQS",
        metric_name=metric_name,
        dimensions_map={"QueueName": queue},
        statistic="Maximum",
        period=PERIOD,
    )
