"""What a stack costs while nobody uses it: the single source of the idle-cost classification.

Every resource billed by the hour (or month) regardless of traffic, and what it costs a month. Plain Python over
`(urn, type, props)` triples, importing nothing from Pulumi: the pack's stack rule feeds it the resources the CLI
reports, and the offline tools (review/costs.py, the review report) feed it mock-recorded resources, so the policy
and the cost estimate can never disagree about what costs money idle.

The prices, with their pricing pages, are in `prices.py` beside this module (the repository's one list of AWS
prices); each charge's description quotes its price's label, so the figure shown is the figure computed.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .prices import (
    ALARM_METRIC_MONTH,
    AURORA_ACU_HOUR,
    DASHBOARD_MONTH,
    HOURS_PER_MONTH,
    INTERFACE_ENDPOINT_HOUR,
    KMS_KEY_MONTH,
    NAT_GATEWAY_HOUR,
    PUBLIC_IPV4_HOUR,
    SECRET_MONTH,
    Price,
)

NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ELASTIC_IP = "aws:ec2/eip:Eip"
KMS_KEY = "aws:kms/key:Key"
AURORA_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
AURORA_CLUSTER = "aws:rds/cluster:Cluster"
SECRET = "aws:secretsmanager/secret:Secret"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


@dataclass(frozen=True)
class IdleCharge:
    urn: str
    type: str
    """What is billed, the type a stack accepts in `allowedIdleCosts`: the resource's own type, or that of what AWS
    creates for it (a cluster's RDS-managed master-user secret is billed, and accepted, as a `SECRET`)."""
    what: str
    usd_per_month: float
    source: str


@dataclass(frozen=True)
class Billed:
    """What a pricing function finds: the description, the monthly figure, its source, and (when it is not the
    resource's own type) the type of what is billed."""

    what: str
    usd_per_month: float
    source: str
    billed_as: str | None = None


@dataclass(frozen=True)
class Stack:
    """What a price needs to know beyond the resource itself: the Aurora clusters' capacity floors."""

    min_capacity_by_cluster: Mapping[str, float]


Priced = Callable[[Mapping[str, Any], Stack], Billed | None]


def _hourly(what: str, price: Price, units: float = 1) -> Billed:
    """`units` of an hourly `price`, every hour of the month."""
    return Billed(f"{what}, {price.label}", price.per_unit * units * HOURS_PER_MONTH, price.source)


def _monthly(what: str, price: Price, units: float = 1, billed_as: str | None = None) -> Billed:
    return Billed(f"{what}, {price.label}", price.per_unit * units, price.source, billed_as)


def _nat(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    return _hourly("NAT gateway", NAT_GATEWAY_HOUR)


def _endpoint(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    if props.get("vpcEndpointType") != "Interface":
        return None  # gateway endpoints (S3, DynamoDB) are free
    zones = len(props.get("subnetIds") or [1])
    return _hourly(f"interface endpoint in {zones} AZs", INTERFACE_ENDPOINT_HOUR, zones)


def _public_ip(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    return _hourly("public IPv4 address", PUBLIC_IPV4_HOUR)


def _kms_key(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    return _monthly("customer-managed KMS key", KMS_KEY_MONTH)


def _secret(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    """Each replica in another region is billed as a secret of its own."""
    replicas = len(props.get("replicas") or [])
    what = "Secrets Manager secret" + (f" and its {replicas} replicas" if replicas else "")
    return _monthly(what, SECRET_MONTH, 1 + replicas)


def _aurora_cluster(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    """The cluster itself bills only storage; but with `manage_master_user_password` RDS keeps the master user's
    password in a Secrets Manager secret of its own, billed to the account like any other secret."""
    if props.get("manageMasterUserPassword") is not True:
        return None
    return _monthly("master-user secret that RDS manages in Secrets Manager", SECRET_MONTH, billed_as=SECRET)


def _aurora_instance(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    """A Serverless v2 instance bills its minimum ACUs every hour, unless the minimum is 0 (it pauses)."""
    minimum = stack.min_capacity_by_cluster.get(str(props.get("clusterIdentifier")))
    if minimum is None:
        return Billed("Aurora instance of a cluster not in the program", math.nan, "unpriced")
    if minimum == 0:
        return None
    return _hourly(f"Aurora Serverless v2 at its minimum {minimum:g} ACU", AURORA_ACU_HOUR, minimum)


def alarm_metrics(props: Mapping[str, Any]) -> int:
    """How many metrics an alarm is billed for: the entries of its `metricQueries` that read a metric (not the
    expressions), or 1 for an alarm on a single metric."""
    queries = props.get("metricQueries")
    if isinstance(queries, list) and queries:
        return sum(1 for query in queries if isinstance(query, Mapping) and query.get("metric"))
    return 1


def _alarm(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    metrics = alarm_metrics(props)
    what = "CloudWatch alarm" + (f" on {metrics} metrics (metric math)" if props.get("metricQueries") else "")
    return _monthly(what, ALARM_METRIC_MONTH, metrics)


def _dashboard(props: Mapping[str, Any], stack: Stack) -> Billed | None:
    """The ceiling: an account's first three dashboards are free, and which three is the account's, not the stack's."""
    return _monthly("CloudWatch dashboard (the ceiling)", DASHBOARD_MONTH)


IDLE_PRICES: dict[str, Priced] = {
    NAT_GATEWAY: _nat,
    VPC_ENDPOINT: _endpoint,
    ELASTIC_IP: _public_ip,
    KMS_KEY: _kms_key,
    SECRET: _secret,
    AURORA_CLUSTER: _aurora_cluster,
    AURORA_INSTANCE: _aurora_instance,
    METRIC_ALARM: _alarm,
    DASHBOARD: _dashboard,
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
            billed = IDLE_PRICES[kind](props, stack)
            if billed is not None:
                charges.append(
                    IdleCharge(urn, billed.billed_as or kind, billed.what, billed.usd_per_month, billed.source)
                )
        elif kind in ALWAYS_IDLE_COST:
            charges.append(IdleCharge(urn, kind, f"{kind} bills by the hour", math.nan, "unpriced"))
    return charges


def _min_capacity(cluster: Mapping[str, Any]) -> float:
    scaling = cluster.get("serverlessv2ScalingConfiguration") or {}
    return float(scaling.get("minCapacity", 0.5)) if isinstance(scaling, Mapping) else 0.5
