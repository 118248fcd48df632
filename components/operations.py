"""The stack's operations, derived from the components it declares: one alarm topic, every alarm and failure event
the components ask for (`Watched.watch`), a dashboard with one row per component, and AWS Backup of the stack's
data. Declare it last: it watches every component declared before it, so nothing is listed by hand.

The profile decides what exists (`monitoring.alarms`, `monitoring.dashboard`, `backup.enabled`), because alarms (per
alarm metric a month) and dashboards (by the month, beyond an account's three free ones) are billed while nothing
happens: policy/rules/prices.py has the prices, and the review report the stack's figure. Every alarm sends ALARM
and OK to the topic, with a link to its runbook section.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.base import ChildTransform, Component, declared_components
from components.deadletter import dead_letter_alarms, dead_letter_queue, delivery
from components.monitoring import (
    DEFAULT_PERIOD_SECONDS,
    AlarmArgs,
    Comparison,
    EventAlertArgs,
    MetricArgs,
    Watch,
    Watched,
)
from components.naming import physical_name
from components.profile import profile_from_args
from components.profile_args import ProfileArgs

RUNBOOK = "docs/runbook.md"
APPLICATION = "application"
"""The runbook's anchor prefix for the program's own alarms (OperationsArgs.alarms)."""
OPERATIONS = "operations"
"""The runbook's anchor prefix for the alarms of this component's own parts (the alerts' dead-letter queue)."""
BACKUP_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
"""AWS's policy for the role AWS Backup runs as: exactly the per-service backup actions, kept current by AWS as
services add backup features."""
ALARM_DESCRIPTION_LENGTH = 1024
RULE_DESCRIPTION_LENGTH = 512
"""AWS's limits on an alarm's and a rule's description."""
DASHBOARD_WIDTH = 24
WIDGET_WIDTH = 6
WIDGET_HEIGHT = 6
ERROR_LINES = r"filter @message like /(?i)(error|exception|fail|timed out)/"


class OperationsArgs(TypedDict):
    """The arguments of Operations."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed KMS key for the alarm topic, the alerts' dead-letter queue and the backup vault. Default:
    none (the topic is then unencrypted: CloudWatch cannot publish to a topic under the AWS-managed SNS key, whose
    policy nobody can change; the vault uses AWS Backup's own key)."""
    alarms: NotRequired[list[AlarmArgs]]
    """The program's own alarms, e.g. on its business metrics. Default: none."""
    metrics: NotRequired[list[MetricArgs]]
    """Business metrics shown on top of the dashboard. Default: none."""


class _Watched(NamedTuple):
    kind: str
    """The component's type, lowercase: the first part of its alarms' runbook anchors."""
    owner: str
    """The component's logical name: the first part of its alarms' names."""
    watch: Watch


class Operations(Component):
    """Alarms, notifications, a dashboard and backups for every component declared before it."""

    topic_arn: pulumi.Output[str] | None
    """The topic every alarm and failure event goes to; None when the profile turns alarms off."""
    dashboard_name: pulumi.Output[str] | None
    """The stack's CloudWatch dashboard; None when the profile turns it off."""
    watched: list[str]
    """The components it watches: every component declared before it that can fail."""

    def __init__(
        self,
        name: str,
        args: OperationsArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        profile = profile_from_args(args["profile"])
        watched = [_Watched(type(c).__name__.lower(), c.logical_name, c.watch()) for c in declared_components()
                   if isinstance(c, Watched)]  # fmt: skip
        super().__init__(name, opts, transform)
        self._profile = profile
        self._kms_key_arn = args.get("kms_key_arn")
        self.topic_arn = None
        self.dashboard_name = None
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        self.rules: dict[str, list[aws.cloudwatch.EventRule]] = {}
        own = _Watched(APPLICATION, APPLICATION, Watch(title="Application", alarms=args.get("alarms") or []))
        if profile.monitoring.alarms:
            topic = self._create_topic()
            self.topic_arn = topic.arn
            rules = self._alarm_all([*watched, own], topic.arn)
            self._allow_publishing(topic, rules)
        if profile.monitoring.dashboard:
            self.dashboard_name = self._create_dashboard(watched, args.get("metrics") or []).dashboard_name
        backups = [arn for each in watched for arn in each.watch.backups]
        if profile.backup.enabled and backups:
            self._back_up(backups)
        self.watched = [each.owner for each in watched]
        self.finish({"topic_arn": self.topic_arn, "dashboard_name": self.dashboard_name, "watched": self.watched})

    # Notifications

    def _create_topic(self) -> aws.sns.Topic:
        name = self.logical_name
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=physical_name("alarms", "topic"),
            kms_master_key_id=self._kms_key_arn,
            opts=self.child(),
        )
        monitoring = self._profile.monitoring
        endpoints = [("email", address) for address in monitoring.emails]
        endpoints += [("https", url) for url in monitoring.webhooks]
        for index, (protocol, endpoint) in enumerate(endpoints):
            aws.sns.TopicSubscription(
                f"{name}-{protocol}-{index}", topic=topic.arn, protocol=protocol, endpoint=endpoint, opts=self.child()
            )
        return topic

    def _allow_publishing(self, topic: aws.sns.Topic, rules: Sequence[aws.cloudwatch.EventRule]) -> None:
        """Exactly the stack's alarms and alert rules may publish, by ARN (a name prefix would also admit another
        stack's whose name extends this one's, e.g. `prod-eu` beside `prod`)."""
        aws.sns.TopicPolicy(
            f"{self.logical_name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(
                topic.arn, [alarm.arn for alarm in self.alarms], [rule.arn for rule in rules]
            ).apply(lambda values: _topic_policy(*values)),
            opts=self.child(),
        )

    # Alarms and failure events

    def _alarm_all(self, watched: Sequence[_Watched], topic_arn: pulumi.Output[str]) -> list[aws.cloudwatch.EventRule]:
        """Every alarm, and the rules of every failure event; returns the rules."""
        name = self.logical_name
        for kind, owner, watch in watched:
            for spec in watch.alarms:
                self.alarms.append(self._alarm(kind, owner, spec, topic_arn))
        events = [(kind, owner, event) for kind, owner, watch in watched for event in watch.events]
        if not events:
            return []
        rules = {
            f"{name}-{owner}-{event['name']}": self._event_rule(kind, owner, event) for kind, owner, event in events
        }
        # What the topic refuses (a key or policy mistake) is kept, and seen: alerts must not vanish silently.
        alerts_dlq = dead_letter_queue(
            f"{name}-alerts-dlq", self._profile, self._kms_key_arn, [rule.arn for rule in rules.values()], parent=self
        )
        for resource_name, rule in rules.items():
            aws.cloudwatch.EventTarget(
                f"{resource_name}-target", rule=rule.name, arn=topic_arn, **delivery(alerts_dlq.arn), opts=self.child()
            )
        for spec in dead_letter_alarms(alerts_dlq.name, "failure events that never reached the topic"):
            self.alarms.append(self._alarm(OPERATIONS, "alerts", spec, topic_arn))
        return list(rules.values())

    def _event_rule(self, kind: str, owner: str, event: EventAlertArgs) -> aws.cloudwatch.EventRule:
        rule = aws.cloudwatch.EventRule(
            f"{self.logical_name}-{owner}-{event['name']}",
            name=physical_name(f"{owner}-{event['name']}", "rule"),
            description=_described(event["meaning"], kind, event["name"], RULE_DESCRIPTION_LENGTH),
            event_pattern=event["event_pattern"],
            opts=self.child(),
        )
        self.rules.setdefault(owner, []).append(rule)
        return rule

    def _alarm(
        self, kind: str, owner: str, spec: AlarmArgs, topic_arn: pulumi.Output[str]
    ) -> aws.cloudwatch.MetricAlarm:
        evaluation_periods = spec.get("evaluation_periods", 1)
        return aws.cloudwatch.MetricAlarm(
            f"{self.logical_name}-{owner}-{spec['name']}",
            name=physical_name(f"{owner}-{spec['name']}", "alarm"),
            alarm_description=_described(spec["meaning"], kind, spec["name"], ALARM_DESCRIPTION_LENGTH),
            comparison_operator=Comparison(spec.get("comparison", Comparison.GREATER)).value,
            threshold=spec["threshold"],
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            # No data means nothing happened: an idle pipeline is healthy, not alarming.
            treat_missing_data="notBreaching",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            opts=self.child(),
            **_alarm_metrics(spec),
        )

    # Dashboard

    def _create_dashboard(
        self, watched: Sequence[_Watched], business: Sequence[MetricArgs]
    ) -> aws.cloudwatch.Dashboard:
        rows: list[list[dict[str, Any]]] = []
        if business:
            by_name: dict[str, list[MetricArgs]] = {}
            for business_metric in business:
                by_name.setdefault(business_metric["name"], []).append(business_metric)
            rows.append([_text("Business metrics"), *(_metric_widget(n, ms, None) for n, ms in by_name.items())])
        for _, owner, watch in watched:
            widgets = [_metric_widget(spec["name"], spec["metrics"], spec["threshold"]) for spec in watch.alarms]
            for rule in self.rules.get(owner, []):
                widgets.append(_metric_widget("failure events", [_matched(rule.name)], 0))
            widgets += [_log_widget(group) for group in watch.log_groups]
            if widgets:
                rows.append([_text(watch.title), *widgets])
        body = pulumi.Output.all(self.region, rows).apply(lambda values: _dashboard_body(*values))
        return aws.cloudwatch.Dashboard(
            f"{self.logical_name}-dashboard",
            dashboard_name=physical_name("operations", "dashboard"),
            dashboard_body=body,
            opts=self.child(),
        )

    # Backups

    def _back_up(self, resources: Sequence[pulumi.Input[str]]) -> None:
        name = self.logical_name
        settings = self._profile.backup
        vault = aws.backup.Vault(
            f"{name}-vault",
            name=physical_name("backups", "backup-vault"),
            kms_key_arn=self._kms_key_arn,
            force_destroy=self._profile.force_destroy,
            opts=self._profile.stateful(self),
        )
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=physical_name("daily", "backup-plan"),
            rules=[
                {
                    "rule_name": "daily",
                    "target_vault_name": vault.name,
                    "schedule": settings.schedule,
                    "lifecycle": {"delete_after": settings.retention_days},
                }
            ],
            opts=self.child(),
        )
        role = aws.iam.Role(
            f"{name}-backup-role",
            name=physical_name("backup", "role"),
            assume_role_policy=iam.trust_policy("backup.amazonaws.com", self.account_id),
            opts=self.child(),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-backup-role-policy", role=role.name, policy_arn=BACKUP_POLICY_ARN, opts=self.child()
        )
        aws.backup.Selection(
            f"{name}-selection",
            name=physical_name("data", "backup-selection"),
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=list(resources),
            opts=self.child(depends_on=[attachment]),
        )


def runbook_anchor(kind: str, alarm_name: str) -> str:
    """The runbook section of an alarm or failure event: `<component type>-<name>`, e.g. `function-errors`."""
    return f"{kind}-{alarm_name}"


def _described(meaning: str, kind: str, alarm_name: str, limit: int) -> str:
    """The meaning, then the runbook link (kept whole: the meaning is shortened if AWS's limit needs it)."""
    link = f" Runbook: {RUNBOOK}#{runbook_anchor(kind, alarm_name)}"
    return meaning[: limit - len(link)] + link


def _alarm_metrics(spec: AlarmArgs) -> dict[str, Any]:
    """One metric as the alarm's own; several as their sum (metric math), each billed as an alarm metric."""
    period = spec.get("period_seconds", DEFAULT_PERIOD_SECONDS)
    metrics = spec["metrics"]
    if len(metrics) == 1:
        watched = metrics[0]
        statistic = watched.get("statistic", "Sum")
        percentile = statistic.startswith("p")
        return {
            "namespace": watched["namespace"],
            "metric_name": watched["name"],
            "dimensions": watched["dimensions"],
            "period": period,
            "statistic": None if percentile else statistic,
            "extended_statistic": statistic if percentile else None,
        }
    queries = [
        {
            "id": f"m{index}",
            "return_data": False,
            "metric": {
                "namespace": watched["namespace"],
                "metric_name": watched["name"],
                "dimensions": watched["dimensions"],
                "period": period,
                "stat": watched.get("statistic", "Sum"),
            },
        }
        for index, watched in enumerate(metrics)
    ]
    total = ", ".join(query["id"] for query in queries)
    return {
        "metric_queries": [
            *queries,
            {"id": "total", "expression": f"SUM([{total}])", "label": spec["name"], "return_data": True},
        ]
    }


def _topic_policy(topic_arn: str, alarm_arns: Sequence[str], rule_arns: Sequence[str]) -> str:
    """Only the stack's own alarms and alert rules may publish (by source ARN, which also pins the account), and
    only over TLS."""

    def publisher(sid: str, service: str, sources: Sequence[str]) -> dict[str, Any]:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": sorted(sources)}},
        }

    statements = [
        *([publisher("StackAlarmsPublish", "cloudwatch.amazonaws.com", alarm_arns)] if alarm_arns else []),
        *([publisher("StackEventRulesPublish", "events.amazonaws.com", rule_arns)] if rule_arns else []),
        iam.deny_insecure_transport("sns:Publish", topic_arn),
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def _matched(rule_name: pulumi.Input[str]) -> MetricArgs:
    return MetricArgs(namespace="AWS/Events", name="MatchedEvents", dimensions={"RuleName": rule_name})


def _text(title: str) -> dict[str, Any]:
    return {"type": "text", "width": DASHBOARD_WIDTH, "height": 1, "properties": {"markdown": f"## {title}"}}


def _metric_widget(title: str, metrics: Sequence[MetricArgs], threshold: float | None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": title,
        "view": "timeSeries",
        "period": DEFAULT_PERIOD_SECONDS * 5,
        "metrics": [
            [m["namespace"], m["name"], *(part for key, value in sorted(m["dimensions"].items())
                                          for part in (key, value)), {"stat": m.get("statistic", "Sum")}]
            for m in metrics
        ],
    }  # fmt: skip
    if threshold is not None:
        properties["annotations"] = {"horizontal": [{"label": "alarm", "value": threshold}]}
    return {"type": "metric", "width": WIDGET_WIDTH, "height": WIDGET_HEIGHT, "properties": properties}


def _log_widget(group: pulumi.Input[str]) -> dict[str, Any]:
    query = pulumi.Output.from_input(group).apply(
        lambda name: f"SOURCE '{name}' | fields @timestamp, @message | {ERROR_LINES} | sort @timestamp desc | limit 20"
    )
    properties = {"title": "error lines", "view": "table", "query": query}
    return {"type": "log", "width": WIDGET_WIDTH * 2, "height": WIDGET_HEIGHT, "properties": properties}


def _dashboard_body(region: str, rows: list[list[dict[str, Any]]]) -> str:
    """Rows top to bottom; each row's widgets left to right, wrapping at the dashboard's 24 columns."""
    widgets = []
    y = 0
    for row in rows:
        x = 0
        height = 0
        for widget in row:
            if x + widget["width"] > DASHBOARD_WIDTH:
                x, y = 0, y + height
                height = 0
            properties = dict(widget["properties"])
            if widget["type"] != "text":
                properties["region"] = region
            widgets.append({**widget, "x": x, "y": y, "properties": properties})
            x += widget["width"]
            height = max(height, widget["height"])
        y += height
    return json.dumps({"widgets": widgets}, sort_keys=True)
