"""Rules about the whole stack rather than one service: every service logs to a log group the program owns (with
retention), and nothing bills by the hour unless the stack's configuration accepts that kind of resource."""

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from . import idle
from .base import Finding, known, of_type, plain, stack_rule
from .containers import TASK_DEFINITION, container_definitions
from .functions import FUNCTION, LOG_GROUP

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ALLOWED_IDLE_COSTS = "allowedIdleCosts"
PRODUCTION_IDLE_COSTS = (
    idle.VPC_ENDPOINT,
    idle.KMS_KEY,
    idle.AURORA_INSTANCE,
    idle.SECRET,
    idle.METRIC_ALARM,
    idle.DASHBOARD,
)
"""What a production-grade stack (the profile's safe defaults) pays for while idle: interface endpoints (no
internet route), the stack's KMS key, an Aurora writer that never pauses, the database's Secrets Manager
secrets (the Data API signs in with nothing else: the master user's, which RDS manages, and each login role's),
and its operations: CloudWatch alarms (per alarm metric) and the dashboard (by the month). NAT gateways and public
IPs are not on the list: the default egress needs neither."""


def _group_arn_name(arn: str) -> str:
    """`arn:aws:logs:<region>:<account>:log-group:<name>[:*]` -> `<name>`."""
    name = arn.split(":log-group:", 1)[-1]
    return name[:-2] if name.endswith(":*") else name


def _expected_groups(resource: PolicyResource) -> list[tuple[str, str]]:
    """(what, log group name) for each log group the resource writes to, where the program decides the name."""
    kind, props = resource.resource_type, resource.props
    if kind == FUNCTION:
        name = known(props, "loggingConfig", "logGroup") or f"/aws/lambda/{known(props, 'name') or resource.name}"
        return [(f"function {resource.name!r}", str(name))]
    if kind == STATE_MACHINE:
        destination = known(props, "loggingConfiguration", "logDestination")
        return [(f"state machine {resource.name!r}", _group_arn_name(destination))] if destination else []
    if kind == TASK_DEFINITION:
        groups = [(c.get("logConfiguration") or {}).get("options", {}).get("awslogs-group") for c in _containers(props)]
        return [(f"task definition {resource.name!r}", str(g)) for g in groups if g]
    if kind == RDS_CLUSTER:
        cluster = known(props, "clusterIdentifier")
        exports = known(props, "enabledCloudwatchLogsExports") or []
        return [(f"Aurora cluster {resource.name!r}", f"/aws/rds/cluster/{cluster}/{log}") for log in exports]
    if kind == FLOW_LOG and known(props, "logDestinationType") in (None, "cloud-watch-logs"):
        destination = known(props, "logDestination")
        return [(f"flow log {resource.name!r}", _group_arn_name(destination))] if destination else []
    return []


def _containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return container_definitions(plain(props))


def _check_log_groups(args: StackValidationArgs) -> Iterable[Finding]:
    retention = {str(known(g.props, "name")): known(g.props, "retentionInDays") for g in of_type(args, LOG_GROUP)}
    for resource in of_type(args, FUNCTION, STATE_MACHINE, TASK_DEFINITION, RDS_CLUSTER, FLOW_LOG):
        for what, group in _expected_groups(resource):
            if group not in retention:
                message = f"{what} logs to {group!r}, which the program does not declare (AWS creates it unexpiring)"
                yield message, resource.urn
            elif not retention[group]:
                yield f"{what} logs to {group!r}, which has no retention", resource.urn


def _allowed(args: StackValidationArgs) -> set[str]:
    configured = args.get_config().get(ALLOWED_IDLE_COSTS)
    return set(PRODUCTION_IDLE_COSTS if configured is None else configured)


def _check_idle_cost(args: StackValidationArgs) -> Iterable[Finding]:
    allowed = _allowed(args)
    charges = idle.idle_charges((r.urn, r.resource_type, plain(r.props)) for r in args.resources)
    for charge in charges:
        if charge.type in allowed:
            continue
        price = "unpriced" if math.isnan(charge.usd_per_month) else f"${charge.usd_per_month:.2f}/month"
        yield f"{charge.what}: {price} while idle ({charge.source})", charge.urn


POLICIES = [
    stack_rule(
        name="explicit-log-groups",
        description="Every Lambda function, state machine, container, Aurora log export and flow log writes to a log "
        "group the program declares, with retention",
        severity=Severity.MEDIUM,
        remediation="Create the group first with components.logs.log_group (the profile's retention, the stack's "
        "key) and point the service at it; otherwise the service creates one that keeps logs forever.",
        check=_check_log_groups,
        controls=["CloudWatch.16", "Lambda logging"],
    ),
    stack_rule(
        name="no-unplanned-idle-cost",
        description="Nothing bills by the hour or month while idle unless the stack's configuration accepts that "
        "resource type (dev accepts its database's Secrets Manager secrets, and alarms and a dashboard when a team "
        "turns them on)",
        severity=Severity.HIGH,
        remediation="Make the stack scale to zero (egress 'public-ip', aws-managed encryption, database minCapacity "
        "0), or add the type to this rule's `allowedIdleCosts` in policy/<stack>.json with the reason.",
        check=_check_idle_cost,
        controls=["Cost: scale to zero"],
        config={
            ALLOWED_IDLE_COSTS: {
                "type": "array",
                "items": {"type": "string"},
                "default": list(PRODUCTION_IDLE_COSTS),
                "description": "Resource types this stack may keep running while idle",
            }
        },
    ),
]
