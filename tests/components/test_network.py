"""Network: each egress mode declares exactly what it pays for, and the VPC baseline (EC2.2, EC2.6, EC2.15, no open
ingress, free gateway endpoints) holds in every mode."""

import dataclasses
import ipaddress

import pytest

from components.key import EncryptionKey, EncryptionKeyArgs
from components.network import Network, NetworkArgs, subnet_ranges
from components.profile import EgressMode, FlowLogTraffic, NetworkSettings
from synth.program import RecordedResource, Synthesis
from tests.helpers import ACCOUNT, DISPOSABLE, PROTECTED, REGION, run, statements

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
COMPONENT = "platform:index:Network"

CIDR = "10.20.0.0/16"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/vpc/flow-logs/image-pipeline-unit-network"
INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "logs", "sts", "secretsmanager")
ALL_MODES = list(EgressMode)


def profile_for(egress, *, base=DISPOSABLE, traffic=FlowLogTraffic.ALL, cidr=CIDR):
    return dataclasses.replace(base, network=NetworkSettings(cidr_block=cidr, egress=egress, flow_log_traffic=traffic))


def declare(egress=EgressMode.PUBLIC_IP, *, preview=False, with_key=False, consumer=None, **profile_options):
    """Synthesize one Network; `consumer(network)` may declare more against it (e.g. a security group)."""
    profile = profile_for(egress, **profile_options)

    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        network = Network("network", NetworkArgs(profile=profile.args, kms_key_arn=key.arn if key else None))
        if consumer:
            consumer(network)
        return network

    return run(build, preview=preview)


def subnets(synthesis: Synthesis, tier: str) -> list[RecordedResource]:
    return sorted((s for s in synthesis.of_type(SUBNET) if f"-{tier}-" in s.name), key=lambda s: s.name)


def internet_routes(synthesis: Synthesis) -> list[RecordedResource]:
    return [r for r in synthesis.of_type(ROUTE) if r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"]


def table_of(synthesis: Synthesis, subnet: RecordedResource) -> str:
    (association,) = [a for a in synthesis.of_type(ASSOCIATION) if a.inputs["subnetId"] == subnet.id]
    return association.inputs["routeTableId"]


def interface_endpoints(synthesis: Synthesis) -> list[RecordedResource]:
    return [e for e in synthesis.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]


def rule_shape(rule: RecordedResource) -> tuple:
    return tuple(rule.inputs.get(key) for key in ("ipProtocol", "fromPort", "toPort", "cidrIpv4"))


def outputs(synthesis: Synthesis) -> dict:
    return synthesis.component_outputs[synthesis.one(COMPONENT).urn]


# --- egress modes ---------------------------------------------------------------------------------------------------


def test_public_ip_mode_has_nothing_billed_by_the_hour():
    synthesis = declare(EgressMode.PUBLIC_IP)
    for billed in (NAT_GATEWAY, EIP):
        assert not synthesis.of_type(billed), f"public-ip mode must not declare {billed}"
    assert not interface_endpoints(synthesis), "public-ip mode must not declare interface endpoints"
    gateway = synthesis.one(INTERNET_GATEWAY)
    (route,) = internet_routes(synthesis)
    assert route.inputs["gatewayId"] == gateway.id, f"{route.urn}: the internet route must use the gateway"
    public_tables = {table_of(synthesis, subnet) for subnet in subnets(synthesis, "public")}
    assert public_tables == {route.inputs["routeTableId"]}, "both public subnets use the one public route table"
    for subnet in subnets(synthesis, "private"):
        assert table_of(synthesis, subnet) not in public_tables, f"{subnet.urn}: private subnets have no internet"


def test_nat_mode_has_one_nat_gateway_per_zone_in_its_public_subnet():
    synthesis = declare(EgressMode.NAT)
    gateways = synthesis.of_type(NAT_GATEWAY)
    assert len(gateways) == 2
    public = {subnet.id: subnet for subnet in subnets(synthesis, "public")}
    assert {gateway.inputs["subnetId"] for gateway in gateways} == set(public), "one NAT in each public subnet"
    addresses = {address.id for address in synthesis.of_type(EIP)}
    assert {gateway.inputs["allocationId"] for gateway in gateways} == addresses, "each NAT has its own EIP"
    gateway_zone = {g.id: public[g.inputs["subnetId"]].inputs["availabilityZone"] for g in gateways}
    routes = {route.inputs["routeTableId"]: route for route in internet_routes(synthesis)}
    for subnet in subnets(synthesis, "private"):
        route = routes[table_of(synthesis, subnet)]
        assert gateway_zone[route.inputs["natGatewayId"]] == subnet.inputs["availabilityZone"], (
            f"{subnet.urn}: its internet route must use the NAT gateway of its own zone"
        )
    assert len(routes) == 3, "the public table to the internet gateway, each private table to its NAT"


def test_endpoints_mode_has_private_interface_endpoints_and_no_way_to_the_internet():
    synthesis = declare(EgressMode.ENDPOINTS)
    for absent in (INTERNET_GATEWAY, NAT_GATEWAY, EIP):
        assert not synthesis.of_type(absent), f"endpoints mode must not declare {absent}"
    assert not internet_routes(synthesis), "endpoints mode must have no route to 0.0.0.0/0"
    for table in synthesis.of_type(ROUTE_TABLE):
        assert not table.inputs.get("routes"), f"{table.urn}: no inline routes either"
    assert not subnets(synthesis, "public"), "endpoints mode has no public subnets"
    endpoints = interface_endpoints(synthesis)
    assert sorted(e.inputs["serviceName"] for e in endpoints) == sorted(
        f"com.amazonaws.{REGION}.{service}" for service in INTERFACE_SERVICES
    )
    private_ids = [subnet.id for subnet in subnets(synthesis, "private")]
    group = synthesis.one(SECURITY_GROUP, "network-endpoints-sg")
    for endpoint in endpoints:
        assert endpoint.inputs["privateDnsEnabled"] is True, f"{endpoint.urn}: private DNS must be on"
        assert sorted(endpoint.inputs["subnetIds"]) == sorted(private_ids), f"{endpoint.urn}: in both private subnets"
        assert endpoint.inputs["securityGroupIds"] == [group.id], f"{endpoint.urn}: behind the endpoints group"


def test_the_endpoint_security_group_allows_only_https_from_the_vpc():
    synthesis = declare(EgressMode.ENDPOINTS)
    group = synthesis.one(SECURITY_GROUP, "network-endpoints-sg")
    assert not group.inputs.get("ingress"), f"{group.urn}: no inline ingress"
    assert not group.inputs.get("egress"), f"{group.urn}: no inline egress"
    rules = [rule_shape(r) for r in synthesis.of_type(INGRESS_RULE) if r.inputs["securityGroupId"] == group.id]
    assert rules == [("tcp", 443, 443, CIDR)], f"{group.urn}: HTTPS from the VPC's range and nothing else"
    assert not [r for r in synthesis.of_type(EGRESS_RULE) if r.inputs["securityGroupId"] == group.id], (
        f"{group.urn}: an endpoint only answers; it needs no egress"
    )


@pytest.mark.parametrize("egress", ALL_MODES)
def test_gateway_endpoints_for_s3_and_dynamodb_are_on_every_route_table(egress):
    synthesis = declare(egress)
    gateways = [e for e in synthesis.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    assert sorted(e.inputs["serviceName"] for e in gateways) == [
        f"com.amazonaws.{REGION}.dynamodb",
        f"com.amazonaws.{REGION}.s3",
    ]
    tables = {table.id for table in synthesis.of_type(ROUTE_TABLE)}
    for endpoint in gateways:
        assert set(endpoint.inputs["routeTableIds"]) == tables, f"{endpoint.urn}: must be on every route table"


@pytest.mark.parametrize(
    ("egress", "tier", "public_ip"),
    [
        (EgressMode.PUBLIC_IP, "public", True),
        (EgressMode.NAT, "private", False),
        (EgressMode.ENDPOINTS, "private", False),
    ],
)
def test_task_placement_follows_the_egress_mode(egress, tier, public_ip):
    synthesis = declare(egress)
    placement = {key: outputs(synthesis)[key] for key in ("task_subnet_ids", "task_assign_public_ip")}
    assert placement == {
        "task_subnet_ids": [s.id for s in subnets(synthesis, tier)],
        "task_assign_public_ip": public_ip,
    }


@pytest.mark.parametrize("egress", ALL_MODES)
def test_databases_always_go_in_the_private_subnets(egress):
    synthesis = declare(egress)
    assert outputs(synthesis)["database_subnet_ids"] == [s.id for s in subnets(synthesis, "private")]


# --- subnets ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("egress", ALL_MODES)
def test_no_subnet_maps_public_ips_on_launch(egress):
    for subnet in declare(egress).of_type(SUBNET):
        assert subnet.inputs["mapPublicIpOnLaunch"] is False, f"{subnet.urn}: must not map public IPs (EC2.15)"


@pytest.mark.parametrize("cidr", ["10.20.0.0/16", "172.16.8.0/21", "192.168.1.0/24"])
@pytest.mark.parametrize("egress", ALL_MODES)
def test_subnets_spread_over_two_zones_inside_the_vpc_without_overlap(egress, cidr):
    synthesis = declare(egress, cidr=cidr)
    vpc = ipaddress.ip_network(cidr)
    tiers = ["public", "private"] if egress is not EgressMode.ENDPOINTS else ["private"]
    for tier in tiers:
        zones = [subnet.inputs["availabilityZone"] for subnet in subnets(synthesis, tier)]
        assert zones == [f"{REGION}a", f"{REGION}b"], f"{tier} subnets must be in two different zones"
    ranges = [ipaddress.ip_network(subnet.inputs["cidrBlock"]) for subnet in synthesis.of_type(SUBNET)]
    assert len(ranges) == 2 * len(tiers)
    for index, network in enumerate(ranges):
        assert network.subnet_of(vpc), f"{network} is outside the VPC {vpc}"
        assert network.prefixlen <= 26, f"{network} is smaller than the /26 minimum this layout promises"
        for other in ranges[index + 1 :]:
            assert not network.overlaps(other), f"{network} overlaps {other}"


def test_subnet_ranges_are_a_sixteenth_of_the_vpc_and_stable_across_modes():
    public, private = subnet_ranges("10.20.0.0/16")
    assert [str(n) for n in public + private] == ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20", "10.20.48.0/20"]
    public, private = subnet_ranges("192.168.1.0/24")
    assert [str(n) for n in private] == ["192.168.1.128/26", "192.168.1.192/26"]
    endpoints = declare(EgressMode.ENDPOINTS)
    nat = declare(EgressMode.NAT)
    assert [s.inputs["cidrBlock"] for s in subnets(endpoints, "private")] == [
        s.inputs["cidrBlock"] for s in subnets(nat, "private")
    ], "switching the egress mode must not renumber the private subnets"


def test_a_range_too_small_for_four_subnets_is_refused():
    with pytest.raises(ValueError, match="too small"):
        subnet_ranges("10.0.0.0/25")


def test_the_vpc_resolves_private_dns_names():
    vpc = declare().one(VPC)
    assert vpc.inputs["cidrBlock"] == CIDR
    assert vpc.inputs["enableDnsSupport"] is True, vpc.urn
    assert vpc.inputs["enableDnsHostnames"] is True, vpc.urn


# --- security groups ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("egress", ALL_MODES)
def test_the_default_security_group_has_no_rules(egress):
    synthesis = declare(egress)
    group = synthesis.one(DEFAULT_SECURITY_GROUP)
    assert group.inputs["ingress"] == [], f"{group.urn}: must have no ingress rules (EC2.2)"
    assert group.inputs["egress"] == [], f"{group.urn}: must have no egress rules (EC2.2)"
    assert group.inputs["vpcId"] == synthesis.one(VPC).id


def task_group(network):
    network.security_group("task", "Fargate worker task")


@pytest.mark.parametrize("egress", ALL_MODES)
def test_no_ingress_from_anywhere_in_any_mode(egress):
    synthesis = declare(egress, consumer=task_group)
    for rule in synthesis.of_type(INGRESS_RULE):
        assert rule.inputs.get("cidrIpv4") != "0.0.0.0/0", f"{rule.urn}: ingress from 0.0.0.0/0"
        assert rule.inputs.get("cidrIpv6") != "::/0", f"{rule.urn}: ingress from ::/0"
    for group in synthesis.of_type(SECURITY_GROUP) + synthesis.of_type(DEFAULT_SECURITY_GROUP):
        assert not group.inputs.get("ingress"), f"{group.urn}: no inline ingress"


def test_a_consumer_group_has_no_ingress_and_only_https_egress():
    synthesis = declare(EgressMode.PUBLIC_IP, consumer=task_group)
    group = synthesis.one(SECURITY_GROUP, "network-task-sg")
    assert group.inputs["vpcId"] == synthesis.one(VPC).id
    assert group.inputs["tags"] == {"Name": "image-pipeline-unit-network-task-sg"}
    assert not [r for r in synthesis.of_type(INGRESS_RULE) if r.inputs["securityGroupId"] == group.id], group.urn
    (rule,) = [r for r in synthesis.of_type(EGRESS_RULE) if r.inputs["securityGroupId"] == group.id]
    assert rule_shape(rule) == ("tcp", 443, 443, "0.0.0.0/0"), f"{rule.urn}: only HTTPS out"
    assert group.parent == synthesis.one(COMPONENT).urn


def test_a_consumer_group_without_https_egress_has_no_egress_at_all():
    synthesis = declare(consumer=lambda network: network.security_group("db", "Catalog", egress_https=False))
    group = synthesis.one(SECURITY_GROUP, "network-db-sg")
    assert not [r for r in synthesis.of_type(EGRESS_RULE) if r.inputs["securityGroupId"] == group.id], group.urn


# --- flow logs ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("traffic", list(FlowLogTraffic))
def test_flow_logs_record_the_traffic_the_profile_asks_for(traffic):
    synthesis = declare(traffic=traffic)
    flow_log = synthesis.one(FLOW_LOG)
    assert flow_log.inputs["trafficType"] == traffic.value, flow_log.urn
    assert flow_log.inputs["vpcId"] == synthesis.one(VPC).id
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == LOG_GROUP_ARN
    assert flow_log.inputs["iamRoleArn"] == synthesis.one(ROLE).outputs["arn"]
    assert synthesis.one(ROLE_POLICY).urn in flow_log.dependencies, "the role's policy must exist first"


@pytest.mark.parametrize(("base", "days"), [(DISPOSABLE, 7), (PROTECTED, 365)])
def test_the_flow_log_group_keeps_logs_as_long_as_the_profile_says(base, days):
    group = declare(base=base).one(LOG_GROUP)
    assert group.inputs["retentionInDays"] == days, group.urn
    assert (group.protect, group.retain_on_delete) == (base.protect, base.retain_on_delete), group.urn
    assert "kmsKeyId" not in group.inputs, "no key given: CloudWatch Logs' own encryption"


def test_the_flow_log_group_is_encrypted_with_the_key_when_given():
    synthesis = declare(base=PROTECTED, with_key=True)
    group = synthesis.one(LOG_GROUP)
    assert group.inputs["kmsKeyId"] == synthesis.one("aws:kms/key:Key").outputs["arn"], group.urn


def test_only_this_accounts_flow_logs_may_assume_the_delivery_role():
    role = declare().one(ROLE)
    assert statements(role, "assumeRolePolicy") == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*"},
            },
        }
    ], role.urn


def test_the_delivery_role_may_only_write_to_its_own_log_group():
    policy = declare().one(ROLE_POLICY)
    assert statements(policy) == [
        {
            "Sid": "WriteFlowLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [LOG_GROUP_ARN, f"{LOG_GROUP_ARN}:log-stream:*"],
        },
        {
            "Sid": "DescribeLogGroupsHasNoScope",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": ["*"],
        },
    ], policy.urn


# --- component shape ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preview", [False, True])
@pytest.mark.parametrize("egress", ALL_MODES)
def test_declares_in_both_modes(egress, preview):
    synthesis = declare(egress, preview=preview, consumer=task_group)
    assert synthesis.one(VPC)
    assert synthesis.one(FLOW_LOG)


@pytest.mark.parametrize("egress", ALL_MODES)
def test_children_are_parented_and_outputs_registered(egress):
    synthesis = declare(egress)
    component = synthesis.one(COMPONENT)
    strays = [r.urn for r in synthesis.resources if r is not component and r.parent != component.urn]
    assert not strays, f"not parented to the network: {strays}"
    public = [s.id for s in subnets(synthesis, "public")]
    private = [s.id for s in subnets(synthesis, "private")]
    assert outputs(synthesis) == {
        "vpc_id": synthesis.one(VPC).id,
        "cidr_block": CIDR,
        "public_subnet_ids": public,
        "private_subnet_ids": private,
        "database_subnet_ids": private,
        "task_subnet_ids": public if egress is EgressMode.PUBLIC_IP else private,
        "task_assign_public_ip": egress is EgressMode.PUBLIC_IP,
    }
    assert set(outputs(synthesis)) == set(Network.__annotations__), "the package schema's outputs are the annotations"


@pytest.mark.parametrize("egress", ALL_MODES)
def test_ec2_resources_carry_a_name_tag_and_leave_the_stack_tags_to_the_provider(egress):
    synthesis = declare(egress, consumer=task_group)
    for resource in synthesis.resources:
        if not resource.type.startswith("aws:ec2/"):
            continue
        if resource.type in (ROUTE, ASSOCIATION):
            continue  # not taggable
        assert resource.inputs.get("tags") == {"Name": f"image-pipeline-unit-{resource.name}"}, resource.urn
