"""What a stack costs while nobody uses it: the single source of the idle-cost classification.

Every resource billed by the hour (or month) regardless of traffic, with its list price and where the price comes
from. Plain Python over `(urn, type, props)` triples, importing nothing from Pulumi: the pack's stack rule feeds it
the resources the CLI reports, and the offline tools (review/costs.py, the review report) feed it mock-recorded
resources, so the policy and the cost estimate can never disagree about what costs money idle.

Prices are AWS's public on-demand list prices for us-east-1 (other regions differ by a few percent); each entry
names its pricing page.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HOURS_PER_MONTH = 730
PUBLIC_IPV4_USD_PER_HOUR = 0.005
AURORA_ACU_USD_PER_HOUR = 0.12
"""Also used by the review report's per-image costs (review/prices.py): one list price, one place."""
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ELASTIC_IP = "aws:ec2/eip:Eip"
KMS_KEY = "aws:kms/key:Key"
AURORA_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
AURORA_CLUSTER = "aws:rds/cluster:Cluster"


@dataclass(frozen=True)
class IdleCharge:
    urn: str
    type: str
    what: str
    usd_per_month: float
    source: str


Priced = Callable[[Mapping[str, Any], "Stack"], tuple[str, float, str] | None]


@dataclass(frozen=True)
class Stack:
    """What a price needs to know beyond the resource itself: the Aurora clusters' capacity floors."""

    min_capacity_by_cluster: Mapping[str, float]


def _nat(props: Mapping[str, Any], stack: Stack) -> tuple[str, float, str] | None:
    return "NAT gateway, $0.045/hour", 0.045 * HOURS_PER_MONTH, "https://aws.amazon.com/vpc/pricing/"


def _endpoint(props: Mapping[str, Any], stack: Stack) -> tuple[str, float, str] | None:
    if props.get("vpcEndpointType") != "Interface":
        return None  # gateway endpoints (S3, DynamoDB) are free
    zones = len(props.get("subnetIds") or [1])
    return (
        f"interface endpoint in {zones} AZs, $0.01/hour each",
        0.01 * zones * HOURS_PER_MONTH,
        "https://aws.amazon.com/privatelink/pricing/",
    )


def _public_ip(props: Mapping[str, Any], stack: Stack) -> tuple[str, float, str] | None:
    hourly = PUBLIC_IPV4_USD_PER_HOUR
    return f"public IPv4 address, ${hourly}/hour", hourly * HOURS_PER_MONTH, "https://aws.amazon.com/vpc/pricing/"


def _kms_key(props: Mapping[str, Any], stack: Stack) -> tuple[str, float, str] | None:
    return "customer-managed KMS key, $1/month", 1.0, "https://aws.amazon.com/kms/pricing/"


def _aurora_instance(props: Mapping[str, Any], stack: Stack) -> tuple[str, float, str] | None:
    """A Serverless v2 instance bills its minimum ACUs every hour, unless the minimum is 0 (it pauses)."""
    minimum = stack.min_capacity_by_cluster.get(str(props.get("clusterIdentifier")))
    if minimum is None:
        return "Aurora instance of a cluster not in the program", math.nan, "unpriced"
    if minimum == 0:
        return None
    return (
        f"Aurora Serverless v2 at its minimum {minimum:g} ACU, ${AURORA_ACU_USD_PER_HOUR}/ACU-hour",
        AURORA_ACU_USD_PER_HOUR * minimum * HOURS_PER_MONTH,
        "https://aws.amazon.com/rds/aurora/pricing/",
    )


IDLE_PRICES: dict[str, Priced] = {
    NAT_GATEWAY: _nat,
    VPC_ENDPOINT: _endpoint,
    ELASTIC_IP: _public_ip,
    KMS_KEY: _kms_key,
    AURORA_INSTANCE: _aurora_instance,
}
ALWAYS_IDLE_COST = (
    "aws:ec2/instance:Instance",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:rds/instance:Instance",
    "aws:elasticache/cluster:Cluster",
)
"""Types this project never declares; if one appears, it is reported without a price rather than missed."""


def idle_charges(resources: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[IdleCharge]:
    """Every `(urn, type, props)` that costs money while idle, in the order given."""
    resources = list(resources)
    stack = Stack(
        {
            str(props.get("clusterIdentifier")): _min_capacity(props)
            for _urn, kind, props in resources
            if kind == AURORA_CLUSTER
        }
    )
    charges = []
    for urn, kind, props in resources:
        if kind in IDLE_PRICES:
            priced = IDLE_PRICES[kind](props, stack)
            if priced is not None:
                charges.append(IdleCharge(urn, kind, *priced))
        elif kind in ALWAYS_IDLE_COST:
            charges.append(IdleCharge(urn, kind, f"{kind} bills by the hour", math.nan, "unpriced"))
    return charges


def _min_capacity(cluster: Mapping[str, Any]) -> float:
    scaling = cluster.get("serverlessv2ScalingConfiguration") or {}
    return float(scaling.get("minCapacity", 0.5)) if isinstance(scaling, Mapping) else 0.5
