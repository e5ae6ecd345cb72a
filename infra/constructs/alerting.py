"""SNS topics per severity (KMS-encrypted, TLS-only) and their subscribers.

The escalation ladder of seed 001 maps onto the three severities:

========  =====================  ========================================
severity  after (default)        channels (``alerting.escalation``)
========  =====================  ========================================
medium    the rule's own window  Slack
high      15 minutes             e-mail + Slack
critical  30 minutes             PagerDuty (prod; e-mail + Slack elsewhere)
========  =====================  ========================================

An alarm rule climbs the ladder up to its own severity: see
:mod:`infra.constructs.monitoring.escalation`.
Slack goes through AWS Chatbot; PagerDuty through an HTTPS subscription whose URL (it holds
the integration key) is read from Secrets Manager at deploy time, never written in a template.
"""

from __future__ import annotations

from aws_cdk import SecretValue, Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import EnvironmentConfig, Severity


class Alerting(Construct):
    """One topic per severity with the channels of its escalation level."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        alerting = config.alerting
        account = Stack.of(self).account
        self.topics: dict[Severity, sns.Topic] = {}
        for level in alerting.escalation:
            topic = sns.Topic(
                self,
                f"{level.severity.capitalize()}Topic",
                topic_name=f"{config.prefix}-alerts-{level.severity}",
                display_name=f"{config.prefix} {level.severity} database alerts",
                master_key=key,
                enforce_ssl=True,
            )
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CloudWatchAlarmsPublish",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
            if "email" in level.channels:
                for address in alerting.emails:
                    topic.add_subscription(subscriptions.EmailSubscription(address))
            if "pagerduty" in level.channels and alerting.pagerduty_url_secret_name:
                url = SecretValue.secrets_manager(alerting.pagerduty_url_secret_name)
                topic.add_subscription(
                    subscriptions.UrlSubscription(
                        url.unsafe_unwrap(), protocol=sns.SubscriptionProtocol.HTTPS
                    )
                )
            self.topics[level.severity] = topic
        slack_topics = [
            self.topics[level.severity]
            for level in alerting.escalation
            if "slack" in level.channels
        ]
        if alerting.slack and slack_topics:
            self.slack = chatbot.SlackChannelConfiguration(
                self,
                "Slack",
                slack_channel_configuration_name=f"{config.prefix}-database-alerts",
                slack_workspace_id=alerting.slack.workspace_id,
                slack_channel_id=alerting.slack.channel_id,
                notification_topics=slack_topics,
                logging_level=chatbot.LoggingLevel.ERROR,
                guardrail_policies=[
                    iam.ManagedPolicy.from_aws_managed_policy_name("CloudWatchReadOnlyAccess")
                ],
            )
