"""PgBouncer autoscaling on the signal that matters: client connections per task.

A 0.25 vCPU PgBouncer sits far below any CPU threshold while its connection slots fill up,
so a CPU policy would keep scaling in while the connection policy scales out. There is one
signal here, connection utilisation (active NLB flows / (healthy tasks x
``max_client_conn``)), with two asymmetric alarms: scale out after 3 minutes above
``scale_up_utilization``, scale in only after ``scale_in_after_minutes`` below
``scale_down_utilization`` and at most one task per that many minutes, because each
scale-in cuts the clients of the removed task when its deregistration delay ends.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from infra.config import PgBouncerConfig

SCALE_OUT_MINUTES = 3


class ConnectionScaling(Construct):
    """The scalable target, its two step policies and their alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pool: PgBouncerConfig,
        service: ecs.FargateService,
        load_balancer: elbv2.INetworkLoadBalancer,
        target_group: elbv2.INetworkTargetGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.utilization = cloudwatch.MathExpression(
            expression=f"flows / (IF(hosts > 0, hosts, 1) * {pool.max_client_conn})",
            using_metrics={
                "flows": load_balancer.metrics.active_flow_count(
                    period=Duration.minutes(1), statistic="Average"
                ),
                "hosts": target_group.metrics.healthy_host_count(
                    period=Duration.minutes(1), statistic="Minimum"
                ),
            },
            label="PgBouncer connection utilisation",
            period=Duration.minutes(1),
        )
        target = service.auto_scale_task_count(
            min_capacity=pool.min_tasks, max_capacity=pool.max_tasks
        )
        scalable = target.node.find_child("Target")
        assert isinstance(scalable, appscaling.ScalableTarget)
        self.scale_out = self._policy(
            "ScaleOut", scalable, change=+1, minutes=SCALE_OUT_MINUTES,
            threshold=pool.scale_up_utilization,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )  # fmt: skip
        self.scale_in = self._policy(
            "ScaleIn", scalable, change=-1, minutes=pool.scale_in_after_minutes,
            threshold=pool.scale_down_utilization,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
        )  # fmt: skip

    def _policy(
        self,
        construct_id: str,
        target: appscaling.ScalableTarget,
        *,
        change: int,
        minutes: int,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
    ) -> cloudwatch.Alarm:
        action = appscaling.StepScalingAction(
            self,
            construct_id,
            scaling_target=target,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.minutes(minutes),
            metric_aggregation_type=appscaling.MetricAggregationType.AVERAGE,
        )
        if change > 0:
            action.add_adjustment(adjustment=change, lower_bound=0)
        else:
            action.add_adjustment(adjustment=change, upper_bound=0)
        alarm = cloudwatch.Alarm(
            self,
            f"{construct_id}Alarm",
            metric=self.utilization,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            alarm_description=f"PgBouncer connection utilisation: {construct_id}, {minutes} min",
        )
        alarm.add_alarm_action(actions.ApplicationScalingAction(action))
        return alarm
