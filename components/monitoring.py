"""What a component tells the stack's operations about itself: the alarms its own settings imply, the events that
mean it failed, the logs to search and the data to back up. `components/operations.py` turns every declared
component's `Watch` into alarms, event rules, a dashboard row and a backup selection, so a program gets its
monitoring by declaring its components, not by listing their metrics.

Thresholds come from the component's arguments (a function's duration alarm from its timeout, a queue's age alarm
from its retention), never from a list a user keeps in step by hand.
"""

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NotRequired, Protocol, TypedDict, runtime_checkable

import pulumi

DEFAULT_PERIOD_SECONDS = 60
"""CloudWatch's standard resolution: the cheapest alarm that still reacts within minutes."""


class Comparison(enum.StrEnum):
    """How an alarm compares its statistic with the threshold."""

    GREATER = "GreaterThanThreshold"
    """Fires above the threshold: `> 0` for counts of things that should never happen."""
    GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
    """Fires at the threshold: for a limit (a timeout, a capacity) reached."""


class MetricArgs(TypedDict):
    """One CloudWatch metric and the statistic taken of it."""

    namespace: str
    """e.g. `AWS/Lambda`, or an application's own namespace."""
    name: str
    """The metric's name, e.g. `Errors`."""
    dimensions: dict[str, pulumi.Input[str]]
    """The dimensions that name the resource, exactly as the service publishes them."""
    statistic: NotRequired[str]
    """`Sum`, `Average`, `Minimum`, `Maximum` or a percentile such as `p99`. Default: "Sum"."""


class AlarmArgs(TypedDict):
    """An alarm a component declares on itself."""

    name: str
    """Short and stable, e.g. `errors`: the alarm is `<component>-<name>`, and the runbook's section for it."""
    meaning: str
    """What it means when it fires, in one sentence: the alarm's description, shown in every notification."""
    metrics: list[MetricArgs]
    """The metric watched, or several whose sum is watched (each is billed as an alarm metric)."""
    threshold: float
    """The value the statistic is compared with."""
    comparison: NotRequired[Comparison]
    """Default: "GreaterThanThreshold"."""
    period_seconds: NotRequired[int]
    """The length of each evaluated period. Default: 60."""
    evaluation_periods: NotRequired[int]
    """How many consecutive breaching periods fire the alarm. Default: 1."""


class EventAlertArgs(TypedDict):
    """An EventBridge event that means the component failed, for what has no metric (a one-off task's exit)."""

    name: str
    """Short and stable, e.g. `task-failed`: the rule is `<component>-<name>`."""
    meaning: str
    """What the event means, in one sentence: the rule's description."""
    event_pattern: pulumi.Input[str]
    """The EventBridge pattern (JSON) of the failure events, and no other."""


@dataclass(frozen=True)
class Watch:
    """Everything the stack's operations need from one component."""

    title: str
    """The component's row on the dashboard, e.g. `Function render`."""
    alarms: Sequence[AlarmArgs] = ()
    events: Sequence[EventAlertArgs] = ()
    log_groups: Sequence[pulumi.Input[str]] = ()
    """Log groups whose error lines the dashboard shows."""
    backups: Sequence[pulumi.Input[str]] = ()
    """ARNs of what AWS Backup protects (tables, clusters)."""


@runtime_checkable
class Watched(Protocol):
    """A component that can fail, and so says how to watch it."""

    def watch(self) -> Watch: ...


def metric(
    namespace: str, name: str, dimensions: Mapping[str, pulumi.Input[str]], statistic: str = "Sum"
) -> MetricArgs:
    return MetricArgs(namespace=namespace, name=name, dimensions=dict(dimensions), statistic=statistic)


def alarm(
    name: str,
    meaning: str,
    metrics: MetricArgs | Sequence[MetricArgs],
    threshold: float = 0,
    comparison: Comparison = Comparison.GREATER,
    period_seconds: int = DEFAULT_PERIOD_SECONDS,
    evaluation_periods: int = 1,
) -> AlarmArgs:
    """An alarm spec; the default is "fires on the first occurrence within a minute" (> 0)."""
    watched = [metrics] if isinstance(metrics, dict) else list(metrics)
    return AlarmArgs(
        name=name,
        meaning=meaning,
        metrics=watched,
        threshold=threshold,
        comparison=comparison,
        period_seconds=period_seconds,
        evaluation_periods=evaluation_periods,
    )
