"""What watches a stack and whom it tells: every alarm under the resource it watches, the failure-event rules, the
alarm topic with its subscriptions, the dashboard and the backup plan, read from the recorded resources.

An alarm watches the resources it depends on (its dimensions are their outputs), as the pack's
`cloudwatch-alarms-notify` rule reads it; an Aurora instance stands for its cluster. What each alarm and the
dashboard cost a month comes from policy/rules/idle.py, the classification the idle cost and the pack use, so the
figures here and there agree. `make preview` prints this as text (`text_lines`), the review report as Markdown
(`section`).
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policy.rules.idle import DASHBOARD, METRIC_ALARM, alarm_metrics, idle_charges
from policy.rules.monitoring import ALARMABLE, SUBSCRIPTION, TOPIC
from review.markdown import code, table, usd
from review.names import ArnIndex
from synth.program import RecordedResource, Synthesis

EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
AURORA_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
AURORA_CLUSTER = "aws:rds/cluster:Cluster"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
BACKUP_VAULT = "aws:backup/vault:Vault"
COMPARISONS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}
PROGRAM_METRICS = "the program's own metrics"
"""Where an alarm that depends on no resource of the program is listed (an application's business metric)."""
FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.DOTALL)


@dataclass(frozen=True)
class Alarm:
    resource: RecordedResource
    name: str
    """The alarm's name in CloudWatch: what a notification shows."""
    watches: str
    """The metric (or metric-math expression), its statistic and its period."""
    fires: str
    """The comparison, threshold and evaluation periods."""
    meaning: str
    """The first sentence of its description."""
    notifies: list[str]
    """Where ALARM goes, as names of the program's resources where possible."""
    usd_per_month: float


@dataclass
class Watched:
    """One watched resource (None: the program's own metrics), its alarms and its failure-event rules."""

    resource: RecordedResource | None
    alarms: list[Alarm] = field(default_factory=list)
    rules: list[RecordedResource] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.resource is None:
            return PROGRAM_METRICS
        return f"{ALARMABLE.get(self.resource.type, self.resource.type)} {self.resource.name}"


@dataclass(frozen=True)
class Operations:
    watched: list[Watched]
    topics: list[tuple[RecordedResource, list[RecordedResource]]]
    """Each alarm topic with its subscriptions."""
    dashboards: list[RecordedResource]
    plans: list[RecordedResource]
    alarms_usd: float
    dashboards_usd: float
    index: ArnIndex
    synthesis: Synthesis

    @property
    def empty(self) -> bool:
        return not (self.watched or self.topics or self.dashboards or self.plans)

    @property
    def alarm_count(self) -> int:
        return sum(len(watched.alarms) for watched in self.watched)


def operations(synthesis: Synthesis) -> Operations:
    index = ArnIndex.of(synthesis)
    by_urn = {resource.urn: resource for resource in synthesis.resources}
    charges = {c.urn: c.usd_per_month for c in idle_charges((r.urn, r.type, r.inputs) for r in synthesis.resources)}
    clusters = {r.inputs.get("clusterIdentifier"): r for r in synthesis.of_type(AURORA_CLUSTER)}
    watched: dict[str | None, Watched] = {}

    def owners(resource: RecordedResource) -> list[RecordedResource]:
        found = []
        for urn in resource.dependencies:
            dependency = by_urn.get(urn)
            if dependency is not None and dependency.type == AURORA_INSTANCE:
                dependency = clusters.get(dependency.inputs.get("clusterIdentifier"), dependency)
            if dependency is not None and dependency.type in ALARMABLE and dependency not in found:
                found.append(dependency)
        return found

    def entry(resource: RecordedResource | None) -> Watched:
        return watched.setdefault(resource.urn if resource else None, Watched(resource))

    for alarm in synthesis.of_type(METRIC_ALARM):
        described = _alarm(alarm, index, charges[alarm.urn])
        for owner in owners(alarm) or [None]:
            entry(owner).alarms.append(described)
    topics = synthesis.of_type(TOPIC)
    for rule in synthesis.of_type(EVENT_RULE):
        if _delivers_to(synthesis, rule, topics):
            for owner in owners(rule) or [None]:
                entry(owner).rules.append(rule)
    for found in watched.values():  # registration order varies between runs: a stable order keeps diffs readable
        found.alarms.sort(key=lambda alarm: alarm.name)
        found.rules.sort(key=lambda rule: rule.name)
    subscriptions = synthesis.of_type(SUBSCRIPTION)
    subscribed = [(t, [s for s in subscriptions if s.inputs.get("topic") == t.outputs.get("arn")]) for t in topics]
    return Operations(
        watched=sorted(watched.values(), key=_order),
        topics=subscribed,
        dashboards=synthesis.of_type(DASHBOARD),
        plans=synthesis.of_type(BACKUP_PLAN),
        alarms_usd=sum(charges[alarm.urn] for alarm in synthesis.of_type(METRIC_ALARM)),
        dashboards_usd=sum(charges[dashboard.urn] for dashboard in synthesis.of_type(DASHBOARD)),
        index=index,
        synthesis=synthesis,
    )


def _order(watched: Watched) -> tuple[int, int, str]:
    if watched.resource is None:
        return 1, 0, ""
    return 0, list(ALARMABLE).index(watched.resource.type), watched.resource.name


def _alarm(alarm: RecordedResource, index: ArnIndex, usd_per_month: float) -> Alarm:
    inputs = alarm.inputs
    comparison = COMPARISONS.get(str(inputs.get("comparisonOperator")), str(inputs.get("comparisonOperator")))
    periods, datapoints = inputs.get("evaluationPeriods", 1), inputs.get("datapointsToAlarm") or 1
    fires = f"{comparison} {_number(inputs.get('threshold'))}"
    if periods != 1:
        fires += f" in {datapoints} of {periods} periods"
    return Alarm(
        resource=alarm,
        name=str(inputs.get("name") or alarm.name),
        watches=_watches(inputs),
        fires=fires,
        meaning=first_sentence(str(inputs.get("alarmDescription") or "")),
        notifies=[index.label(action) for action in inputs.get("alarmActions") or [] if isinstance(action, str)],
        usd_per_month=usd_per_month,
    )


def _watches(inputs: Mapping[str, Any]) -> str:
    queries = inputs.get("metricQueries")
    if not queries:
        statistic = inputs.get("statistic") or inputs.get("extendedStatistic")
        return f"{inputs.get('namespace')} {inputs.get('metricName')} ({statistic}, {inputs.get('period')} s)"
    metrics = [query["metric"] for query in queries if query.get("metric")]
    expression = next((query.get("expression") for query in queries if query.get("returnData")), None)
    read = dict.fromkeys(f"{m.get('namespace')} {m.get('metricName')} ({m.get('stat')}, {m.get('period')} s)"
                         for m in metrics)  # fmt: skip
    return f"{expression} of {alarm_metrics(inputs)} metrics: {', '.join(read)}"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def first_sentence(text: str) -> str:
    """`Invocations failed: the handler raised. Runbook: ...` -> `Invocations failed: the handler raised.`"""
    match = FIRST_SENTENCE.match(text.strip())
    return match.group(1) if match else text.strip()


def _delivers_to(synthesis: Synthesis, rule: RecordedResource, topics: Iterable[RecordedResource]) -> bool:
    """Whether a rule is a failure alert: one of its targets is one of the stack's topics."""
    arns = {topic.outputs.get("arn") for topic in topics}
    targets = [t for t in synthesis.of_type(EVENT_TARGET) if t.inputs.get("rule") == rule.inputs.get("name")]
    return any(target.inputs.get("arn") in arns for target in targets)


def _topic_of(rule: RecordedResource, found: Operations) -> str:
    """The topics an alert rule delivers to, by name."""
    targets = [t for t in found.synthesis.of_type(EVENT_TARGET) if t.inputs.get("rule") == rule.inputs.get("name")]
    arns = {topic.outputs.get("arn") for topic, _ in found.topics}
    return ", ".join(found.index.label(t.inputs["arn"]) for t in targets if t.inputs.get("arn") in arns)


def _plan_rules(plan: RecordedResource, synthesis: Synthesis) -> list[str]:
    vaults = {vault.inputs.get("name"): vault.name for vault in synthesis.of_type(BACKUP_VAULT)}
    described = []
    for rule in plan.inputs.get("rules") or []:
        keep = (rule.get("lifecycle") or {}).get("deleteAfter")
        vault = vaults.get(rule.get("targetVaultName"), rule.get("targetVaultName"))
        kept = f", kept {keep} days" if keep else ", kept until deleted"
        described.append(f"rule {rule.get('ruleName')} at {rule.get('schedule')}{kept}, in vault {vault}")
    return described


def _protected(plan: RecordedResource, operations: Operations) -> list[str]:
    plan_id = plan.id or plan.inputs.get("name")
    selections = [s for s in operations.synthesis.of_type(BACKUP_SELECTION) if s.inputs.get("planId") == plan_id]
    return [operations.index.label(arn) for s in selections for arn in s.inputs.get("resources") or []]


def _dashboard_size(dashboard: RecordedResource) -> tuple[int, int]:
    """(widgets, metrics) of a dashboard: an account's three free dashboards may reference 50 metrics each."""
    try:
        widgets = json.loads(str(dashboard.inputs.get("dashboardBody"))).get("widgets") or []
    except ValueError:
        return 0, 0
    metrics = sum(len((widget.get("properties") or {}).get("metrics") or []) for widget in widgets)
    return len(widgets), metrics


def _dashboard_text(dashboard: RecordedResource) -> str:
    widgets, metrics = _dashboard_size(dashboard)
    return f"{dashboard.inputs.get('dashboardName') or dashboard.name}: {widgets} widgets, {metrics} metrics"


# Markdown, for the review report


def section(synthesis: Synthesis) -> list[str]:
    found = operations(synthesis)
    if found.empty:
        return ["This stack declares no alarms, alarm topic, dashboard or backup plan (an `Operations` component "
                "declared last makes them, as the profile's `monitoring` and `backup` settings ask)."]  # fmt: skip
    lines = [_summary(found)]
    if found.watched:
        lines += ["", "### Alarms, by the resource they watch", ""]
        rows = []
        for watched in found.watched:
            kind = ALARMABLE.get(watched.resource.type, "") if watched.resource else ""
            head = f"{code(watched.resource.name)} ({kind})" if watched.resource else PROGRAM_METRICS
            for alarm in watched.alarms:
                rows.append([head, code(alarm.name), alarm.watches, alarm.fires, alarm.meaning,
                             usd(alarm.usd_per_month)])  # fmt: skip
                head = ""  # the resource once, on its first row
            for rule in watched.rules:
                rows.append([head, code(str(rule.inputs.get("name") or rule.name)),
                             f"failure events (EventBridge rule to {code(_topic_of(rule, found))})", "on each event",
                             first_sentence(str(rule.inputs.get("description") or "")), "free"])  # fmt: skip
                head = ""
        lines += table(["resource", "alarm", "watches", "fires when", "means", "per month"], rows)
    for topic, subscriptions in found.topics:
        lines += ["", "### Notifications", ""]
        encrypted = topic.inputs.get("kmsMasterKeyId")
        key = f", encrypted with {code(found.index.label(encrypted))}" if encrypted else ", unencrypted"
        lines.append(f"Topic {code(topic.name)} ({code(str(topic.inputs.get('name')))}{key}).")
        if subscriptions:
            rows = [[code(s.name), str(s.inputs.get("protocol")), code(str(s.inputs.get("endpoint")))]
                    for s in subscriptions]  # fmt: skip
            lines += ["", *table(["subscription", "protocol", "endpoint"], rows)]
        else:
            lines += ["", "No subscription: alarms change state, and nobody is told."]
    if found.dashboards or found.plans:
        lines += ["", "### Dashboard and backups", ""]
        rows = [[code(d.name), f"dashboard {_dashboard_text(d)}", usd(found.dashboards_usd / len(found.dashboards))]
                for d in found.dashboards]  # fmt: skip
        for plan in found.plans:
            protected = ", ".join(code(name) for name in _protected(plan, found)) or "nothing selected"
            what = "; ".join(_plan_rules(plan, found.synthesis))
            rows.append([code(plan.name), f"backup plan {plan.inputs.get('name')}: {what}; protects {protected}",
                         "per GB stored"])  # fmt: skip
        lines += table(["resource", "what", "per month"], rows)
    return lines


def _summary(found: Operations) -> str:
    parts = []
    if found.alarm_count:
        parts.append(f"{found.alarm_count} alarms ({usd(found.alarms_usd)}/month)")
    if found.dashboards:
        parts.append(f"a dashboard ({usd(found.dashboards_usd)}/month, free if among the account's first three)")
    if found.plans:
        parts.append("a backup plan" if len(found.plans) == 1 else f"{len(found.plans)} backup plans")
    subscribers = sum(len(subscriptions) for _, subscriptions in found.topics)
    told = f", told to {subscribers} subscriber{'s' if subscribers != 1 else ''}" if found.topics else ""
    total = found.alarms_usd + found.dashboards_usd
    return f"{', '.join(parts)}{told}: {usd(total)}/month of the idle cost below, priced in `policy/rules/idle.py`."


# Text, for `make preview`


def text_lines(synthesis: Synthesis) -> list[str]:
    found = operations(synthesis)
    if found.empty:
        return ["Operations: none (no alarms, alarm topic, dashboard or backup plan)"]
    lines = ["Operations:"]
    for watched in found.watched:
        lines.append(f"  {watched.label}")
        for alarm in watched.alarms:
            lines.append(f"    alarm {alarm.name}: {alarm.watches} {alarm.fires} -> {', '.join(alarm.notifies)}")
            lines.append(f"      {alarm.meaning}")
        for rule in watched.rules:
            lines.append(f"    failure events {rule.inputs.get('name') or rule.name} -> {_topic_of(rule, found)}")
            lines.append(f"      {first_sentence(str(rule.inputs.get('description') or ''))}")
    for topic, subscriptions in found.topics:
        endpoints = ", ".join(f"{s.inputs.get('protocol')} {s.inputs.get('endpoint')}" for s in subscriptions)
        lines.append(f"  topic {topic.name} ({topic.inputs.get('name')}): {endpoints or 'no subscription'}")
    lines += [f"  dashboard {_dashboard_text(dashboard)}" for dashboard in found.dashboards]
    for plan in found.plans:
        protected = ", ".join(_protected(plan, found)) or "nothing selected"
        lines.append(f"  backup plan {plan.inputs.get('name')}: {'; '.join(_plan_rules(plan, synthesis))}")
        lines.append(f"    protects {protected}")
    lines.append(f"  per month: {usd(found.alarms_usd)} of alarms, {usd(found.dashboards_usd)} of dashboards")
    return lines
