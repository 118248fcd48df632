"""VPC (baseline §9): flow logs, a default security group stripped of its rules, subnets that never hand out public
IPs by themselves, no ingress from anywhere, and the free S3/DynamoDB gateway endpoints."""

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity, StackValidationArgs

from .base import Finding, as_list, known, of_type, plain, refers_to, resource_rule, stack_rule

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
GATEWAY_SERVICES = ("s3", "dynamodb")


def _check_subnet(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("mapPublicIpOnLaunch") is True:
        yield "the subnet gives every instance and task a public IP by default"


def _open_ranges(rule: Mapping[str, Any]) -> set[str]:
    ranges = [*as_list(rule.get("cidrBlocks")), *as_list(rule.get("ipv6CidrBlocks"))]
    ranges += [rule.get("cidrIpv4"), rule.get("cidrIpv6")]
    return {str(r) for r in ranges if r} & ANYWHERE


def _check_ingress(args: ResourceValidationArgs) -> Iterable[str]:
    if args.resource_type == SECURITY_GROUP:
        rules = [r for r in as_list(args.props.get("ingress")) if isinstance(r, Mapping)]
    elif args.resource_type == LEGACY_RULE and args.props.get("type") != "ingress":
        rules = []
    else:
        rules = [args.props]
    for rule in rules:
        opened = _open_ranges(rule)
        if opened:
            yield f"ingress from {sorted(opened)} on ports {rule.get('fromPort')}-{rule.get('toPort')}"


def _in_vpc(args: StackValidationArgs, vpc: PolicyResource, *types: str) -> list[PolicyResource]:
    return [r for r in of_type(args, *types) if refers_to(r, "vpcId", vpc)]


def _check_flow_logs(args: StackValidationArgs) -> Iterable[Finding]:
    for vpc in of_type(args, VPC):
        if not _in_vpc(args, vpc, FLOW_LOG):
            yield f"VPC {vpc.name!r} has no flow log", vpc.urn


def _check_default_security_group(args: StackValidationArgs) -> Iterable[Finding]:
    for vpc in of_type(args, VPC):
        groups = [plain(g.props) for g in _in_vpc(args, vpc, DEFAULT_SECURITY_GROUP)]
        if not groups:
            yield f"VPC {vpc.name!r} leaves its default security group with AWS's allow rules", vpc.urn
        elif any(group.get("ingress") or group.get("egress") for group in groups):
            yield f"VPC {vpc.name!r}: the default security group still has rules", vpc.urn


def _check_gateway_endpoints(args: StackValidationArgs) -> Iterable[Finding]:
    for vpc in of_type(args, VPC):
        services = {
            str(known(e.props, "serviceName")).rsplit(".", 1)[-1]
            for e in _in_vpc(args, vpc, ENDPOINT)
            if known(e.props, "vpcEndpointType") == "Gateway"
        }
        missing = [service for service in GATEWAY_SERVICES if service not in services]
        if missing:
            yield f"VPC {vpc.name!r} has no gateway endpoint for {missing} (free; keeps that traffic private)", vpc.urn


POLICIES = [
    resource_rule(
        name="subnet-no-auto-public-ip",
        description="Subnets do not assign public IPs on launch",
        severity=Severity.MEDIUM,
        remediation="Set map_public_ip_on_launch=False; a task that needs one asks for it.",
        types=[SUBNET],
        check=_check_subnet,
        controls=["EC2.15"],
    ),
    resource_rule(
        name="no-ingress-from-anywhere",
        description="No security group admits traffic from 0.0.0.0/0 or ::/0",
        severity=Severity.HIGH,
        remediation="Admit traffic from another security group (referenced_security_group_id) or the VPC's range.",
        types=[SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE],
        check=_check_ingress,
        controls=["EC2.18", "EC2.19", "EC2.53"],
    ),
    stack_rule(
        name="vpc-flow-logs",
        description="Every VPC has a flow log",
        severity=Severity.MEDIUM,
        remediation="Declare an aws.ec2.FlowLog to a log group with retention (components.network does).",
        check=_check_flow_logs,
        controls=["EC2.6"],
    ),
    stack_rule(
        name="vpc-default-security-group-closed",
        description="Every VPC adopts its default security group and strips every rule from it",
        severity=Severity.HIGH,
        remediation="Declare aws.ec2.DefaultSecurityGroup(vpc_id=..., ingress=[], egress=[]).",
        check=_check_default_security_group,
        controls=["EC2.2"],
    ),
    stack_rule(
        name="vpc-gateway-endpoints",
        description="Every VPC has the free S3 and DynamoDB gateway endpoints",
        severity=Severity.LOW,
        remediation="Declare Gateway endpoints for com.amazonaws.<region>.s3 and .dynamodb on every route table.",
        check=_check_gateway_endpoints,
        controls=["VPC gateway endpoints"],
    ),
]
