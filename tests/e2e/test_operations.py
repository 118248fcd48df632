"""The dev stack with every operations switch on (as a team may set them in Pulumi.dev.yaml), deployed into one local
cloud for the module: the alarm topic and its subscriptions, the alarms, the dashboard, the failure events' rules
and AWS Backup all deploy (emulator/deploy.py), and ECS's own event of a failed worker task reaches the topic, as on
AWS, while a clean exit does not (emulator/adaptations.py). The adaptations themselves are checked one by one, on the
emulator alone, in test_operations.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from app.demo.cloud import PipelineCloud
from emulator.stack import synthesize_stack
from handlers.pipeline.contract import EXIT_FAILED, EXIT_REFUSED

BACKUP_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
OPERATIONS_ON = {
    "monitoring.alarms": True,
    "monitoring.dashboard": True,
    "monitoring.emails": ["ops@example.com"],
    "monitoring.webhooks": ["https://hooks.example.com/alerts"],
    "backup.enabled": True,
}
"""Every operations switch of the profile, on."""
OPERATIONS_TYPES = frozenset({
    "aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy", "aws:sns/topicSubscription:TopicSubscription",
    "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard",
    "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget", "aws:backup/vault:Vault",
    "aws:backup/plan:Plan", "aws:backup/selection:Selection", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
})  # fmt: skip
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineCloud]:
    program = synthesize_stack("dev", OPERATIONS_ON)
    workdir = tmp_path_factory.mktemp("operations")
    with PipelineCloud(program.synthesis, region=program.region, workdir=workdir) as running:
        yield running


def declared(cloud: PipelineCloud, type_: str) -> list[Any]:
    return cloud.synthesis.of_type(type_)


def test_every_operations_resource_deploys(cloud):
    failed = [entry for entry in cloud.deployment.failed if entry.type in OPERATIONS_TYPES]
    assert failed == [], failed
    assert {entry.type for entry in cloud.deployment.deployed} >= OPERATIONS_TYPES
    assert not [entry for entry in cloud.deployment.skipped if entry.type in OPERATIONS_TYPES]

    sns, cloudwatch = cloud.client("sns"), cloud.client("cloudwatch")
    topic = declared(cloud, "aws:sns/topic:Topic")[0].outputs["arn"]
    policy = declared(cloud, "aws:sns/topicPolicy:TopicPolicy")[0].inputs["policy"]
    assert json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]) == json.loads(policy)
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    pending = {s["Endpoint"]: sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])["Attributes"]
               ["PendingConfirmation"] for s in subscriptions}  # fmt: skip
    assert pending == {"ops@example.com": "true", "https://hooks.example.com/alerts": "true"}

    alarms = {alarm["AlarmName"]: alarm for alarm in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert set(alarms) == {a.inputs["name"] for a in declared(cloud, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    math = [alarm for alarm in alarms.values() if alarm.get("Metrics")]
    assert math, "the stack has metric-math alarms (several metrics summed)"
    assert all(any(query.get("Expression") for query in alarm["Metrics"]) for alarm in math)
    assert all(alarm["AlarmActions"] == [topic] == alarm["OKActions"] for alarm in alarms.values())
    dashboard = declared(cloud, "aws:cloudwatch/dashboard:Dashboard")[0].inputs
    assert (
        cloudwatch.get_dashboard(DashboardName=dashboard["dashboardName"])["DashboardBody"]
        == (dashboard["dashboardBody"])
    )

    backup = cloud.client("backup")
    vault = declared(cloud, "aws:backup/vault:Vault")[0].inputs["name"]
    assert backup.describe_backup_vault(BackupVaultName=vault)["BackupVaultName"] == vault
    selection = declared(cloud, "aws:backup/selection:Selection")[0]
    recorded = cloud.deployment.recorded[selection.urn]
    plan = backup.get_backup_plan(BackupPlanId=recorded["BackupPlanId"])["BackupPlan"]
    assert plan["Rules"][0]["TargetBackupVaultName"] == vault
    assert recorded["BackupSelection"]["Resources"] == selection.inputs["resources"]
    role = selection.inputs["iamRoleArn"].rsplit("/", 1)[-1]
    attached = cloud.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [BACKUP_POLICY]


def test_a_worker_that_fails_alerts_the_topic_and_one_that_exits_cleanly_does_not(cloud):
    """The worker run as the workflow runs it (RunTask with environment overrides), observed through an SQS queue
    subscribed to the alarm topic, and a rule of its own that takes every ECS event: every stopped task sends its
    event, and only the stack's task-failed rule decides which reach the topic."""
    sqs, events = cloud.client("sqs"), cloud.client("events")
    topic = declared(cloud, "aws:sns/topic:Topic")[0].outputs["arn"]
    alerts = observer(cloud, "alerts-observer")
    cloud.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(cloud, alerts))
    every = observer(cloud, "ecs-observer")
    events.put_rule(Name="every-ecs-event", EventPattern=json.dumps({"source": ["aws.ecs"]}))
    events.put_targets(Rule="every-ecs-event", Targets=[{"Id": "observer", "Arn": queue_arn(cloud, every)}])

    missing = {"key": f"{cloud.upload_prefix}gone.png", "size": 10, "etag": "0" * 32, "sequencer": "0A"}
    clean = run_worker(cloud, {"UPLOAD_BUCKET": cloud.uploads_bucket, "UPLOAD_OBJECT": json.dumps(missing)})
    assert exit_codes(cloud, clean) == [EXIT_REFUSED]  # the object is gone: refused, a clean exit
    assert [event["detail"]["taskArn"] for event in received_events(sqs, every)] == [clean]
    assert received_events(sqs, alerts) == []

    failed = run_worker(cloud, {})  # no upload named: the worker cannot run
    assert exit_codes(cloud, failed) == [EXIT_FAILED]
    [alert] = received_events(sqs, alerts)
    assert alert["detail-type"] == "ECS Task State Change"
    assert (alert["detail"]["taskArn"], alert["detail"]["stopCode"]) == (failed, "EssentialContainerExited")
    assert [container["exitCode"] for container in alert["detail"]["containers"]] == [EXIT_FAILED]

    cloud.faults.fail_task_start("CannotPullContainerError: pull access denied")
    never_started = run_worker(cloud, {})
    [alert] = received_events(sqs, alerts)
    assert (alert["detail"]["taskArn"], alert["detail"]["stopCode"]) == (never_started, "TaskFailedToStart")
    assert "exitCode" not in alert["detail"]["containers"][0]
    assert len(received_events(sqs, every)) == 2
    assert cloud.denials == []


def observer(cloud: PipelineCloud, name: str) -> str:
    return str(cloud.client("sqs").create_queue(QueueName=name)["QueueUrl"])


def queue_arn(cloud: PipelineCloud, url: str) -> str:
    return str(cloud.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
               ["QueueArn"])  # fmt: skip


def run_worker(cloud: PipelineCloud, environment: dict[str, str]) -> str:
    """RunTask of the worker on its cluster with these container overrides; returns the task's ARN once its
    container has ended and its stopped event was sent (both happen on the task's thread)."""
    definition = declared(cloud, "aws:ecs/taskDefinition:TaskDefinition")[0]
    container = json.loads(definition.inputs["containerDefinitions"])[0]["name"]
    placement = {"subnets": [declared(cloud, "aws:ec2/subnet:Subnet")[0].id],
                 "securityGroups": [declared(cloud, "aws:ec2/securityGroup:SecurityGroup")[0].id]}  # fmt: skip
    overrides = [{"name": container, "environment": [{"name": k, "value": v} for k, v in environment.items()]}]
    [task] = cloud.client("ecs").run_task(
        cluster=declared(cloud, "aws:ecs/cluster:Cluster")[0].outputs["arn"], taskDefinition=definition.outputs["arn"],
        launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": placement},
        overrides={"containerOverrides": overrides},
    )["tasks"]  # fmt: skip
    cloud.hooks.tasks[task["taskArn"]].join(timeout=30)
    return str(task["taskArn"])


def exit_codes(cloud: PipelineCloud, task_arn: str) -> list[int | None]:
    cluster = declared(cloud, "aws:ecs/cluster:Cluster")[0].outputs["arn"]
    [task] = cloud.client("ecs").describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
    assert task["lastStatus"] == "STOPPED", task
    return [container.get("exitCode") for container in task["containers"]]


def received_events(sqs: Any, url: str) -> list[dict[str, Any]]:
    """The events in the queue, taken out of it: as SNS wraps them for a subscribed queue, or as a rule sends them."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    bodies = [json.loads(message["Body"]) for message in messages]
    return [json.loads(body["Message"]) if "TopicArn" in body else body for body in bodies]
