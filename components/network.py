"""A VPC over two availability zones for the Fargate task and the database, with egress chosen by the profile.

How the task reaches ECR, CloudWatch Logs, STS and Secrets Manager follows `profile.network.egress`:

    mode       | internet gateway | NAT gateways | interface endpoints | task runs in    | public IP | billed while idle
    -----------|------------------|--------------|---------------------|-----------------|-----------|------------------
    public-ip  | yes              | none         | none                | public subnets  | yes       | nothing
    nat        | yes              | one per zone | none                | private subnets | no        | 2 NAT, 2 EIPs
    endpoints  | none             | none         | 5, in both zones    | private subnets | no        | 10 endpoint ENIs

In every mode: S3 and DynamoDB gateway endpoints on every route table (free, and they keep that traffic off the
NAT bill), VPC flow logs to a log group of our own (EC2.6), the default security group stripped of every rule
(EC2.2), no subnet that hands out public IPs by itself (EC2.15), and no ingress from 0.0.0.0/0 anywhere.

`endpoints` has no public subnets: with no internet gateway they would be private subnets under another name. Their
address ranges stay reserved, so switching modes never renumbers the private subnets.
"""

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.base import ChildTransform, Component
from components.iam import Statement
from components.logs import log_group
from components.naming import physical_name
from components.profile import EgressMode, profile_from_args
from components.profile_args import ProfileArgs

ZONE_COUNT = 2
"""Two zones: an outage of one leaves the other running, and Aurora needs subnets in at least two."""
SUBNET_PREFIX_STEP = 4
"""Each subnet is 1/16 of the VPC (a /16 gives /20s), leaving room for more tiers or zones later."""
SMALLEST_SUBNET_PREFIX = 26
"""A /24 VPC still gets its four subnets of 64 addresses (59 usable: AWS keeps five in each)."""
ANYWHERE = "0.0.0.0/0"
HTTPS = 443

GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")
INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "sts", "secretsmanager")
"""What a Fargate task needs without internet access: image manifests (ecr.api) and layers (ecr.dkr, with the
layers themselves fetched from S3 through the gateway endpoint), awslogs, the task role's credentials, and secrets."""

FLOW_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
FLOW_LOG_LIST_ACTIONS = ("logs:DescribeLogGroups",)
"""AWS's VPC user guide lists DescribeLogGroups among the permissions a flow-log role must have, and the Service
Authorization Reference gives it no resource type: it can only be granted on `"Resource": "*"`, the one such grant
here. logs:CreateLogGroup, also in AWS's example, is left out: the group is created here, with retention and
encryption, and the service must not create another."""

NAME_TAG_KIND = "name-tag"


class NetworkArgs(TypedDict):
    """Arguments of a Network."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed KMS key for the flow-log group. Default: none, CloudWatch Logs' own encryption."""


@dataclass(frozen=True)
class TaskSubnets:
    """Where an ECS task of this network runs: pass both to the task's `network_configuration` (in Python; other
    languages read the `task_subnet_ids` and `task_assign_public_ip` outputs)."""

    subnet_ids: Sequence[pulumi.Output[str]]
    assign_public_ip: bool
    """True only in `public-ip` mode, where a public IP is the task's only way out."""


class Network(Component):
    """A two-zone VPC for Fargate tasks and databases, with egress chosen by the profile's `network.egress`: public
    IPs (nothing billed while idle), NAT gateways, or interface endpoints and no internet route at all. Flow logs,
    a default security group without rules, and S3 and DynamoDB gateway endpoints in every mode."""

    vpc_id: pulumi.Output[str]
    """The VPC: where a consumer creates the security groups of its tasks and databases (in Python,
    `security_group()`: no ingress, HTTPS out, which is all a task needs to reach AWS APIs in every egress mode)."""
    cidr_block: pulumi.Output[str]
    """The VPC's address range."""
    public_subnet_ids: list[pulumi.Output[str]]
    """One per zone; empty in `endpoints` mode."""
    private_subnet_ids: list[pulumi.Output[str]]
    """One per zone, in every mode."""
    database_subnet_ids: list[pulumi.Output[str]]
    """Where databases go: always the private subnets, never reachable from the internet, whatever the egress mode."""
    task_subnet_ids: list[pulumi.Output[str]]
    """Where tasks run: the public subnets in `public-ip` mode, the private ones otherwise."""
    task_assign_public_ip: bool
    """Whether a task must get a public IP: true only in `public-ip` mode, where it is the task's only way out."""

    def __init__(
        self,
        name: str,
        args: NetworkArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        profile = profile_from_args(args["profile"])
        public_ranges, private_ranges = subnet_ranges(profile.network.cidr_block)
        super().__init__(name, opts, transform)
        self._name = name
        self._profile = profile
        self._kms_key_arn = args.get("kms_key_arn")
        self._egress = profile.network.egress
        zones = self._choose_zones()

        self.vpc = self._create_vpc()
        self.default_security_group = self._strip_default_security_group()
        self.public_subnets = self._create_subnets("public", public_ranges, zones) if self._has_internet else []
        self.private_subnets = self._create_subnets("private", private_ranges, zones)
        self.internet_gateway = self._create_internet_gateway() if self._has_internet else None
        gateway = self.internet_gateway
        self.public_route_table = self._route_public_subnets(gateway) if gateway else None
        self.nat_gateways = self._create_nat_gateways(gateway) if gateway and self._egress is EgressMode.NAT else []
        self.private_route_tables = self._route_private_subnets()
        self.gateway_endpoints = self._create_gateway_endpoints()
        self.endpoint_security_group = self._create_endpoint_security_group() if self._uses_endpoints else None
        self.interface_endpoints = (
            self._create_interface_endpoints(self.endpoint_security_group) if self.endpoint_security_group else []
        )
        self.flow_log_group, self.flow_log_role, self.flow_log_policy = self._create_flow_log_delivery()
        self.flow_log = self._log_flows()

        self.vpc_id = self.vpc.id
        self.cidr_block = self.vpc.cidr_block
        self.public_subnet_ids = [subnet.id for subnet in self.public_subnets]
        self.private_subnet_ids = [subnet.id for subnet in self.private_subnets]
        self.database_subnet_ids = self.private_subnet_ids
        self.task_placement = self._place_tasks()
        self.task_subnet_ids = list(self.task_placement.subnet_ids)
        self.task_assign_public_ip = self.task_placement.assign_public_ip
        self.finish(
            {
                "vpc_id": self.vpc_id,
                "cidr_block": self.cidr_block,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "database_subnet_ids": self.database_subnet_ids,
                "task_subnet_ids": self.task_subnet_ids,
                "task_assign_public_ip": self.task_assign_public_ip,
            }
        )

    def security_group(
        self,
        name: str,
        description: str,
        *,
        egress_https: bool = True,
        parent: pulumi.Resource | None = None,
    ) -> aws.ec2.SecurityGroup:
        """A security group in this VPC for a consumer (the task, the database), named `<network>-<name>-sg`.

        It allows no ingress: a consumer adds exactly the `aws.vpc.SecurityGroupIngressRule` it needs, from another
        security group rather than an address range. With `egress_https` (the default) it may open TCP 443 to
        anywhere, which the route tables then narrow: the internet in `public-ip`/`nat`, only the VPC's endpoints
        (and S3/DynamoDB through their gateway endpoints) in `endpoints`. Without it the group has no egress at all,
        right for something that only answers, like a database. `parent` defaults to the network.
        """
        owner = parent or self
        group = aws.ec2.SecurityGroup(
            f"{self._name}-{name}-sg",
            vpc_id=self.vpc.id,
            description=description,
            # Auto-named (no `name`): a changed description replaces the group, and a fixed name would collide.
            tags=_name_tag(f"{self._name}-{name}-sg"),
            opts=pulumi.ResourceOptions(parent=owner),
        )
        if egress_https:
            aws.vpc.SecurityGroupEgressRule(
                f"{self._name}-{name}-https-out",
                security_group_id=group.id,
                description="HTTPS to AWS APIs (and the internet where the egress mode routes there)",
                ip_protocol="tcp",
                from_port=HTTPS,
                to_port=HTTPS,
                cidr_ipv4=ANYWHERE,
                opts=pulumi.ResourceOptions(parent=owner),
            )
        return group

    @property
    def _has_internet(self) -> bool:
        return self._egress in (EgressMode.PUBLIC_IP, EgressMode.NAT)

    @property
    def _uses_endpoints(self) -> bool:
        return self._egress is EgressMode.ENDPOINTS

    def _choose_zones(self) -> list[pulumi.Output[str]]:
        # Only the region's own zones: Local and Wavelength Zones are opt-in and lack most services.
        zones = aws.get_availability_zones_output(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return [zones.names.apply(lambda names, index=index: _zone(names, index)) for index in range(ZONE_COUNT)]

    def _create_vpc(self) -> aws.ec2.Vpc:
        return aws.ec2.Vpc(
            f"{self._name}-vpc",
            cidr_block=self._profile.network.cidr_block,
            # Both are needed for the interface endpoints' private DNS names to resolve inside the VPC.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=_name_tag(f"{self._name}-vpc"),
            opts=self.child(),
        )

    def _strip_default_security_group(self) -> aws.ec2.DefaultSecurityGroup:
        # Adopting the default group with empty rule lists removes AWS's allow-all rules from it (EC2.2): anything
        # launched without a group of its own gets no traffic at all.
        return aws.ec2.DefaultSecurityGroup(
            f"{self._name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=_name_tag(f"{self._name}-default-sg"),
            opts=self.child(),
        )

    def _create_subnets(
        self, tier: str, ranges: Sequence[ipaddress.IPv4Network], zones: Sequence[pulumi.Output[str]]
    ) -> list[aws.ec2.Subnet]:
        subnets = []
        for index, (cidr, zone) in enumerate(zip(ranges, zones, strict=True), start=1):
            resource_name = f"{self._name}-{tier}-{index}"
            subnets.append(
                aws.ec2.Subnet(
                    resource_name,
                    vpc_id=self.vpc.id,
                    cidr_block=str(cidr),
                    availability_zone=zone,
                    # Never by default (EC2.15): only a task that asks for a public IP gets one.
                    map_public_ip_on_launch=False,
                    tags=_name_tag(resource_name),
                    opts=self.child(),
                )
            )
        return subnets

    def _create_internet_gateway(self) -> aws.ec2.InternetGateway:
        return aws.ec2.InternetGateway(
            f"{self._name}-internet-gateway",
            vpc_id=self.vpc.id,
            tags=_name_tag(f"{self._name}-internet-gateway"),
            opts=self.child(),
        )

    def _route_public_subnets(self, gateway: aws.ec2.InternetGateway) -> aws.ec2.RouteTable:
        table = self._route_table(f"{self._name}-public-routes")
        aws.ec2.Route(
            f"{self._name}-public-internet-route",
            route_table_id=table.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=gateway.id,
            opts=self.child(),
        )
        for index, subnet in enumerate(self.public_subnets, start=1):
            self._associate(f"{self._name}-public-{index}-association", table, subnet)
        return table

    def _create_nat_gateways(self, gateway: aws.ec2.InternetGateway) -> list[aws.ec2.NatGateway]:
        """One per zone, each in its zone's public subnet: a zone outage cannot cut the other zone's egress."""
        gateways = []
        for index, subnet in enumerate(self.public_subnets, start=1):
            address = aws.ec2.Eip(
                f"{self._name}-nat-{index}-ip",
                domain="vpc",
                tags=_name_tag(f"{self._name}-nat-{index}-ip"),
                opts=self.child(),
            )
            gateways.append(
                aws.ec2.NatGateway(
                    f"{self._name}-nat-{index}",
                    subnet_id=subnet.id,
                    allocation_id=address.id,  # a VPC Elastic IP's id is its allocation id
                    connectivity_type="public",
                    tags=_name_tag(f"{self._name}-nat-{index}"),
                    # AWS: a NAT gateway can only route once the VPC has its internet gateway.
                    opts=self.child(depends_on=[gateway]),
                )
            )
        return gateways

    def _route_private_subnets(self) -> list[aws.ec2.RouteTable]:
        """One table per zone, in every mode, so that switching to `nat` adds routes instead of replacing tables."""
        tables = []
        for index, subnet in enumerate(self.private_subnets, start=1):
            table = self._route_table(f"{self._name}-private-{index}-routes")
            if self.nat_gateways:
                aws.ec2.Route(
                    f"{self._name}-private-{index}-nat-route",
                    route_table_id=table.id,
                    destination_cidr_block=ANYWHERE,
                    nat_gateway_id=self.nat_gateways[index - 1].id,
                    opts=self.child(),
                )
            self._associate(f"{self._name}-private-{index}-association", table, subnet)
            tables.append(table)
        return tables

    def _route_table(self, resource_name: str) -> aws.ec2.RouteTable:
        # Routes are separate `aws.ec2.Route` resources: inline routes and Route resources fight over the table.
        return aws.ec2.RouteTable(resource_name, vpc_id=self.vpc.id, tags=_name_tag(resource_name), opts=self.child())

    def _associate(self, resource_name: str, table: aws.ec2.RouteTable, subnet: aws.ec2.Subnet) -> None:
        aws.ec2.RouteTableAssociation(resource_name, route_table_id=table.id, subnet_id=subnet.id, opts=self.child())

    def _create_gateway_endpoints(self) -> list[aws.ec2.VpcEndpoint]:
        tables = ([self.public_route_table] if self.public_route_table else []) + self.private_route_tables
        return [
            aws.ec2.VpcEndpoint(
                f"{self._name}-{service}-endpoint",
                vpc_id=self.vpc.id,
                service_name=self._service_name(service),
                vpc_endpoint_type="Gateway",
                route_table_ids=[table.id for table in tables],
                tags=_name_tag(f"{self._name}-{service}-endpoint"),
                opts=self.child(),
            )
            for service in GATEWAY_ENDPOINT_SERVICES
        ]

    def _create_endpoint_security_group(self) -> aws.ec2.SecurityGroup:
        group = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description="Interface endpoints: HTTPS from inside the VPC only",
            tags=_name_tag(f"{self._name}-endpoints-sg"),
            opts=self.child(),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-endpoints-https-in",
            security_group_id=group.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            cidr_ipv4=self._profile.network.cidr_block,
            opts=self.child(),
        )
        # No egress rule, on purpose: an endpoint only answers, and security groups are stateful, so replies need
        # none. The provider removes the allow-all egress rule AWS adds to a new group, so egress is truly empty.
        return group

    def _create_interface_endpoints(self, group: aws.ec2.SecurityGroup) -> list[aws.ec2.VpcEndpoint]:
        subnet_ids = [subnet.id for subnet in self.private_subnets]
        endpoints = []
        for service in INTERFACE_ENDPOINT_SERVICES:
            resource_name = f"{self._name}-{service.replace('.', '-')}-endpoint"
            endpoints.append(
                aws.ec2.VpcEndpoint(
                    resource_name,
                    vpc_id=self.vpc.id,
                    service_name=self._service_name(service),
                    vpc_endpoint_type="Interface",
                    # The service's usual hostname resolves to the endpoint: SDKs and the ECS agent need no config.
                    private_dns_enabled=True,
                    subnet_ids=subnet_ids,
                    security_group_ids=[group.id],
                    tags=_name_tag(resource_name),
                    opts=self.child(),
                )
            )
        return endpoints

    def _service_name(self, service: str) -> pulumi.Output[str]:
        return self.region.apply(lambda region: f"com.amazonaws.{region}.{service}")

    def _create_flow_log_delivery(self) -> tuple[aws.cloudwatch.LogGroup, aws.iam.Role, aws.iam.RolePolicy]:
        prefix = "/vpc/flow-logs/"
        group_name = prefix + physical_name(self._name, "log-group", reserve=len(prefix))
        group = log_group(f"{self._name}-flow-logs", group_name, self._profile, self._kms_key_arn, self)
        # Only flow logs of this account and region may use the role (confused deputy); a flow log's id is
        # unknown until it exists, hence the wildcard.
        source_arn = pulumi.Output.all(self.region, self.account_id).apply(
            lambda values: f"arn:aws:ec2:{values[0]}:{values[1]}:vpc-flow-log/*"
        )
        role = aws.iam.Role(
            f"{self._name}-flow-logs-role",
            name=physical_name(f"{self._name}-flow-logs", "role"),
            assume_role_policy=iam.trust_policy("vpc-flow-logs.amazonaws.com", self.account_id, source_arn),
            opts=self.child(),
        )
        streams = group.arn.apply(lambda arn: f"{arn}:log-stream:*")
        policy = aws.iam.RolePolicy(
            f"{self._name}-flow-logs-policy",
            role=role.id,
            policy=iam.policy_document(
                [
                    Statement(actions=FLOW_LOG_ACTIONS, resources=[group.arn, streams], sid="WriteFlowLogGroup"),
                    Statement(actions=FLOW_LOG_LIST_ACTIONS, resources=["*"], sid="DescribeLogGroupsHasNoScope"),
                ]
            ),
            opts=self.child(),
        )
        return group, role, policy

    def _log_flows(self) -> aws.ec2.FlowLog:
        return aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type=self._profile.network.flow_log_traffic.value,
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=self.flow_log_role.arn,
            tags=_name_tag(f"{self._name}-flow-log"),
            # Without its permissions in place the flow log is created but fails to deliver.
            opts=self.child(depends_on=[self.flow_log_policy]),
        )

    def _place_tasks(self) -> TaskSubnets:
        if self._egress is EgressMode.PUBLIC_IP:
            return TaskSubnets(subnet_ids=self.public_subnet_ids, assign_public_ip=True)
        return TaskSubnets(subnet_ids=self.private_subnet_ids, assign_public_ip=False)


def subnet_ranges(cidr_block: str) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv4Network]]:
    """(public, private) address ranges, one per zone, carved deterministically from the VPC's range: the first
    two slices are public, the next two private, whatever the egress mode (so a mode switch renumbers nothing)."""
    vpc = ipaddress.IPv4Network(cidr_block, strict=True)
    new_prefix = min(vpc.prefixlen + SUBNET_PREFIX_STEP, SMALLEST_SUBNET_PREFIX)
    if new_prefix < vpc.prefixlen + 2:
        raise ValueError(
            f"network cidr block {cidr_block} is too small for {2 * ZONE_COUNT} subnets of at least "
            f"/{SMALLEST_SUBNET_PREFIX}; use a /16 to /24 range"
        )
    slices = vpc.subnets(new_prefix=new_prefix)
    carved = [next(slices) for _ in range(2 * ZONE_COUNT)]
    return carved[:ZONE_COUNT], carved[ZONE_COUNT:]


def _zone(names: Sequence[str], index: int) -> str:
    if len(names) < ZONE_COUNT:
        raise pulumi.RunError(f"the region offers {len(names)} availability zones; the network needs {ZONE_COUNT}")
    return names[index]


def _name_tag(resource_name: str) -> dict[str, str]:
    """EC2's console lists resources by their `Name` tag; Project/Environment come from the provider's default tags."""
    return {"Name": physical_name(resource_name, NAME_TAG_KIND)}
