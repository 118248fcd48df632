"""The idle-cost classification (policy/rules/idle.py): each charge is its `Price` from policy/rules/prices.py, turned
into a month, described with the price's own label and citing the price's own page."""

import math

import pytest

from policy.rules import idle, prices
from policy.rules.prices import HOURS_PER_MONTH


def charges(*resources):
    return idle.idle_charges((f"urn:{i}", kind, props) for i, (kind, props) in enumerate(resources))


def one(kind, props=None):
    (charge,) = charges((kind, props or {}))
    return charge


@pytest.mark.parametrize(
    ("kind", "props", "price", "monthly_units"),
    [
        (idle.NAT_GATEWAY, {}, prices.NAT_GATEWAY_HOUR, HOURS_PER_MONTH),
        (idle.VPC_ENDPOINT, {"vpcEndpointType": "Interface", "subnetIds": ["a", "b"]},
         prices.INTERFACE_ENDPOINT_HOUR, 2 * HOURS_PER_MONTH),
        (idle.ELASTIC_IP, {}, prices.PUBLIC_IPV4_HOUR, HOURS_PER_MONTH),
        (idle.KMS_KEY, {}, prices.KMS_KEY_MONTH, 1),
        (idle.SECRET, {}, prices.SECRET_MONTH, 1),
        (idle.SECRET, {"replicas": [{"region": "eu-central-1"}]}, prices.SECRET_MONTH, 2),
        (idle.METRIC_ALARM, {"namespace": "AWS/Lambda", "metricName": "Errors"}, prices.ALARM_METRIC_MONTH, 1),
        (idle.METRIC_ALARM, {"metricQueries": [*({"id": f"m{i}", "metric": {"metricName": "SystemErrors"}}
                                                 for i in range(4)), {"id": "total", "expression": "SUM(METRICS())"}]},
         prices.ALARM_METRIC_MONTH, 4),
        (idle.DASHBOARD, {"dashboardName": "ops"}, prices.DASHBOARD_MONTH, 1),
    ],
    ids=["nat", "endpoint", "public-ip", "kms-key", "secret", "secret-with-replica", "alarm", "metric-math-alarm",
         "dashboard"],
)  # fmt: skip
def test_each_charge_is_its_price_by_the_month(kind, props, price, monthly_units):
    charge = one(kind, props)
    assert math.isclose(charge.usd_per_month, price.per_unit * monthly_units), charge
    assert charge.what.endswith(f", {price.label}"), "the figure shown is the figure computed"
    assert charge.source == price.source
    assert charge.type == kind


def test_a_gateway_endpoint_is_free():
    assert not charges((idle.VPC_ENDPOINT, {"vpcEndpointType": "Gateway"}))


def test_aurora_bills_its_floor_unless_it_pauses():
    warm = charges(
        (idle.AURORA_CLUSTER, {"clusterIdentifier": "c", "serverlessv2ScalingConfiguration": {"minCapacity": 0.5}}),
        (idle.AURORA_INSTANCE, {"clusterIdentifier": "c"}),
    )
    assert [c.urn for c in warm] == ["urn:1"]
    assert math.isclose(warm[0].usd_per_month, 0.5 * prices.AURORA_ACU_HOUR.per_unit * HOURS_PER_MONTH)
    assert warm[0].what.startswith("Aurora Serverless v2 at its minimum 0.5 ACU, ")
    paused = charges(
        (idle.AURORA_CLUSTER, {"clusterIdentifier": "c", "serverlessv2ScalingConfiguration": {"minCapacity": 0}}),
        (idle.AURORA_INSTANCE, {"clusterIdentifier": "c"}),
    )
    assert not paused


def test_a_cluster_whose_password_rds_manages_pays_for_that_secret_as_a_secret():
    """The managed master-user secret is not a resource of the program, but it is billed like one: charged to the
    cluster's URN, accepted or refused as a Secrets Manager secret."""
    charge = one(idle.AURORA_CLUSTER, {"clusterIdentifier": "c", "manageMasterUserPassword": True})
    assert charge.type == idle.SECRET
    assert charge.urn == "urn:0"
    assert math.isclose(charge.usd_per_month, prices.SECRET_MONTH.per_unit)
    assert charge.source == prices.SECRETS_MANAGER
    assert not charges((idle.AURORA_CLUSTER, {"clusterIdentifier": "c", "masterPassword": "from-config"}))


def test_types_this_project_never_declares_are_reported_unpriced():
    charge = one("aws:lb/loadBalancer:LoadBalancer")
    assert math.isnan(charge.usd_per_month)
    assert charge.source == "unpriced"


def test_a_metric_math_alarm_is_billed_per_metric_it_reads_and_the_dashboard_figure_is_a_ceiling():
    """CloudWatch bills an alarm per metric: a metric-math alarm for each metric its queries read, not for the
    expression; an account's first three dashboards are free, which the description says."""
    queries = [{"id": "m0", "metric": {"metricName": "A"}}, {"id": "m1", "metric": {"metricName": "B"}},
               {"id": "total", "expression": "SUM([m0, m1])", "returnData": True}]  # fmt: skip
    charge = one(idle.METRIC_ALARM, {"metricQueries": queries})
    assert math.isclose(charge.usd_per_month, 2 * prices.ALARM_METRIC_MONTH.per_unit)
    assert charge.what.startswith("CloudWatch alarm on 2 metrics (metric math), ")
    assert "first three free" in one(idle.DASHBOARD).what
