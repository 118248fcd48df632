"""Alarms that reach someone: once a stack's profile asks for notifications (its alarm topic has a subscription),
every resource that can fail is watched by an alarm that notifies, and every alarm notifies the stack's own topics.

Which alarm watches which resource is read from the engine's dependencies, as pulumi-policy hands them to a stack
rule (`dependencies`, `property_dependencies`; policy/evaluate.py links the recorded dependencies the same way): an
alarm's dimensions name the watched resource by one of its outputs (a function's name, a state machine's ARN, a
cluster's identifier), so the alarm depends on it, in a preview of new resources as at `up`. An alarm whose
dimensions name the resource by a literal value counts too. A failure with no metric (an ECS task that stops
uncleanly) is watched by an EventBridge rule that delivers to a topic and depends on the task definition.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .base import Finding, known, of_type, plain, refers_to, stack_rule
from .containers import TASK_DEFINITION
from .data import CLUSTER, TABLE
from .functions import FUNCTION
from .idle import METRIC_ALARM
from .messaging import EVENT_TARGET, QUEUE
from .s3 import EVENT_RULE
from .workflows import STATE_MACHINE

TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ALARMABLE = {
    FUNCTION: "function",
    STATE_MACHINE: "state machine",
    QUEUE: "queue",
    TABLE: "table",
    CLUSTER: "Aurora cluster",
    EVENT_RULE: "EventBridge rule",
    TASK_DEFINITION: "task definition",
}
"""What can fail, as a finding names it. An EventBridge rule that only delivers to topics is itself an alert and
is not on the list; a task definition has no metric of its own, so a rule that alerts on its tasks watches it."""
DIMENSIONS = {
    FUNCTION: ("FunctionName", "name"),
    STATE_MACHINE: ("StateMachineArn", "arn"),
    QUEUE: ("QueueName", "name"),
    TABLE: ("TableName", "name"),
    CLUSTER: ("DBClusterIdentifier", "clusterIdentifier"),
    EVENT_RULE: ("RuleName", "name"),
}
"""The dimension by which a service's metrics name a resource, and the resource's output that fills it."""
ACTIONS = {"alarmActions": ("ALARM", "alarm_actions"), "okActions": ("OK", "ok_actions")}
"""Each list of actions an alarm must have: its property, the state it sends, and the argument that sets it."""
SNS_ARN = "arn:aws:sns:"


def _check_alarms_notify(args: StackValidationArgs) -> Iterable[Finding]:
    if not of_type(args, SUBSCRIPTION):
        return  # nobody is to be told: the profile asks for no notifications
    topics = of_type(args, TOPIC)
    alarms = of_type(args, METRIC_ALARM)
    rules = of_type(args, EVENT_RULE)
    to_topic = {rule.urn: [_is_topic_target(t, topics) for t in _targets(args, rule)] for rule in rules}
    # A rule whose every target is a topic is an alert itself; one without targets delivers nothing that can fail.
    alerts = {rule.urn for rule in rules if all(to_topic[rule.urn])}
    alerting = [rule for rule in rules if any(to_topic[rule.urn])]
    notifying = [alarm for alarm in alarms if _notifies(alarm)]
    for resource in of_type(args, *ALARMABLE):
        if resource.urn in alerts or any(_watches(alarm, resource) for alarm in notifying):
            continue
        if resource.resource_type == TASK_DEFINITION and any(resource.urn in _dependencies(r) for r in alerting):
            continue
        yield _unwatched(resource), resource.urn
    for alarm in alarms:
        yield from ((message, alarm.urn) for message in _check_actions(alarm, topics))


def _unwatched(resource: PolicyResource) -> str:
    what = f"{ALARMABLE[resource.resource_type]} {resource.name!r}"
    if resource.resource_type == TASK_DEFINITION:
        return (f"{what} is watched neither by an alarm that notifies nor by an EventBridge rule to a topic: a task "
                f"that stops uncleanly tells nobody; add a rule on its ECS 'Task State Change' events that targets "
                f"the stack's alarm topic (its component's watch(), declared before Operations)")  # fmt: skip
    return (f"{what} is watched by no alarm that notifies: when it fails, nobody is told; give its component a "
            f"watch() declared before Operations, or add a MetricAlarm on its metrics with alarm_actions=[the "
            f"stack's alarm topic]")  # fmt: skip


def _check_actions(alarm: PolicyResource, topics: Sequence[PolicyResource]) -> Iterable[str]:
    for key, (state, argument) in ACTIONS.items():
        actions = _actions(alarm, key)
        if actions is None:
            continue  # not known until the update
        if not actions:
            yield (f"alarm {alarm.name!r} sends {state} to nobody: set {argument} to the stack's alarm topic, so that "
                   f"its subscribers hear of it")  # fmt: skip
        for action in actions:
            if action is not None and not _is_stack_topic(action, topics):
                yield (f"alarm {alarm.name!r} sends {state} to {action!r}, which is not a topic of this stack: "
                       f"send it to the stack's alarm topic, whose subscribers the profile names")  # fmt: skip


def _actions(alarm: PolicyResource, key: str) -> list[str | None] | None:
    """The alarm's actions of one kind, each not yet known as None; None when the list itself is not known."""
    try:
        value = alarm.props.get(key)
    except UnknownValueError:
        return None
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [item if isinstance(item, str) else None for item in plain(value)] if isinstance(value, Sequence) else None


def _notifies(alarm: PolicyResource) -> bool:
    """Whether the alarm has alarm actions; one whose actions are not known yet gets the benefit of the doubt (the
    rule runs again at `up`, with the values)."""
    actions = _actions(alarm, "alarmActions")
    return actions is None or bool(actions)


def _is_stack_topic(arn: str, topics: Sequence[PolicyResource]) -> bool:
    """Whether `arn` is one of the stack's topics. A topic whose ARN a preview does not know yet is matched by its
    name (an SNS ARN ends with it), and one whose name is not known either matches any ARN: it cannot be told apart.
    """
    for topic in topics:
        own = known(topic.props, "arn")
        if own is None:  # a new topic in a preview: its ARN ends with its name
            name = known(topic.props, "name")
            if name is None or (arn.startswith(SNS_ARN) and arn.endswith(f":{name}")):
                return True
        elif arn in (own, known(topic.props, "id")):
            return True
    return False


def _targets(args: StackValidationArgs, rule: PolicyResource) -> list[PolicyResource]:
    return [target for target in of_type(args, EVENT_TARGET) if refers_to(target, "rule", rule, "name")]


def _is_topic_target(target: PolicyResource, topics: Sequence[PolicyResource]) -> bool:
    """Whether an EventBridge target delivers to an SNS topic: one of the stack's, or any other by its ARN."""
    if any(refers_to(target, "arn", topic) for topic in topics):
        return True
    arn = known(target.props, "arn")
    return isinstance(arn, str) and arn.startswith(SNS_ARN)


def _watches(alarm: PolicyResource, resource: PolicyResource) -> bool:
    """The alarm depends on the resource (its dimensions are the resource's outputs), or its dimensions name the
    resource by value."""
    if resource.urn in _dependencies(alarm):
        return True
    dimension, output = DIMENSIONS.get(resource.resource_type, (None, None))
    value = known(resource.props, output) if output else None
    return value is not None and any(d.get(dimension) == value for d in _dimensions(alarm))


def _dependencies(resource: PolicyResource) -> set[str]:
    urns = {dependency.urn for dependency in resource.dependencies}
    for dependencies in resource.property_dependencies.values():
        urns |= {dependency.urn for dependency in dependencies}
    return urns


def _dimensions(alarm: PolicyResource) -> list[Mapping[str, Any]]:
    """The dimensions of the alarm's metric, or of each metric its metric-math queries read."""
    props = plain(alarm.props)
    queries = [query.get("metric") for query in props.get("metricQueries") or [] if isinstance(query, Mapping)]
    candidates = [props.get("dimensions"), *(metric.get("dimensions") for metric in queries if metric)]
    return [dimensions for dimensions in candidates if isinstance(dimensions, Mapping)]


POLICIES = [
    stack_rule(
        name="cloudwatch-alarms-notify",
        description="When the stack's alarm topic has subscribers, every function, state machine, queue, table, "
        "Aurora cluster, EventBridge rule and task definition is watched by an alarm (or, for a task, an alert rule) "
        "that notifies, and every alarm sends ALARM and OK to the stack's own topics only",
        severity=Severity.MEDIUM,
        remediation="Declare components through their watch() before Operations (components/operations.py), which "
        "alarms on each one and sends ALARM and OK to the stack's alarm topic; a resource outside the components "
        "needs a MetricAlarm on its metrics with alarm_actions and ok_actions set to that topic's ARN.",
        check=_check_alarms_notify,
        controls=["CloudWatch.15", "Monitoring coverage"],
    ),
]
