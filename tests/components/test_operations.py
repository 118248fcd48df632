"""Operations: one topic, every watched alarm and failure event, a dashboard and AWS Backup, derived from the
components declared before it, and only what the profile asks for.

Small programs watch a `Probe`, a component of the test's own that asks for exactly what each test needs; the
reference program (tests/reference.py, every component under each stack's real profile) is checked stack-wide.
"""

import dataclasses
import json
import re

import pytest
from pulumi.runtime import settings

from components.base import Component, type_token
from components.database import ServerlessDatabase
from components.fargate import FargateTask
from components.function import Function
from components.key import EncryptionKey, EncryptionKeyArgs
from components.monitoring import Comparison, EventAlertArgs, Watch, alarm, metric
from components.operations import DASHBOARD_WIDTH, RUNBOOK, Operations, OperationsArgs
from components.profile import BackupSettings, MonitoringSettings, load_profile
from components.table import Table
from components.trigger import ObjectCreatedTrigger
from components.workflow import Workflow
from synth.program import SynthesisError, stack_config
from tests.helpers import ACCOUNT, DISPOSABLE, PROTECTED, REGION, from_another_language, run, statements, tiny_code
from tests.reference import reference_program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
VAULT = "aws:backup/vault:Vault"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
PREFIX = "image-pipeline-unit-"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}alarms"
EMAILS = ("ops@example.com", "oncall@example.com")
WEBHOOK = "https://hooks.example.com/alarms"
ORDERS_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{PREFIX}orders"
ORDERS_CLUSTER = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{PREFIX}ledger"
GONE = json.dumps({"source": ["probe"], "detail-type": ["Order Gone"]})
SOLD = metric("Shop", "OrdersSold", {"service": "shop"})
REFUNDED = metric("Shop", "OrdersRefunded", {"service": "shop"}, "Average")
TOLD = dataclasses.replace(
    PROTECTED,
    monitoring=MonitoringSettings(emails=EMAILS, webhooks=(WEBHOOK,)),
    backup=BackupSettings(retention_days=90, schedule="cron(30 1 * * ? *)"),
)
"""Protected, with people to tell and a backup plan of its own."""
WATCHED_TYPES = {type_token(c) for c in (Function, Workflow, Table, ServerlessDatabase, FargateTask,
                                         ObjectCreatedTrigger)}  # fmt: skip
DIMENSION_RESOURCES = {
    "FunctionName": ("aws:lambda/function:Function", "name"),
    "StateMachineArn": ("aws:sfn/stateMachine:StateMachine", "arn"),
    "TableName": ("aws:dynamodb/table:Table", "name"),
    "QueueName": ("aws:sqs/queue:Queue", "name"),
    "RuleName": (RULE, "name"),
    "DBClusterIdentifier": ("aws:rds/cluster:Cluster", "clusterIdentifier"),
}
"""The dimensions that name a resource, and the resource type and output that holds the name."""
REFERENCE_ORDER = ["jobs", "ledger", "check", "convert", "migrate", "batch", "long-run", "intake", "on-arrival"]
"""The components of tests/reference.py that can fail, in the order `declare()` declares them."""


class Probe(Component):
    """A component of the test's own that asks to be watched for exactly `watch`."""

    def __init__(self, name, watch):
        super().__init__(name, None)
        self._watch = watch
        self.finish({"name": name})

    def watch(self):
        return self._watch


def orders_watch(events=True):
    shop = {"service": "shop"}
    alarms = [
        alarm("errors", "Orders failed.", metric("Shop", "OrdersFailed", shop)),
        alarm("latency", "Orders are slow.", metric("Shop", "Latency", shop, "p95"), 2000,
              Comparison.GREATER_OR_EQUAL, 300, 3),
        alarm("rejected", "Orders were rejected.",
              [metric("Shop", "Rejected", shop), metric("Shop", "Refused", shop, "Maximum")]),
    ]  # fmt: skip
    return Watch(
        title="Probe orders",
        alarms=alarms,
        events=[EventAlertArgs(name="gone", meaning="An order vanished.", event_pattern=GONE)] if events else [],
        log_groups=["/probe/orders"],
        backups=[ORDERS_TABLE, ORDERS_CLUSTER],
    )


def declare(profile=TOLD, with_key=True, events=True, preview=False, **args):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        Probe("orders", orders_watch(events))
        own = {"kms_key_arn": key.arn} if key else {}
        return Operations("operations", OperationsArgs(profile=profile.args, **own, **args))

    return run(build, preview=preview)


APPLICATION_ALARM = alarm("orders-dropped", "Orders were dropped.", SOLD, 5, period_seconds=3600)
_programs = {}


def told():
    """The probe under the protected profile with people to tell, a key, an alarm and metrics of its own."""
    if "told" not in _programs:
        _programs["told"] = declare(alarms=[APPLICATION_ALARM], metrics=[SOLD, REFUNDED])
    return _programs["told"]


def disposable():
    """The probe under the disposable profile, without a key and without failure events."""
    if "disposable" not in _programs:
        _programs["disposable"] = declare(DISPOSABLE, with_key=False, events=False)
    return _programs["disposable"]


def key_arn(synthesis):
    return synthesis.one("aws:kms/key:Key").outputs["arn"]


def alarms_by_name(synthesis):
    return {a.name: a for a in synthesis.of_type(ALARM)}


def dashboard_widgets(synthesis):
    return json.loads(synthesis.one(DASHBOARD).inputs["dashboardBody"])["widgets"]


# The topic and who is told


def test_the_topic_is_encrypted_with_the_key_when_given():
    synthesis = told()
    topic = synthesis.one(TOPIC)
    assert topic.inputs["name"] == f"{PREFIX}alarms"
    assert topic.inputs["kmsMasterKeyId"] == key_arn(synthesis), topic.urn


def test_the_topic_is_unencrypted_without_a_key():
    """CloudWatch cannot publish to a topic under the AWS-managed SNS key, whose policy nobody can change."""
    topic = disposable().one(TOPIC)
    assert "kmsMasterKeyId" not in topic.inputs, topic.urn


def test_only_this_stacks_alarms_and_rules_may_publish_and_only_over_tls():
    """By exact ARN: a name prefix would also admit a stack whose name extends this one's (`prod-eu` beside `prod`)."""
    synthesis = told()
    policy = synthesis.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == TOPIC_ARN

    def allowed(sid, service, sources):
        return {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service}, "Action": "sns:Publish",
                "Resource": TOPIC_ARN, "Condition": {"ArnEquals": {"aws:SourceArn": sorted(sources)}}}  # fmt: skip

    alarms = [a.outputs["arn"] for a in synthesis.of_type(ALARM)]
    rules = [r.outputs["arn"] for r in synthesis.of_type(RULE)]
    assert alarms
    assert rules
    assert statements(policy) == [
        allowed("StackAlarmsPublish", "cloudwatch.amazonaws.com", alarms),
        allowed("StackEventRulesPublish", "events.amazonaws.com", rules),
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sns:Publish",
         "Resource": TOPIC_ARN, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ], policy.urn  # fmt: skip


def test_each_email_and_webhook_of_the_profile_is_subscribed_once():
    subscriptions = told().of_type(SUBSCRIPTION)
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions) == sorted(
        [("email", EMAILS[0]), ("email", EMAILS[1]), ("https", WEBHOOK)]
    )
    assert all(s.inputs["topic"] == TOPIC_ARN for s in subscriptions)
    assert disposable().of_type(SUBSCRIPTION) == [], "nobody to tell: no subscription"


# Alarms


def test_one_alarm_per_watched_alarm_and_per_program_alarm_and_the_alerts_dead_letters():
    assert set(alarms_by_name(told())) == {
        "operations-orders-errors", "operations-orders-latency", "operations-orders-rejected",
        "operations-application-orders-dropped",
        "operations-alerts-dlq-messages", "operations-alerts-dlq-age",
    }  # fmt: skip
    assert set(alarms_by_name(disposable())) == {
        "operations-orders-errors",
        "operations-orders-latency",
        "operations-orders-rejected",
    }, "no failure events: no alerts dead-letter queue to watch"


def test_every_alarm_sends_alarm_and_ok_to_the_topic_and_treats_missing_data_as_fine():
    for found in told().of_type(ALARM):
        assert found.inputs["alarmActions"] == [TOPIC_ARN], found.urn
        assert found.inputs["okActions"] == [TOPIC_ARN], found.urn
        assert found.inputs["treatMissingData"] == "notBreaching", found.urn
        assert found.inputs["name"].startswith(PREFIX), found.urn


def test_every_alarm_description_is_its_meaning_then_its_runbook_section():
    alarms = alarms_by_name(told())
    expected = {
        "operations-orders-errors": ("Orders failed.", "probe-errors"),
        "operations-application-orders-dropped": ("Orders were dropped.", "application-orders-dropped"),
        "operations-alerts-dlq-messages": ("Events wait in the dead-letter queue", "operations-dlq-messages"),
    }
    for name, (meaning, anchor) in expected.items():
        description = alarms[name].inputs["alarmDescription"]
        assert description.startswith(meaning), alarms[name].urn
        assert description.endswith(f" Runbook: docs/runbook.md#{anchor}"), alarms[name].urn


def test_a_meaning_too_long_for_aws_is_shortened_and_the_runbook_link_kept_whole():
    wordy = alarm("wordy", "Something happened. " * 80, metric("Shop", "Wordy", {}))
    synthesis = run(lambda: (Probe("orders", Watch(title="Probe orders", alarms=[wordy])),
                             Operations("operations", OperationsArgs(profile=DISPOSABLE.args))))  # fmt: skip
    description = synthesis.one(ALARM).inputs["alarmDescription"]
    assert len(description) <= 1024
    assert description.endswith(" Runbook: docs/runbook.md#probe-wordy")


def test_a_single_metric_is_the_alarms_own_and_a_percentile_an_extended_statistic():
    alarms = alarms_by_name(told())
    errors, latency = alarms["operations-orders-errors"].inputs, alarms["operations-orders-latency"].inputs
    assert (errors["namespace"], errors["metricName"], errors["dimensions"]) == ("Shop", "OrdersFailed",
                                                                                 {"service": "shop"})  # fmt: skip
    assert (errors["statistic"], errors["period"], errors["threshold"]) == ("Sum", 60, 0)
    assert errors["comparisonOperator"] == "GreaterThanThreshold"
    assert latency["extendedStatistic"] == "p95"
    assert "statistic" not in latency
    assert (latency["comparisonOperator"], latency["threshold"], latency["period"]) == (
        "GreaterThanOrEqualToThreshold", 2000, 300
    )  # fmt: skip
    assert latency["evaluationPeriods"] == latency["datapointsToAlarm"] == 3, "3 breaching periods in a row"


def test_several_metrics_are_alarmed_on_as_their_sum():
    rejected = alarms_by_name(told())["operations-orders-rejected"].inputs
    assert not {"namespace", "metricName", "statistic", "dimensions", "period"} & set(rejected)
    assert rejected["metricQueries"] == [
        {"id": "m0", "returnData": False, "metric": {"namespace": "Shop", "metricName": "Rejected",
                                                     "dimensions": {"service": "shop"}, "period": 60, "stat": "Sum"}},
        {"id": "m1", "returnData": False, "metric": {"namespace": "Shop", "metricName": "Refused",
                                                     "dimensions": {"service": "shop"}, "period": 60,
                                                     "stat": "Maximum"}},
        {"id": "total", "expression": "SUM([m0, m1])", "label": "rejected", "returnData": True},
    ]  # fmt: skip


def test_the_programs_own_alarms_are_declared_as_given():
    dropped = alarms_by_name(told())["operations-application-orders-dropped"].inputs
    assert dropped["name"] == f"{PREFIX}application-orders-dropped"
    assert (dropped["namespace"], dropped["metricName"], dropped["dimensions"]) == ("Shop", "OrdersSold",
                                                                                    {"service": "shop"})  # fmt: skip
    assert (dropped["threshold"], dropped["period"], dropped["statistic"]) == (5, 3600, "Sum")


# Failure events


def test_a_failure_event_is_a_rule_of_the_stack_delivered_to_the_topic_with_retries_and_a_dead_letter_queue():
    synthesis = told()
    rule = synthesis.one(RULE, "operations-orders-gone")
    assert rule.inputs["name"] == f"{PREFIX}orders-gone"
    assert rule.inputs["eventPattern"] == GONE
    assert rule.inputs["description"] == f"An order vanished. Runbook: {RUNBOOK}#probe-gone"
    target = synthesis.one(TARGET)
    queue = synthesis.one("aws:sqs/queue:Queue", "operations-alerts-dlq")
    assert target.inputs["rule"] == rule.outputs["name"]
    assert target.inputs["arn"] == TOPIC_ARN
    assert target.inputs["retryPolicy"] == {"maximumEventAgeInSeconds": 86400, "maximumRetryAttempts": 185}
    assert target.inputs["deadLetterConfig"] == {"arn": queue.outputs["arn"]}, target.urn


def test_the_alerts_dead_letter_queue_is_encrypted_and_takes_only_the_stacks_failure_rules():
    synthesis = told()
    queue = synthesis.one("aws:sqs/queue:Queue", "operations-alerts-dlq")
    assert queue.inputs["kmsMasterKeyId"] == key_arn(synthesis), queue.urn
    allowed, denied = statements(synthesis.one("aws:sqs/queuePolicy:QueuePolicy"))
    assert allowed["Principal"] == {"Service": "events.amazonaws.com"}
    assert allowed["Condition"] == {"ArnEquals": {"aws:SourceArn": synthesis.one(RULE).outputs["arn"]}}
    assert denied["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_without_failure_events_there_is_no_rule_and_no_dead_letter_queue():
    synthesis = disposable()
    assert synthesis.of_type(RULE) == synthesis.of_type(TARGET) == synthesis.of_type("aws:sqs/queue:Queue") == []


# Dashboard


def test_the_dashboard_is_the_stacks_and_its_body_is_valid_json():
    synthesis = told()
    dashboard = synthesis.one(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == f"{PREFIX}operations"
    assert set(json.loads(dashboard.inputs["dashboardBody"])) == {"widgets"}
    operations = synthesis.one(type_token(Operations))
    assert synthesis.component_outputs[operations.urn]["dashboard_name"] == f"{PREFIX}operations"


def assert_laid_out_on_the_grid(widgets):
    """Every widget within the 24 columns, none overlapping another."""
    cells = set()
    for widget in widgets:
        assert 0 <= widget["x"] <= widget["x"] + widget["width"] <= DASHBOARD_WIDTH, widget
        covered = {(x, y) for x in range(widget["x"], widget["x"] + widget["width"])
                   for y in range(widget["y"], widget["y"] + widget["height"])}  # fmt: skip
        assert not covered & cells, f"{widget} overlaps another widget"
        cells |= covered


def test_business_metrics_on_top_then_one_row_per_component():
    widgets = dashboard_widgets(told())
    assert_laid_out_on_the_grid(widgets)
    texts = [w for w in widgets if w["type"] == "text"]
    assert [t["properties"]["markdown"] for t in texts] == ["## Business metrics", "## Probe orders"]
    assert texts[0]["y"] == 0
    business = [w for w in widgets if w["y"] < texts[1]["y"] and w["type"] == "metric"]
    assert [w["properties"]["title"] for w in business] == ["OrdersSold", "OrdersRefunded"]
    assert business[1]["properties"]["metrics"] == [["Shop", "OrdersRefunded", "service", "shop", {"stat": "Average"}]]


def test_a_components_row_shows_each_alarms_metric_with_its_threshold_its_failure_events_and_its_errors():
    widgets = dashboard_widgets(told())
    row = [w for w in widgets if w["y"] > next(t["y"] for t in widgets if t["properties"].get("markdown") ==
                                                "## Probe orders")]  # fmt: skip
    by_title = {w["properties"]["title"]: w for w in row}
    assert set(by_title) == {"errors", "latency", "rejected", "failure events", "error lines"}
    latency = by_title["latency"]["properties"]
    assert latency["metrics"] == [["Shop", "Latency", "service", "shop", {"stat": "p95"}]]
    assert latency["annotations"] == {"horizontal": [{"label": "alarm", "value": 2000}]}
    assert len(by_title["rejected"]["properties"]["metrics"]) == 2
    assert by_title["failure events"]["properties"]["metrics"] == [
        ["AWS/Events", "MatchedEvents", "RuleName", f"{PREFIX}orders-gone", {"stat": "Sum"}]
    ]
    assert by_title["error lines"]["properties"]["query"].startswith("SOURCE '/probe/orders' | ")
    assert all(w["properties"]["region"] == REGION for w in row)


# Backup


def test_the_vault_is_encrypted_with_the_key_and_kept_as_stateful_data():
    synthesis = told()
    vault = synthesis.one(VAULT)
    assert vault.inputs["name"] == f"{PREFIX}backups"
    assert vault.inputs["kmsKeyArn"] == key_arn(synthesis), vault.urn
    assert (vault.protect, vault.retain_on_delete, vault.inputs["forceDestroy"]) == (True, True, False), vault.urn
    disposable_vault = disposable().one(VAULT)
    assert "kmsKeyArn" not in disposable_vault.inputs, "AWS Backup's own key without ours"
    assert (disposable_vault.protect, disposable_vault.retain_on_delete) == (False, False), disposable_vault.urn
    assert disposable_vault.inputs["forceDestroy"] is True, disposable_vault.urn


def test_the_plan_follows_the_profiles_schedule_and_retention():
    (rule,) = told().one(PLAN).inputs["rules"]
    assert rule == {"ruleName": "daily", "targetVaultName": f"{PREFIX}backups", "schedule": "cron(30 1 * * ? *)",
                    "lifecycle": {"deleteAfter": 90}}  # fmt: skip


def test_the_selection_is_exactly_what_the_components_ask_to_back_up_as_a_role_only_backup_assumes():
    synthesis = told()
    selection = synthesis.one(SELECTION)
    role = synthesis.one("aws:iam/role:Role")
    assert selection.inputs["resources"] == [ORDERS_TABLE, ORDERS_CLUSTER]
    assert selection.inputs["planId"] == synthesis.one(PLAN).id
    assert selection.inputs["iamRoleArn"] == role.outputs["arn"]
    (trust,) = statements(role, "assumeRolePolicy")
    assert trust == {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole",
                     "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}  # fmt: skip
    attachment = synthesis.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"].endswith(":policy/service-role/AWSBackupServiceRolePolicyForBackup")
    assert attachment.urn in selection.dependencies, "the selection must not be made before its role may back up"


def test_nothing_to_back_up_means_no_vault():
    synthesis = run(lambda: (Probe("orders", Watch(title="Probe orders")),
                             Operations("operations", OperationsArgs(profile=DISPOSABLE.args))))  # fmt: skip
    assert synthesis.of_type(VAULT) == synthesis.of_type(PLAN) == synthesis.of_type(SELECTION) == []


# What the profile asks for


def switched(profile, alarms=True, dashboard=True, backup=True):
    return dataclasses.replace(
        profile,
        monitoring=MonitoringSettings(alarms=alarms, dashboard=dashboard),
        backup=BackupSettings(enabled=backup),
    )


def test_nothing_at_all_when_the_profile_turns_alarms_dashboard_and_backup_off():
    synthesis = declare(switched(PROTECTED, False, False, False))
    operations = synthesis.one(type_token(Operations))
    assert synthesis.children(operations) == [], operations.urn
    outputs = synthesis.component_outputs[operations.urn]
    assert (outputs.get("topic_arn"), outputs.get("dashboard_name"), outputs["watched"]) == (None, None, ["orders"])


@pytest.mark.parametrize(
    ("switch", "absent"),
    [("alarms", {TOPIC, ALARM, RULE, TARGET, "aws:sqs/queue:Queue"}), ("dashboard", {DASHBOARD}),
     ("backup", {VAULT, PLAN, SELECTION})],
)  # fmt: skip
def test_each_switch_turns_off_its_own_part_only(switch, absent):
    synthesis = declare(switched(PROTECTED, **{switch: False}))
    declared = {r.type for r in synthesis.resources}
    present = {TOPIC, ALARM, RULE, TARGET, "aws:sqs/queue:Queue", DASHBOARD, VAULT, PLAN, SELECTION} - absent
    assert not absent & declared, f"{switch}: false still declares {absent & declared}"
    assert present <= declared, f"{switch}: false also removed {present - declared}"


def test_a_bad_profile_fails_before_anything_is_declared():
    profile = {**DISPOSABLE.args, "monitoring": {"alarms": False, "emails": ["ops@example.com"]}}
    refused = r"platform:profile\.monitoring\.alarms: false is not allowed with emails or webhooks"
    with pytest.raises(SynthesisError, match=refused) as raised:
        run(lambda: Operations("operations", OperationsArgs(profile=profile)))
    assert raised.value.declared == [], "nothing may be declared when the profile is invalid"


# What it watches


def test_it_watches_what_was_declared_before_it_and_nothing_after(tmp_path):
    code = tiny_code(tmp_path)

    def build():
        Probe("before", Watch(title="Probe before", alarms=[alarm("errors", "Failed.", metric("A", "B", {}))]))
        Operations("operations", OperationsArgs(profile=DISPOSABLE.args))
        Function("after", {"profile": DISPOSABLE.args, "code": code, "handler": "app.main.handler"})

    synthesis = run(build)
    operations = synthesis.one(type_token(Operations))
    assert synthesis.component_outputs[operations.urn]["watched"] == ["before"]
    assert set(alarms_by_name(synthesis)) == {"operations-before-errors"}


def test_two_programs_in_one_process_do_not_see_each_others_components():
    first = run(lambda: Probe("elsewhere", orders_watch()))
    assert first.one(type_token(Probe))
    second = run(lambda: Operations("operations", OperationsArgs(profile=DISPOSABLE.args)))
    operations = second.one(type_token(Operations))
    assert second.component_outputs[operations.urn]["watched"] == [], "the first program's probe is not this one's"
    assert second.of_type(ALARM) == second.of_type(VAULT) == []
    third = run(lambda: (Probe("here", Watch(title="Probe here")),
                         Operations("operations", OperationsArgs(profile=DISPOSABLE.args))))  # fmt: skip
    assert third.component_outputs[third.one(type_token(Operations)).urn]["watched"] == ["here"]


def test_a_preview_declares_the_same_alarms_rules_and_backups():
    preview = declare(preview=True, alarms=[APPLICATION_ALARM], metrics=[SOLD, REFUNDED])
    for type_ in (ALARM, RULE, TARGET, SUBSCRIPTION, DASHBOARD, VAULT, PLAN, SELECTION):
        assert sorted(r.name for r in preview.of_type(type_)) == sorted(r.name for r in told().of_type(type_)), type_


def test_operations_from_another_language_watches_the_components_declared_before_it(tmp_path):
    """As the package's provider hosts them: each component constructed by its own Construct call, in which the
    provider server's `reset_options` has cleared the root stack resource."""

    def hosted(component, name, inputs):
        construct = from_another_language(component, name, inputs)

        def call():
            token = settings.ROOT.set(None)
            try:
                return construct()
            finally:
                settings.ROOT.reset(token)

        return call

    function = hosted(Function, "work", {"profile": DISPOSABLE.args, "code": tiny_code(tmp_path),
                                         "handler": "app.main.handler"})  # fmt: skip
    operations = hosted(Operations, "operations", {"profile": DISPOSABLE.args})
    synthesis = run(lambda: (function(), operations()))
    component = synthesis.one(type_token(Operations))
    assert synthesis.component_outputs[component.urn]["watched"] == ["work"]


# The reference program, under each stack's real profile


def reference_operations(stack):
    synthesis = reference_program(stack)
    return synthesis, synthesis.one(type_token(Operations)), load_profile(stack_config(stack))


def test_the_reference_watches_every_component_that_can_fail_in_declaration_order(stack):
    synthesis, operations, _ = reference_operations(stack)
    watched = synthesis.component_outputs[operations.urn]["watched"]
    assert sorted(watched) == sorted(r.name for r in synthesis.resources if r.type in WATCHED_TYPES)
    assert watched == REFERENCE_ORDER


def test_the_reference_declares_only_what_its_profile_asks_for(stack):
    synthesis, operations, profile = reference_operations(stack)
    declared = {r.type for r in synthesis.children(operations)}
    assert ({TOPIC, ALARM, RULE} <= declared) is profile.monitoring.alarms, stack
    assert (DASHBOARD in declared) is profile.monitoring.dashboard, stack
    assert ({VAULT, PLAN, SELECTION} <= declared) is profile.backup.enabled, stack
    if not (profile.monitoring.alarms or profile.monitoring.dashboard or profile.backup.enabled):
        assert declared == set(), f"{stack}: everything off, nothing declared"


def test_every_reference_alarm_and_rule_may_publish_to_the_topic_it_notifies(stack):
    """Each sends ALARM and OK to the topic, whose policy lets it publish (runbook links: test_runbook.py)."""
    synthesis, operations, profile = reference_operations(stack)
    alarms = synthesis.of_type(ALARM)
    rules = [r for r in synthesis.children(operations) if r.type == RULE]
    if not profile.monitoring.alarms:
        assert alarms == rules == [], stack
        return
    topic_arn = synthesis.one(TOPIC).outputs["arn"]
    allowed = [s for s in statements(synthesis.one("aws:sns/topicPolicy:TopicPolicy")) if s["Effect"] == "Allow"]
    may_publish = {s["Principal"]["Service"]: s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in allowed}
    for found in alarms:
        assert found.inputs["alarmActions"] == found.inputs["okActions"] == [topic_arn], found.urn
        assert found.inputs["treatMissingData"] == "notBreaching", found.urn
        assert found.outputs["arn"] in may_publish["cloudwatch.amazonaws.com"], found.urn
    for rule in rules:
        assert rule.outputs["arn"] in may_publish["events.amazonaws.com"], rule.urn


def expected_alarms(synthesis):
    """Each component's alarms, derived from what the synthesis declares for it."""
    expected = set()
    for component in (r for r in synthesis.resources if r.type in WATCHED_TYPES):
        kind = component.type.rsplit(":", 1)[1]
        names = {
            "Function": ["errors", "throttles", "duration"],
            "Workflow": ["executions-failed", "executions-timed-out", "executions-throttled"],
            "Table": ["read-throttles", "write-throttles", "system-errors"],
            "ServerlessDatabase": ["capacity-at-maximum"],
            "FargateTask": [],
            "ObjectCreatedTrigger": ["failed-invocations", "sent-to-dlq", "dlq-messages", "dlq-age"],
        }[kind]
        if kind == "Function":
            function = next(r for r in synthesis.children(component) if r.type == "aws:lambda/function:Function")
            names += ["concurrency"] if function.inputs.get("reservedConcurrentExecutions") else []
        expected |= {f"operations-{component.name}-{name}" for name in names}
    return expected | {"operations-application-jobs-failed", "operations-alerts-dlq-messages",
                       "operations-alerts-dlq-age"}  # fmt: skip


def test_the_reference_has_one_alarm_per_watched_alarm(stack):
    synthesis, _, profile = reference_operations(stack)
    if profile.monitoring.alarms:
        assert set(alarms_by_name(synthesis)) == expected_alarms(synthesis)
        assert len(synthesis.of_type(ALARM)) == len(expected_alarms(synthesis))


def named_resources(synthesis):
    """For each resource-naming dimension, the names the synthesis declares."""
    return {dimension: {r.outputs[key] for r in synthesis.of_type(type_)}
            for dimension, (type_, key) in DIMENSION_RESOURCES.items()}  # fmt: skip


def test_the_reference_alarms_and_dashboard_name_only_resources_of_the_stack(stack):
    synthesis, _, profile = reference_operations(stack)
    declared = named_resources(synthesis)
    log_groups = {r.outputs["name"] for r in synthesis.of_type("aws:cloudwatch/logGroup:LogGroup")}
    named = []
    for found in synthesis.of_type(ALARM):
        queries = found.inputs.get("metricQueries") or [{"metric": found.inputs}]
        named += [(found.urn, d) for q in queries if "metric" in q for d in q["metric"]["dimensions"].items()]
    widgets = dashboard_widgets(synthesis) if profile.monitoring.dashboard else []
    for widget in widgets:
        for line in widget["properties"].get("metrics", []):
            named += [(widget["properties"]["title"], (line[i], line[i + 1])) for i in range(2, len(line) - 1, 2)]
        if widget["type"] == "log":
            (group,) = re.findall(r"SOURCE '([^']+)'", widget["properties"]["query"])
            assert group in log_groups, f"dashboard log widget reads {group}, not a log group of the stack"
    for where, (dimension, value) in named:
        if dimension in DIMENSION_RESOURCES:
            assert value in declared[dimension], f"{where}: {dimension} {value} is not a resource of the stack"
        else:
            assert dimension in {"Operation", "service"}, f"{where}: unexpected dimension {dimension}"
    assert not profile.monitoring.alarms or len(named) > 30, "the prod-like reference names every resource it watches"


def test_the_reference_dashboard_has_business_metrics_on_top_and_a_row_per_watched_component(stack):
    synthesis, operations, profile = reference_operations(stack)
    if not profile.monitoring.dashboard:
        assert synthesis.of_type(DASHBOARD) == [], stack
        return
    widgets = dashboard_widgets(synthesis)
    assert_laid_out_on_the_grid(widgets)
    titles = [w["properties"]["markdown"].removeprefix("## ") for w in widgets if w["type"] == "text"]
    watched = synthesis.component_outputs[operations.urn]["watched"]
    assert titles[0] == "Business metrics"
    assert [title.rsplit(" ", 1)[1] for title in titles[1:]] == watched, "one row per watched component, in order"
    assert widgets[0]["y"] == 0
    assert widgets[1]["properties"]["title"] == "JobsFailed", "the business metrics come first"
    region = stack_config(stack)["aws:region"]
    assert all(w["properties"]["region"] == region for w in widgets if w["type"] != "text")


def test_the_reference_backs_up_exactly_its_tables_and_clusters_per_profile(stack):
    synthesis, _, profile = reference_operations(stack)
    if not profile.backup.enabled:
        assert synthesis.of_type(VAULT) == [], stack
        return
    data = [r.outputs["arn"] for r in synthesis.of_type("aws:dynamodb/table:Table") + synthesis.of_type(
        "aws:rds/cluster:Cluster")]  # fmt: skip
    assert sorted(synthesis.one(SELECTION).inputs["resources"]) == sorted(data)
    vault = synthesis.one(VAULT)
    assert (vault.protect, vault.retain_on_delete) == (profile.protect, profile.retain_on_delete), vault.urn
    if profile.customer_managed_keys:
        assert vault.inputs["kmsKeyArn"] == key_arn(synthesis), vault.urn
    (rule,) = synthesis.one(PLAN).inputs["rules"]
    assert (rule["schedule"], rule["lifecycle"]["deleteAfter"]) == (profile.backup.schedule,
                                                                    profile.backup.retention_days)  # fmt: skip
