"""The network as a later stack sees it: VPC, subnets and security groups read from SSM.

No ``Fn::ImportValue``: the network stack can replace a security group or a subnet without
being blocked by the stacks that use it (they pick the new id up at their next deployment).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Fn, Validations
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from infra.constructs.handoff import Keys, read
from infra.constructs.network.vpc import APP_SUBNETS, DATA_SUBNETS


class ImportedNetwork(Construct):
    """The VPC with its ``app`` and ``data`` subnets, and the named security groups."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        availability_zones: tuple[str, str],
        security_groups: Iterable[str],
        data_subnets: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        zones = len(availability_zones)
        app_ids = Fn.split(",", read(self, prefix, Keys.APP_SUBNET_IDS), zones)
        if data_subnets:
            data_ids = Fn.split(",", read(self, prefix, Keys.DATA_SUBNET_IDS), zones)
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self, "Vpc", vpc_id=read(self, prefix, Keys.VPC_ID),
                availability_zones=list(availability_zones),
                private_subnet_ids=app_ids, private_subnet_names=[APP_SUBNETS],
                isolated_subnet_ids=data_ids, isolated_subnet_names=[DATA_SUBNETS],
            )  # fmt: skip
        else:  # a stack that does not use the data subnets must not read them (unused input)
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self, "Vpc", vpc_id=read(self, prefix, Keys.VPC_ID),
                availability_zones=list(availability_zones),
                private_subnet_ids=app_ids, private_subnet_names=[APP_SUBNETS],
            )  # fmt: skip
        Validations.of(self.vpc).acknowledge(
            Acknowledgment(
                id="Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
                reason="Nothing in the reading stacks adds routes; the route tables stay "
                "with the subnets in the network stack.",
            )
        )
        self.app_subnets = ec2.SubnetSelection(subnet_group_name=APP_SUBNETS)
        self.data_subnets = ec2.SubnetSelection(subnet_group_name=DATA_SUBNETS)
        # Immutable: the rules live with the groups in the network stack (security_groups.PATHS).
        self.groups: dict[str, ec2.ISecurityGroup] = {
            name: ec2.SecurityGroup.from_security_group_id(
                self,
                "".join(part.capitalize() for part in name.split("_")),
                read(self, prefix, Keys.security_group(name)),
                mutable=False,
                allow_all_outbound=False,
            )
            for name in security_groups
        }
