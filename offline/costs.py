"""What a stack costs while nobody uses it: every declared resource billed by the hour (or month) regardless of
traffic, with its list price and where the price comes from. Dev must have none (scale to zero).

Prices are AWS's public on-demand list prices for us-east-1 (other regions differ by a few percent); each entry
names its pricing page.
"""

from collections.abc import Callable
from dataclasses import dataclass

from offline.synth import RecordedResource, Synthesis

HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class IdleCost:
    urn: str
    what: str
    usd_per_month: float
    source: str


def _nat(resource: RecordedResource, program: Synthesis) -> IdleCost | None:
    return IdleCost(resource.urn, "NAT gateway, $0.045/hour", 0.045 * HOURS_PER_MONTH,
                    "https://aws.amazon.com/vpc/pricing/")  # fmt: skip


def _endpoint(resource: RecordedResource, program: Synthesis) -> IdleCost | None:
    if resource.inputs.get("vpcEndpointType") != "Interface":
        return None  # gateway endpoints (S3, DynamoDB) are free
    zones = len(resource.inputs.get("subnetIds") or [1])
    return IdleCost(resource.urn, f"interface endpoint in {zones} AZs, $0.01/hour each", 0.01 * zones * HOURS_PER_MONTH,
                    "https://aws.amazon.com/privatelink/pricing/")  # fmt: skip


def _public_ip(resource: RecordedResource, program: Synthesis) -> IdleCost | None:
    return IdleCost(resource.urn, "public IPv4 address, $0.005/hour", 0.005 * HOURS_PER_MONTH,
                    "https://aws.amazon.com/vpc/pricing/")  # fmt: skip


def _kms_key(resource: RecordedResource, program: Synthesis) -> IdleCost | None:
    return IdleCost(resource.urn, "customer-managed KMS key, $1/month", 1.0, "https://aws.amazon.com/kms/pricing/")


def _aurora_instance(resource: RecordedResource, program: Synthesis) -> IdleCost | None:
    """A Serverless v2 instance bills its minimum ACUs every hour, unless the minimum is 0 (it pauses)."""
    cluster = next(
        c for c in program.of_type("aws:rds/cluster:Cluster") if c.id == resource.inputs["clusterIdentifier"]
    )
    minimum = cluster.inputs["serverlessv2ScalingConfiguration"]["minCapacity"]
    if minimum == 0:
        return None
    return IdleCost(resource.urn, f"Aurora Serverless v2 at its minimum {minimum:g} ACU, $0.12/ACU-hour",
                    0.12 * minimum * HOURS_PER_MONTH, "https://aws.amazon.com/rds/aurora/pricing/")  # fmt: skip


IDLE_PRICES: dict[str, Callable[[RecordedResource, Synthesis], IdleCost | None]] = {
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    "aws:ec2/eip:Eip": _public_ip,
    "aws:kms/key:Key": _kms_key,
    "aws:rds/clusterInstance:ClusterInstance": _aurora_instance,
}
ALWAYS_IDLE_COST = ("aws:ec2/instance:Instance", "aws:lb/loadBalancer:LoadBalancer", "aws:rds/instance:Instance",
                    "aws:elasticache/cluster:Cluster")  # fmt: skip
"""Types this project never declares; if one appears, it is reported without a price rather than missed."""


def idle_costs(program: Synthesis) -> list[IdleCost]:
    costs = [IDLE_PRICES[r.type](r, program) for r in program.resources if r.type in IDLE_PRICES]
    costs += [IdleCost(r.urn, f"{r.type} bills by the hour", float("nan"), "unpriced") for r in program.resources
              if r.type in ALWAYS_IDLE_COST]  # fmt: skip
    return [cost for cost in costs if cost is not None]
