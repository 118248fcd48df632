"""What the local cloud does for the stack's operations, on the emulator alone: the adaptations of
emulator/adaptations.py where moto differs from AWS (SNS subscriptions pending confirmation, EventBridge publishing
to a topic as its policy allows, the dashboard body's structure, AWS managed policies), and the backup selection
moto cannot hold (emulator/deploy.py). The dev stack with all of it on is test_dev_stack_operations.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from emulator import adaptations
from emulator.adaptations import Hooks
from emulator.deploy import Deployment, deploy
from synth.program import RecordedResource, Synthesis

REGION = "eu-west-1"
ACCOUNT = "123456789012"
BACKUP_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"


# The adaptations, on the emulator alone ------------------------------------------------------------------------------


@pytest.fixture
def adapted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """moto with the local cloud's adaptations, and nothing deployed."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    hooks = Hooks(runtime=None, entrypoints={}, scratch=str(tmp_path), authorizer=None)  # type: ignore[arg-type]
    with mock_aws(), adaptations.applied(hooks):
        yield


def queue(name: str) -> tuple[str, str]:
    """A new SQS queue: its URL and ARN."""
    url = boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def received(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_email_and_webhook_subscriptions_stay_pending_and_receive_nothing(adapted):
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    url, arn = queue("observer")
    pending = [
        sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint, ReturnSubscriptionArn=True)
        for protocol, endpoint in (("email", "ops@example.com"), ("https", "https://hooks.example.com/x"))
    ]
    confirmed = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True)
    states = {s["SubscriptionArn"]: sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])["Attributes"]
              ["PendingConfirmation"] for s in [*pending, confirmed]}  # fmt: skip
    assert states == {**{s["SubscriptionArn"]: "true" for s in pending}, confirmed["SubscriptionArn"]: "false"}
    sns.publish(TopicArn=topic, Message="an alarm")  # an https subscription moto delivered to would POST from here
    assert [message["Message"] for message in received(url)] == ["an alarm"]


def test_an_event_rule_publishes_to_a_topic_only_as_the_topic_policy_allows(adapted):
    events, sns = boto3.client("events"), boto3.client("sns")
    subscriber, subscriber_arn = queue("subscriber")
    dead_letters, dead_letters_arn = queue("dead-letters")
    topics = {name: sns.create_topic(Name=name)["TopicArn"] for name in ("allowing", "default-policy")}
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/stack-alerts"
    only_the_stacks_rules = {"ArnLike": {"aws:SourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/stack-*"},
                             "StringEquals": {"aws:SourceAccount": ACCOUNT}}  # fmt: skip
    allow = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
             "Resource": topics["allowing"], "Condition": only_the_stacks_rules}  # fmt: skip
    tls_only = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sns:Publish", "Resource": topics["allowing"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
    policy = {"Version": "2012-10-17", "Statement": [allow, tls_only]}
    sns.set_topic_attributes(TopicArn=topics["allowing"], AttributeName="Policy", AttributeValue=json.dumps(policy))
    for topic in topics.values():
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=subscriber_arn)
    assert events.put_rule(Name="stack-alerts", EventPattern=json.dumps({"source": ["app"]}))["RuleArn"] == rule_arn
    targets = [{"Id": name, "Arn": arn, "DeadLetterConfig": {"Arn": dead_letters_arn}} for name, arn in topics.items()]
    events.put_targets(Rule="stack-alerts", Targets=targets)
    events.put_events(Entries=[{"Source": "app", "DetailType": "Failure", "Detail": json.dumps({"code": 1})}])
    [published] = received(subscriber)
    assert (published["TopicArn"], json.loads(published["Message"])["detail"]) == (topics["allowing"], {"code": 1})
    [refused] = boto3.client("sqs").receive_message(QueueUrl=dead_letters, MessageAttributeNames=["All"])["Messages"]
    attributes = {name: value["StringValue"] for name, value in refused["MessageAttributes"].items()}
    assert (attributes["ERROR_CODE"], attributes["TARGET_ARN"]) == ("NO_PERMISSIONS", topics["default-policy"])


@pytest.mark.parametrize(
    ("body", "path"),
    [({}, ""), ({"widgets": {}}, ""), ({"widgets": [{"type": "metric", "width": 6}]}, "/widgets/0"),
     ({"widgets": [{"type": "text", "properties": {}}]}, "/widgets/0/properties"),
     ({"widgets": [{"type": "metric", "width": 30, "properties": {}}]}, "/widgets/0/width")],
    ids=["no widgets", "widgets not an array", "no properties", "text without markdown", "wider than the grid"],
)  # fmt: skip
def test_a_dashboard_body_without_the_documented_structure_is_refused(adapted, body, path):
    with pytest.raises(ClientError, match="InvalidParameterInput") as refused:
        boto3.client("cloudwatch").put_dashboard(DashboardName="ops", DashboardBody=json.dumps(body))
    assert f'"dataPath": "{path}"' in str(refused.value)
    text = {"type": "text", "x": 0, "y": 0, "width": 24, "height": 1, "properties": {"markdown": "## Workers"}}
    answer = boto3.client("cloudwatch").put_dashboard(
        DashboardName="ops", DashboardBody=json.dumps({"widgets": [text]})
    )
    assert answer["DashboardValidationMessages"] == []


def test_an_aws_managed_policy_can_be_attached_and_an_unknown_one_cannot(adapted):
    iam = boto3.client("iam")
    iam.create_role(RoleName="backup", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="backup", PolicyArn=BACKUP_POLICY)
    attached = iam.list_attached_role_policies(RoleName="backup")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSBackupServiceRolePolicyForBackup", "PolicyArn": BACKUP_POLICY}]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.attach_role_policy(RoleName="backup", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")


def declare(type_: str, name: str, inputs: dict[str, Any]) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:unit::ops::{type_}::{name}", type=type_, name=name, custom=True, parent="", inputs=inputs,
        outputs={}, id=name, provider="", protect=False, retain_on_delete=False, dependencies=[], ignore_changes=[],
        delete_before_replace=False,
    )  # fmt: skip


@pytest.mark.parametrize("role_exists", [True, False], ids=["its role exists", "no such role"])
def test_a_backup_selection_moto_cannot_hold_is_checked_then_recorded_by_the_emulator(adapted, role_exists):
    role = f"arn:aws:iam::{ACCOUNT}:role/backup"
    if role_exists:
        boto3.client("iam").create_role(RoleName="backup", AssumeRolePolicyDocument="{}")
    rule = {"ruleName": "daily", "targetVaultName": "backups", "schedule": "cron(0 3 * * ? *)",
            "lifecycle": {"deleteAfter": 35}}  # fmt: skip
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/images"
    selection = declare("aws:backup/selection:Selection", "data",
                        {"name": "data", "planId": "daily-plan", "iamRoleArn": role, "resources": [table]})  # fmt: skip
    vault = declare("aws:backup/vault:Vault", "backups", {"name": "backups"})
    plan = declare("aws:backup/plan:Plan", "daily-plan", {"name": "daily", "rules": [rule]})
    program = Synthesis(stack="unit", preview=False, resources=[vault, plan, selection], outputs={})
    deployment = deploy(Deployment(program), boto3.Session(region_name=REGION))
    if not role_exists:
        assert [(entry.name, "NoSuchEntity" in entry.note) for entry in deployment.failed] == [("data", True)]
        assert deployment.recorded == {}
        return
    assert deployment.failed == []
    [entry] = [entry for entry in deployment.deployed if entry.name == "data"]
    assert "recorded by the emulator" in entry.note, entry
    assert "no CreateBackupSelection" in entry.note, entry
    recorded = deployment.recorded[selection.urn]
    held = boto3.client("backup").get_backup_plan(BackupPlanId=recorded["BackupPlanId"])["BackupPlan"]
    assert held["BackupPlanName"] == "daily"
    assert recorded["BackupSelection"] == {"SelectionName": "data", "IamRoleArn": role, "Resources": [table]}
