"""Network: two zones, isolated data subnets, flow logs, endpoints and exact SG paths."""

from __future__ import annotations

from typing import Any

from infra.constructs.network.security_groups import DESCRIPTIONS, PATHS
from infra.constructs.network.vpc import INTERFACE_ENDPOINTS
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def _network(synth: dict[str, SynthResult], env: str) -> dict[str, Any]:
    return synth[env].templates["network"]


def test_vpc_spans_the_two_configured_zones(
    synth: dict[str, SynthResult], env: str, configs: Any
) -> None:
    template = _network(synth, env)
    zones = {
        s["Properties"]["AvailabilityZone"]
        for s in resources_of(template, "AWS::EC2::Subnet").values()
    }
    assert zones == set(configs[env].availability_zones)
    vpc = only(resources_of(template, "AWS::EC2::VPC"))
    assert vpc["Properties"]["CidrBlock"] == configs[env].network.cidr


def test_data_subnets_have_no_route_out(synth: dict[str, SynthResult], env: str) -> None:
    template = _network(synth, env)
    routes = resources_of(template, "AWS::EC2::Route")
    data_tables = {
        lid for lid in resources_of(template, "AWS::EC2::RouteTable") if "dataSubnet" in lid
    }
    assert data_tables, "no data route tables"
    for route in routes.values():
        assert route["Properties"]["RouteTableId"]["Ref"] not in data_tables


def test_nat_gateways_follow_the_config(
    synth: dict[str, SynthResult], env: str, configs: Any
) -> None:
    nats = resources_of(_network(synth, env), "AWS::EC2::NatGateway")
    assert len(nats) == configs[env].network.nat_gateways


def test_public_subnets_do_not_hand_out_public_ips(synth: dict[str, SynthResult], env: str) -> None:
    for subnet in resources_of(_network(synth, env), "AWS::EC2::Subnet").values():
        assert subnet["Properties"].get("MapPublicIpOnLaunch") is not True


def test_flow_logs_capture_all_traffic_into_an_encrypted_group(
    synth: dict[str, SynthResult], env: str, configs: Any
) -> None:
    template = _network(synth, env)
    flow_log = only(resources_of(template, "AWS::EC2::FlowLog"))["Properties"]
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["ResourceType"] == "VPC"
    group = only(resources_of(template, "AWS::Logs::LogGroup"))["Properties"]
    assert "KmsKeyId" in group
    assert group["RetentionInDays"] == configs[env].network.flow_log_retention_days


def test_endpoints_reach_aws_apis_without_nat(synth: dict[str, SynthResult], env: str) -> None:
    template = _network(synth, env)
    endpoints = resources_of(template, "AWS::EC2::VPCEndpoint")
    services = text_of([e["Properties"]["ServiceName"] for e in endpoints.values()])
    for name in ("secretsmanager", "logs", "ecr.api", "ecr.dkr", "ssm", "s3"):
        assert f".{name}" in services, name
    # Nothing in the VPC calls these directly: an endpoint would only cost money.
    for name in ("kms", "sts", "monitoring"):
        assert f'.{name}"' not in services, name
    interface = [
        e for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert len(interface) == len(INTERFACE_ENDPOINTS)
    for endpoint in interface:
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True


def _group_names(template: dict[str, Any]) -> dict[str, str]:
    """Security group logical id -> the group's role (app, database, ...)."""
    names = {}
    for lid, group in resources_of(template, "AWS::EC2::SecurityGroup").items():
        description = group["Properties"]["GroupDescription"]
        for role, text in DESCRIPTIONS.items():
            if description.endswith(text):
                names[lid] = role
        if "VPC interface endpoints" in description:
            names[lid] = "endpoints"
    return names


def test_security_group_paths_are_exactly_the_declared_ones(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = _network(synth, env)
    names = _group_names(template)
    assert set(names.values()) == {*DESCRIPTIONS, "endpoints"}
    ingress = set()
    for rule in resources_of(template, "AWS::EC2::SecurityGroupIngress").values():
        p = rule["Properties"]
        assert p["FromPort"] == p["ToPort"]
        source = names[p["SourceSecurityGroupId"]["Fn::GetAtt"][0]]
        target = names[p["GroupId"]["Fn::GetAtt"][0]]
        ingress.add((source, target, p["FromPort"]))
    egress = set()
    for rule in resources_of(template, "AWS::EC2::SecurityGroupEgress").values():
        p = rule["Properties"]
        source = names[p["GroupId"]["Fn::GetAtt"][0]]
        target = names[p["DestinationSecurityGroupId"]["Fn::GetAtt"][0]]
        egress.add((source, target, p["FromPort"]))
    expected = {(path.source, path.target, path.port) for path in PATHS}
    assert ingress == expected
    assert egress == expected
    assert ("app", "pgbouncer_lb", 6432) in expected and ("pgbouncer", "database", 5432) in expected
    assert (
        "app",
        "database",
        5432,
    ) not in expected  # the app only reaches PostgreSQL via PgBouncer


def test_no_group_allows_inbound_from_anywhere(synth: dict[str, SynthResult], env: str) -> None:
    for template in synth[env].templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                rules = resource["Properties"].get("SecurityGroupIngress", [])
            elif resource["Type"] == "AWS::EC2::SecurityGroupIngress":
                rules = [resource["Properties"]]
            else:
                continue
            for rule in rules:
                assert rule.get("CidrIp") != "0.0.0.0/0"
                assert rule.get("CidrIpv6") != "::/0"


def test_only_pgbouncer_may_leave_the_vpc_and_only_on_https(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = _network(synth, env)
    names = _group_names(template)
    for lid, group in resources_of(template, "AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupEgress", []):
            if rule.get("CidrIp") == "0.0.0.0/0":
                assert names[lid] == "pgbouncer"
                assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (443, 443, "tcp")
            else:  # CDK's placeholder that blocks the default allow-all egress
                assert rule["CidrIp"] == "255.255.255.255/32"


def test_default_security_group_is_stripped(synth: dict[str, SynthResult], env: str) -> None:
    template = _network(synth, env)
    assert resources_of(template, "Custom::VpcRestrictDefaultSG")
