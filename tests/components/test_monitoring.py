"""Monitoring: the alarm and metric specs, and what each component asks to be watched for (`watch()`), read from the
alarms and failure-event rules that Operations declares for it."""

import dataclasses
import json

import pytest

from components.bucket import Bucket, BucketArgs
from components.database import ServerlessDatabase, ServerlessDatabaseArgs
from components.deadletter import DLQ_RETENTION_SECONDS
from components.fargate import FargateTask, FargateTaskArgs, TaskPlacement, task_failed_pattern
from components.function import Function, FunctionArgs
from components.key import EncryptionKey
from components.monitoring import DEFAULT_PERIOD_SECONDS, Comparison, Watch, Watched, alarm, metric
from components.network import Network
from components.operations import Operations, OperationsArgs
from components.profile import DatabaseSettings, LambdaSettings, WorkflowType
from components.states import Definition
from components.table import Table, TableArgs
from components.trigger import ObjectCreatedTrigger, ObjectCreatedTriggerArgs
from components.workflow import Workflow, WorkflowArgs
from tests import reference
from tests.helpers import DISPOSABLE, run, tiny_code

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
RESERVED = 10
PROFILE = dataclasses.replace(DISPOSABLE, lambda_=LambdaSettings(reserved_concurrency=RESERVED))
"""Disposable, alarms on (the default), and concurrency reserved for each function."""
STATEFUL = dataclasses.replace(
    DISPOSABLE, database=DatabaseSettings(min_capacity=0.5, max_capacity=4, backup_retention_days=1, readers=1)
)
PLACEMENT = TaskPlacement(subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-task"], assign_public_ip=False)


@pytest.fixture(scope="module")
def components(tmp_path_factory):
    """Functions, tables, both workflow types and a trigger, then the stack's operations: one synthesis."""
    code = tiny_code(tmp_path_factory.mktemp("code"))

    def build():
        args = PROFILE.args

        def function(name, **settings):
            return Function(name, FunctionArgs(profile=args, code=code, handler="app.main.handler", **settings))

        resize = function("resize", timeout_seconds=60)
        once = function("once", reserve_concurrency=False)
        table = {"profile": args, "partition_key": "pk", "attributes": {"pk": "S"}}
        Table("updated", TableArgs(**table)).grant_update(resize)
        served = Table("served", TableArgs(**table))
        served.grant_read_write(once, delete=True)
        served.grant_read(resize, queries=True)
        Table("idle", TableArgs(**table))
        flows = {}
        for flow_type in WorkflowType:
            definition = Definition(start_at="Once", states=[once.invoke_task("Once")])
            flows[flow_type] = Workflow(
                flow_type.value.lower(), WorkflowArgs(profile=args, **definition.workflow_args(PROFILE), type=flow_type)
            )
        uploads = Bucket("uploads", BucketArgs(profile=args, event_bridge=True))
        ObjectCreatedTrigger(
            "on-upload",
            ObjectCreatedTriggerArgs(profile=args, bucket_name=uploads.name, prefix="uploads/",
                                     state_machine_arn=flows[WorkflowType.EXPRESS].arn),
        )  # fmt: skip
        return Operations("operations", OperationsArgs(profile=args))

    return run(build)


@pytest.fixture(scope="module")
def stateful():
    """A database with a reader and two Fargate tasks (one with clean exit codes of its own), then operations."""

    def build():
        args = STATEFUL.args
        ServerlessDatabase(
            "catalog", ServerlessDatabaseArgs(profile=args, subnet_ids=["subnet-a", "subnet-b"], vpc_id="vpc-main")
        )
        image = reference.image()
        FargateTask("worker", FargateTaskArgs(profile=args, image=image, placement=PLACEMENT))
        FargateTask(
            "batch", FargateTaskArgs(profile=args, image=image, placement=PLACEMENT, clean_exit_codes=[3, 0, 2, 0])
        )
        return Operations("operations", OperationsArgs(profile=args))

    return run(build)


def alarms_of(synthesis, owner):
    """The alarms Operations declared for the component named `owner`, by alarm name."""
    prefix = f"operations-{owner}-"
    return {a.name.removeprefix(prefix): a for a in synthesis.of_type(ALARM) if a.name.startswith(prefix)}


def watched_metric(alarm_resource):
    inputs = alarm_resource.inputs
    statistic = inputs.get("statistic") or inputs.get("extendedStatistic")
    return inputs["namespace"], inputs["metricName"], inputs["dimensions"], statistic


def condition(alarm_resource):
    inputs = alarm_resource.inputs
    return inputs["comparisonOperator"], inputs["threshold"], inputs["period"], inputs["evaluationPeriods"]


def output(synthesis, type_token, name, key):
    return synthesis.one(type_token, name).outputs[key]


# The specs


def test_a_metric_is_summed_unless_told_and_keeps_its_own_dimensions():
    dimensions = {"FunctionName": "render"}
    errors = metric("AWS/Lambda", "Errors", dimensions)
    dimensions["FunctionName"] = "changed"
    assert errors == {"namespace": "AWS/Lambda", "name": "Errors", "dimensions": {"FunctionName": "render"},
                      "statistic": "Sum"}  # fmt: skip
    assert metric("AWS/Lambda", "Duration", {}, "p99")["statistic"] == "p99"


def test_an_alarm_fires_on_the_first_occurrence_within_a_minute_by_default():
    errors = metric("AWS/Lambda", "Errors", {"FunctionName": "render"})
    spec = alarm("errors", "Invocations failed.", errors)
    assert spec == {
        "name": "errors",
        "meaning": "Invocations failed.",
        "metrics": [errors],
        "threshold": 0,
        "comparison": Comparison.GREATER,
        "period_seconds": DEFAULT_PERIOD_SECONDS,
        "evaluation_periods": 1,
    }
    assert DEFAULT_PERIOD_SECONDS == 60
    assert Comparison.GREATER.value == "GreaterThanThreshold"
    assert Comparison.GREATER_OR_EQUAL.value == "GreaterThanOrEqualToThreshold"


def test_an_alarm_on_several_metrics_keeps_them_all_in_order():
    first, second = metric("A", "One", {}), metric("A", "Two", {}, "Maximum")
    spec = alarm("both", "Either.", (first, second), 5, Comparison.GREATER_OR_EQUAL, 300, 3)
    assert spec["metrics"] == [first, second]
    assert (spec["threshold"], spec["comparison"], spec["period_seconds"], spec["evaluation_periods"]) == (
        5, Comparison.GREATER_OR_EQUAL, 300, 3
    )  # fmt: skip


def test_a_watch_asks_for_nothing_unless_told_and_is_immutable():
    watch = Watch(title="Function render")
    assert (watch.alarms, watch.events, watch.log_groups, watch.backups) == ((), (), (), ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        watch.title = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("component", "watched"),
    [(Function, True), (Workflow, True), (Table, True), (ServerlessDatabase, True), (FargateTask, True),
     (ObjectCreatedTrigger, True), (Bucket, False), (Network, False), (EncryptionKey, False), (Operations, False)],
    ids=lambda value: getattr(value, "__name__", str(value)),
)  # fmt: skip
def test_the_components_that_can_fail_are_watched(component, watched):
    assert issubclass(component, Watched) is watched


# Function


def test_a_function_with_a_60_s_timeout_gets_a_57_000_ms_duration_alarm(components):
    """The issue's own example: the p99 duration alarm fires at 95 % of the timeout, over five minutes."""
    duration = alarms_of(components, "resize")["duration"]
    name = output(components, "aws:lambda/function:Function", "resize-function", "name")
    assert watched_metric(duration) == ("AWS/Lambda", "Duration", {"FunctionName": name}, "p99"), duration.urn
    assert condition(duration) == ("GreaterThanOrEqualToThreshold", 57_000, 300, 1), duration.urn
    assert "statistic" not in duration.inputs, f"{duration.urn}: a percentile is an extended statistic"


def test_a_function_alarms_on_its_first_error_and_throttle(components):
    name = output(components, "aws:lambda/function:Function", "resize-function", "name")
    alarms = alarms_of(components, "resize")
    for alarm_name, metric_name in (("errors", "Errors"), ("throttles", "Throttles")):
        found = alarms[alarm_name]
        assert watched_metric(found) == ("AWS/Lambda", metric_name, {"FunctionName": name}, "Sum"), found.urn
        assert condition(found) == ("GreaterThanThreshold", 0, 60, 1), found.urn


def test_concurrency_is_watched_at_80_percent_only_where_it_is_reserved(components):
    reserved = alarms_of(components, "resize")
    name = output(components, "aws:lambda/function:Function", "resize-function", "name")
    concurrency = reserved["concurrency"]
    assert watched_metric(concurrency) == ("AWS/Lambda", "ConcurrentExecutions", {"FunctionName": name}, "Maximum")
    assert condition(concurrency) == ("GreaterThanOrEqualToThreshold", 0.8 * RESERVED, 60, 1), concurrency.urn
    assert set(reserved) == {"errors", "throttles", "duration", "concurrency"}
    unreserved = alarms_of(components, "once")
    assert set(unreserved) == {"errors", "throttles", "duration"}, "no reservation, no concurrency alarm"
    assert unreserved["duration"].inputs["threshold"] == 0.95 * 30_000, "the profile's timeout (30 s) when not set"


# Workflow


@pytest.mark.parametrize("flow_type", list(WorkflowType), ids=lambda flow_type: flow_type.value)
def test_express_and_standard_workflows_alarm_on_failed_timed_out_and_throttled_executions(components, flow_type):
    owner = flow_type.value.lower()
    arn = output(components, "aws:sfn/stateMachine:StateMachine", f"{owner}-state-machine", "arn")
    alarms = alarms_of(components, owner)
    expected = {"executions-failed": "ExecutionsFailed", "executions-timed-out": "ExecutionsTimedOut",
                "executions-throttled": "ExecutionThrottled"}  # fmt: skip
    assert set(alarms) == set(expected)
    for alarm_name, metric_name in expected.items():
        found = alarms[alarm_name]
        assert watched_metric(found) == ("AWS/States", metric_name, {"StateMachineArn": arn}, "Sum"), found.urn
        assert condition(found) == ("GreaterThanThreshold", 0, 60, 1), found.urn


# ObjectCreatedTrigger


def test_a_trigger_alarms_on_failed_and_dead_lettered_deliveries_of_its_rule(components):
    rule = components.one(RULE, "on-upload-rule").outputs["name"]
    alarms = alarms_of(components, "on-upload")
    for alarm_name, metric_name in (("failed-invocations", "FailedInvocations"),
                                    ("sent-to-dlq", "InvocationsSentToDlq")):  # fmt: skip
        found = alarms[alarm_name]
        assert watched_metric(found) == ("AWS/Events", metric_name, {"RuleName": rule}, "Sum"), found.urn
        assert condition(found) == ("GreaterThanThreshold", 0, 60, 1), found.urn


def test_a_trigger_alarms_on_dead_letters_waiting_and_on_the_oldest_at_half_the_retention(components):
    queue = components.one("aws:sqs/queue:Queue", "on-upload-dlq")
    retention = queue.inputs["messageRetentionSeconds"]
    assert retention == DLQ_RETENTION_SECONDS
    alarms = alarms_of(components, "on-upload")
    assert set(alarms) == {"failed-invocations", "sent-to-dlq", "dlq-messages", "dlq-age"}
    waiting, age = alarms["dlq-messages"], alarms["dlq-age"]
    dimensions = {"QueueName": queue.outputs["name"]}
    assert watched_metric(waiting) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dimensions, "Maximum")
    assert condition(waiting) == ("GreaterThanThreshold", 0, 300, 1), waiting.urn
    assert watched_metric(age) == ("AWS/SQS", "ApproximateAgeOfOldestMessage", dimensions, "Maximum")
    assert condition(age) == ("GreaterThanOrEqualToThreshold", retention / 2, 300, 1), age.urn


# Table


def test_every_table_alarms_on_throttled_reads_and_writes(components):
    for owner in ("updated", "served", "idle"):
        name = output(components, "aws:dynamodb/table:Table", f"{owner}-table", "name")
        alarms = alarms_of(components, owner)
        for alarm_name, metric_name in (("read-throttles", "ReadThrottleEvents"),
                                        ("write-throttles", "WriteThrottleEvents")):  # fmt: skip
            found = alarms[alarm_name]
            assert watched_metric(found) == ("AWS/DynamoDB", metric_name, {"TableName": name}, "Sum"), found.urn
            assert condition(found) == ("GreaterThanThreshold", 0, 60, 1), found.urn


def test_system_errors_are_watched_on_exactly_the_operations_granted(components):
    updated = alarms_of(components, "updated")["system-errors"]
    name = output(components, "aws:dynamodb/table:Table", "updated-table", "name")
    assert watched_metric(updated) == (
        "AWS/DynamoDB", "SystemErrors", {"TableName": name, "Operation": "UpdateItem"}, "Sum"
    ), f"{updated.urn}: grant_update allows UpdateItem only"  # fmt: skip
    served = alarms_of(components, "served")["system-errors"]
    name = output(components, "aws:dynamodb/table:Table", "served-table", "name")
    queries = served.inputs["metricQueries"]
    operations = [q["metric"]["dimensions"]["Operation"] for q in queries if "metric" in q]
    assert operations == sorted(["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem"]), (
        f"{served.urn}: grant_read_write(delete=True) and grant_read(queries=True)"
    )
    assert all(q["metric"]["dimensions"]["TableName"] == name for q in queries if "metric" in q), served.urn


def test_a_table_nothing_was_granted_on_has_no_system_errors_alarm(components):
    assert set(alarms_of(components, "idle")) == {"read-throttles", "write-throttles"}


# ServerlessDatabase


def test_a_database_alarms_when_it_holds_its_maximum_capacity_for_15_minutes(stateful):
    cluster = stateful.one("aws:rds/cluster:Cluster")
    capacity = alarms_of(stateful, "catalog")["capacity-at-maximum"]
    dimensions = {"DBClusterIdentifier": cluster.inputs["clusterIdentifier"]}
    assert watched_metric(capacity) == ("AWS/RDS", "ServerlessDatabaseCapacity", dimensions, "Minimum")
    assert condition(capacity) == ("GreaterThanOrEqualToThreshold", 4, 300, 3), capacity.urn
    assert capacity.inputs["datapointsToAlarm"] == 3, capacity.urn
    assert set(alarms_of(stateful, "catalog")) == {"capacity-at-maximum"}


def test_a_database_reports_rds_failure_events_of_the_cluster_and_each_instance(stateful):
    cluster = stateful.one("aws:rds/cluster:Cluster").inputs["clusterIdentifier"]
    instances = [i.inputs["identifier"] for i in stateful.of_type("aws:rds/clusterInstance:ClusterInstance")]
    assert len(instances) == 2, "the writer and one reader"
    rule = stateful.one(RULE, "operations-catalog-failure-events")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.rds"]
    assert sorted(pattern["detail-type"]) == ["RDS DB Cluster Event", "RDS DB Instance Event"]
    assert pattern["detail"]["EventCategories"] == ["failure"]
    assert sorted(pattern["detail"]["SourceIdentifier"]) == sorted([cluster, *instances]), rule.urn


# FargateTask


def test_task_failed_pattern_matches_stopped_tasks_of_the_family_with_an_unclean_exit_or_no_start():
    pattern = json.loads(task_failed_pattern("arn:cluster", "arn:family", [0, 2]))
    assert pattern == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": ["arn:cluster"],
            "taskDefinitionArn": [{"prefix": "arn:family:"}],
            "lastStatus": ["STOPPED"],
            "$or": [{"containers": {"exitCode": [{"anything-but": [0, 2]}]}}, {"stopCode": ["TaskFailedToStart"]}],
        },
    }


@pytest.mark.parametrize(("task", "clean"), [("worker", [0]), ("batch", [0, 2, 3])], ids=["default", "given"])
def test_a_fargate_task_reports_its_failed_tasks_with_its_clean_exit_codes(stateful, task, clean):
    rule = stateful.one(RULE, f"operations-{task}-task-failed")
    cluster = stateful.one("aws:ecs/cluster:Cluster", f"{task}-cluster").outputs["arn"]
    definition = stateful.one("aws:ecs/taskDefinition:TaskDefinition", f"{task}-task-definition")
    detail = json.loads(rule.inputs["eventPattern"])["detail"]
    assert detail["clusterArn"] == [cluster], rule.urn
    assert detail["taskDefinitionArn"] == [{"prefix": f"{definition.outputs['arnWithoutRevision']}:"}], rule.urn
    assert detail["$or"][0] == {"containers": {"exitCode": [{"anything-but": clean}]}}, rule.urn
    assert set(alarms_of(stateful, task)) == set(), "a one-off task has no failure metric: its event is the alert"
