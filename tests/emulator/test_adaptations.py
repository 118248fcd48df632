"""The adaptations to moto stay few, pinned and needed.

Pinned: moto is the version they were written for, and the moto code each relies on has the source it had
then; a moto upgrade that touches it fails here, naming the adaptation to review. Needed: each workaround's bug is
shown on the plain emulator (no adaptation applied); when upstream fixes one, its probe fails and says which
adaptation to delete. Clean: applying them and leaving restores moto exactly.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import table as dynamodb_table
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
    state_task_service_ecs,
)

from emulator import adaptations
from emulator.adaptations import ADAPTATIONS, MOTO_VERSION, SOURCE_SHA256, Hooks, pinned_source

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PERFORMANCE_ONLY = {"sfn-parse-once": "parses each definition once"}
"""Adaptations that fix no wrong behaviour: nothing to probe, their source pin is their guard."""


@pytest.fixture
def plain_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The emulator as moto ships it: no adaptation applied, Step Functions executing definitions."""
    assert adaptations._hooks is None, "a local cloud is still running"
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        yield


def test_moto_is_the_version_the_adaptations_were_written_for():
    assert importlib.metadata.version("moto") == MOTO_VERSION, (
        f"moto is {importlib.metadata.version('moto')}, the adaptations in emulator/adaptations.py were written for "
        f"{MOTO_VERSION}: review each one (see the tests below), then update MOTO_VERSION and SOURCE_SHA256"
    )


@pytest.mark.parametrize("adaptation", ADAPTATIONS, ids=lambda a: a.name)
def test_the_moto_code_an_adaptation_relies_on_is_unchanged(adaptation):
    digest = hashlib.sha256(pinned_source(adaptation).encode()).hexdigest()
    assert digest == SOURCE_SHA256[adaptation.name], (
        f"adaptation {adaptation.name!r} ({adaptation.why}) replaces or relies on {adaptation.guarded()}, whose "
        "source changed: check the adaptation still applies (or is still needed), then record the new digest "
        f"{digest} in emulator/adaptations.py's SOURCE_SHA256"
    )


def test_applying_and_leaving_restores_moto_exactly(tmp_path):
    before = {a.name: vars(a.owner).get(a.attribute, "<inherited>") for a in ADAPTATIONS}
    hooks = Hooks(runtime=None, entrypoints={}, scratch=str(tmp_path), authorizer=None)  # type: ignore[arg-type]
    with adaptations.applied(hooks):
        assert all(getattr(a.owner, a.attribute) is a.replacement for a in ADAPTATIONS)
        with pytest.raises(RuntimeError, match="one local cloud at a time"), adaptations.applied(None):  # type: ignore[arg-type]
            pass
    assert {a.name: vars(a.owner).get(a.attribute, "<inherited>") for a in ADAPTATIONS} == before


# The bugs, on the plain emulator -----------------------------------------------------------------------------------


def _execute(definition: dict[str, Any], execution_input: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a definition to its end in moto's interpreter; the describe_execution answer."""
    iam, sfn = boto3.client("iam", region_name=REGION), boto3.client("stepfunctions", region_name=REGION)
    role = iam.create_role(RoleName=f"probe-{time.monotonic_ns()}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = sfn.create_state_machine(name=f"probe-{time.monotonic_ns()}", definition=json.dumps(definition),
                                       roleArn=role)["stateMachineArn"]  # fmt: skip
    arn = sfn.start_execution(stateMachineArn=machine, name="probe", input=json.dumps(execution_input or {}))
    for _ in range(200):
        described = sfn.describe_execution(executionArn=arn["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise AssertionError("the probe execution did not end")


def _task(resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": parameters,
                                             "End": True}}}  # fmt: skip


def probe_lambda_in_process() -> str:
    functions = boto3.client("lambda", region_name=REGION)
    role = boto3.client("iam", region_name=REGION).create_role(RoleName="probe", AssumeRolePolicyDocument="{}")
    empty_zip = b"PK\x05\x06" + b"\x00" * 18
    functions.create_function(FunctionName="probe", Runtime="python3.13", Role=role["Role"]["Arn"],
                              Handler="pipeline.process.handler", Code={"ZipFile": empty_zip})  # fmt: skip
    answer = functions.invoke(FunctionName="probe", Payload=b'{"id": "x"}')["Payload"].read()
    assert answer == b'{"id": "x"}', "moto ran the handler: getmoto/moto#9916 may offer a hook now"
    return "without Docker moto answers the input back, it does not run the handler"


def probe_s3_event_shape() -> str:
    s3, events, sqs = (boto3.client(name, region_name=REGION) for name in ("s3", "events", "sqs"))
    s3.create_bucket(Bucket="probe-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_notification_configuration(Bucket="probe-bucket",
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})  # fmt: skip
    queue = sqs.create_queue(QueueName="probe")["QueueUrl"]
    events.put_rule(Name="probe", EventPattern=json.dumps({"detail-type": ["Object Created"]}))
    events.put_targets(Rule="probe", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:probe"}])
    for name in ("a", "b"):
        s3.put_object(Bucket="probe-bucket", Key=name, Body=b"x")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    sent = [json.loads(m["Body"]) for m in messages]
    assert len({e["id"] for e in sent}) == 1, "moto now gives each S3 event its own id"
    assert len({e["detail"]["object"]["sequencer"] for e in sent}) == 1, "moto now sends growing sequencers"
    assert "eTag" in sent[0]["detail"]["object"], "moto now sends `etag`, as S3 does"
    return "two uploads, one event id and one sequencer; `eTag`"


def probe_eventbridge_pattern_arrays() -> str:
    from moto.events.models import EventPattern

    containers = EventPattern.load(json.dumps({"detail": {"containers": {"exitCode": [1]}}}))
    assert not containers.matches_event({"detail": {"containers": [{"exitCode": 1}]}}), (
        "moto now matches the fields of the objects in an array"
    )
    present = EventPattern.load(json.dumps({"resources": [{"exists": True}]}))
    assert present.matches_event({"resources": []}), "moto no longer takes an empty array for a present field"
    return "a field of the objects in an array never matches; an empty array `exists`"


def probe_eventbridge_targets() -> str:
    events = boto3.client("events", region_name=REGION)
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="probe")["TopicArn"]
    targets = {"states": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:probe", "sns": topic}
    for service, arn in targets.items():
        events.put_rule(Name=f"probe-{service}", EventPattern=json.dumps({"source": [f"probe.{service}"]}))
        events.put_targets(Rule=f"probe-{service}", Targets=[{"Id": service, "Arn": arn}])
        with pytest.raises(NotImplementedError, match="Expr not defined"):
            events.put_events(Entries=[{"Source": f"probe.{service}", "DetailType": "d", "Detail": "{}"}])
    return "a Step Functions or an SNS target raises NotImplementedError"


def probe_sfn_integration_casing() -> str:
    failed = _execute(_task("arn:aws:states:::states:startExecution",
                            {"StateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:none"}))  # fmt: skip
    assert failed["status"] == "FAILED", failed
    assert "StateMachineArn" in failed["cause"], failed
    return "PascalCase Parameters reach boto3: " + failed["cause"][:80]


def probe_aws_sdk_service_names() -> str:
    failed = _execute(_task("arn:aws:states:::aws-sdk:rdsdata:executeStatement",
                            {"ResourceArn": "arn", "SecretArn": "arn", "Sql": "SELECT 1"}))  # fmt: skip
    assert failed["status"] == "FAILED", failed
    assert "Unknown service: 'rdsdata'" in failed["cause"], failed
    return "aws-sdk:rdsdata: Unknown service"


def probe_aws_sdk_error_names() -> str:
    name = state_task_service_aws_sdk.StateTaskServiceAwsSdk._normalise_service_error_name("rdsdata")
    assert name == "rdsdata", f"moto now names Data API errors {name}.*"
    return "Data API errors are named rdsdata.*"


def probe_ecs_run_container() -> str:
    ecs, events, sqs = (boto3.client(name, region_name=REGION) for name in ("ecs", "events", "sqs"))
    queue = sqs.create_queue(QueueName="probe-ecs-events")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:probe-ecs-events"
    events.put_rule(Name="probe-ecs", EventPattern=json.dumps({"source": ["aws.ecs"]}))
    events.put_targets(Rule="probe-ecs", Targets=[{"Id": "q", "Arn": queue_arn}])
    ecs.create_cluster(clusterName="probe")
    ecs.register_task_definition(family="probe", containerDefinitions=[{"name": "c", "image": "i", "memory": 512}])
    task = ecs.run_task(cluster="probe", taskDefinition="probe", launchType="FARGATE")["tasks"][0]
    for _ in range(5):
        described = ecs.describe_tasks(cluster="probe", tasks=[task["taskArn"]])["tasks"][0]
    assert (described["lastStatus"], described["containers"][0].get("exitCode")) == ("STOPPED", 0)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue), "moto now sends ECS task state change events"
    return "a task stops with exit code 0 after a few DescribeTasks, having run nothing, and no event says so"


def probe_jsonpath_literal_index() -> str:
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    value = extract_json("$.Containers[0].ExitCode", {"Containers": [{"ExitCode": 2}]})
    assert value == [2], f"moto now answers {value!r}"
    return "$.Containers[0].ExitCode gives [2]"


def probe_policy_conditions() -> str:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="probe-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "arn:aws:s3:::probe-bucket/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
    s3.put_bucket_policy(Bucket="probe-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    with pytest.raises(Exception, match="Forbidden"):
        s3.put_object(Bucket="probe-bucket", Key="k", Body=b"x")
    return "a TLS-only bucket policy denies an HTTPS PutObject"


def probe_ec2_given_ids() -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    tags = [{"ResourceType": "vpc", "Tags": [{"Key": "_custom_id_", "Value": "vpc-given"}]}]
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=tags)["Vpc"]["VpcId"]
    assert vpc != "vpc-given", "moto's EC2 now reads `_custom_id_`: use it instead of the adaptation"
    return "EC2 ignores `_custom_id_`"


def probe_data_api_postgres() -> str:
    data_api = boto3.client("rds-data", region_name=REGION)
    answer = data_api.execute_statement(
        resourceArn="arn:aws:rds:eu-west-1:123456789012:cluster:none", secretArn="arn:aws:no:secret", sql="not SQL :x"
    )
    assert answer["records"] == [], answer
    with pytest.raises(Exception, match="Not yet implemented"):
        data_api.begin_transaction(
            resourceArn="arn:aws:rds:eu-west-1:123456789012:cluster:none", secretArn="arn:aws:no:secret"
        )
    return "any ARN, any SQL, unbound parameters: canned answer; BeginTransaction is not routed"


def probe_sfn_role_clients() -> str:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    client = boto_client_for(REGION, "s3", StateCredentials(role_arn=f"arn:aws:iam::{ACCOUNT}:role/any"))
    key = client._request_signer._credentials.access_key
    assert key == "ak", f"moto now signs integration calls with {key!r}"
    return "every integration call is signed with the access key 'ak', whatever the workflow's role"


def probe_ecs_run_task_failures() -> str:
    source = inspect.getsource(state_task_service_ecs.StateTaskServiceEcs._eval_service_task)
    assert 'response["Tasks"][0]' in source, "moto no longer reads Tasks[0] of every RunTask answer"
    assert "Failures" not in source, "moto now reads RunTask's failures"
    return "RunTask's answer is read as Tasks[0], its failures never"


def probe_ecs_sfn_error_names() -> str:
    run = _task("arn:aws:states:::ecs:runTask", {"Cluster": "no-such-cluster", "TaskDefinition": "none"})
    run["States"]["T"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    run["States"]["Caught"] = {"Type": "Pass", "End": True}
    ended = _execute(run)
    assert "States.Runtime" in ended.get("output", "") + ended.get("error", ""), ended
    return "an ECS API error is reported as States.Runtime"


def probe_sfn_choice_missing_path() -> str:
    choice = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.a.b", "NumericEquals": 2, "Next": "Y"}], "Default": "N"},
        "Y": {"Type": "Succeed"}, "N": {"Type": "Fail", "Error": "WentToDefault"}}}  # fmt: skip
    ended = _execute(choice, {"a": {}})
    assert (ended["status"], ended.get("error")) == ("FAILED", "WentToDefault"), ended
    return "a comparison on a missing path takes the Default"


def probe_sfn_runtime_uncatchable() -> str:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType

    env = type("Env", (), {})()
    env.stack = [StatesErrorName(typ=StatesErrorNameType.StatesRuntime)]
    ErrorEqualsDecl([StatesErrorName(typ=StatesErrorNameType.StatesALL)])._eval_body(env)
    assert env.stack == [True], "moto's States.ALL no longer matches States.Runtime"
    return "States.ALL matches States.Runtime"


def probe_sfn_task_parameter_path() -> str:
    task = {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
              "Parameters": {"TableName.$": "$.missing", "Key": {}},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
        "Caught": {"Type": "Succeed"}}}  # fmt: skip
    ended = _execute(task)
    assert ended["status"] == "SUCCEEDED", ended
    assert "AmazonDynamoDBException" in ended["output"], ended
    return "a missing parameter path is caught as DynamoDB.AmazonDynamoDBException"


def probe_sns_subscription_confirmation() -> str:
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="probe")["TopicArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")["SubscriptionArn"]
    pending = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"]
    assert pending == "false", "moto now leaves an email subscription pending confirmation"
    return "an email subscription is confirmed at once"


def probe_sns_pending_not_delivered() -> str:
    from moto.sns.models import sns_backends

    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="probe")["TopicArn"]
    queue = sqs.create_queue(QueueName="probe")["QueueUrl"]
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:probe")
    sns_backends[ACCOUNT][REGION].subscriptions[arn["SubscriptionArn"]].attributes["PendingConfirmation"] = "true"
    sns.publish(TopicArn=topic, Message="to a pending subscription")
    assert sqs.receive_message(QueueUrl=queue).get("Messages"), "moto no longer delivers to pending subscriptions"
    return "a subscription pending confirmation receives messages"


def probe_cloudwatch_dashboard_body() -> str:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for body in ({}, {"widgets": [{"type": "text", "width": 99}]}):
        answer = cloudwatch.put_dashboard(DashboardName="probe", DashboardBody=json.dumps(body))
        assert answer["DashboardValidationMessages"] == [], f"moto now checks the body: {answer}"
    return "a body with no widgets, or a widget with no properties 99 columns wide, is stored"


def probe_iam_aws_managed_policies() -> str:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="probe", AssumeRolePolicyDocument="{}")
    policy = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.attach_role_policy(RoleName="probe", PolicyArn=policy)
    return "attaching an AWS managed policy fails with NoSuchEntity"


def race_two_conditional_puts(wait_seconds: float) -> int:
    """How many of two threads' PutItems of the same new key, each conditioned on the key not existing, succeed,
    when each waits (up to `wait_seconds`) after reading the stored item for the other to have read it too."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName="probe", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")  # fmt: skip
    both_read = threading.Barrier(2, timeout=wait_seconds)
    condition = dynamodb_table.get_filter_expression
    succeeded: list[str] = []

    def after_reading(*args: Any) -> Any:
        with suppress(threading.BrokenBarrierError):
            both_read.wait()
        return condition(*args)

    def put(writer: str) -> None:
        client = boto3.client("dynamodb", region_name=REGION)
        with suppress(client.exceptions.ConditionalCheckFailedException):
            client.put_item(TableName="probe", Item={"k": {"S": "claim"}, "writer": {"S": writer}},
                            ConditionExpression="attribute_not_exists(k)")  # fmt: skip
            succeeded.append(writer)

    with mock.patch.object(dynamodb_table, "get_filter_expression", after_reading):
        threads = [threading.Thread(target=put, args=(writer,)) for writer in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return len(succeeded)


def probe_dynamodb_atomic_requests() -> str:
    assert race_two_conditional_puts(wait_seconds=10) == 2, "moto now makes a conditional write atomic"
    return "two PutItems conditioned on attribute_not_exists of the same key both succeed"


def test_with_the_adaptations_one_of_two_racing_conditional_puts_succeeds(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    hooks = Hooks(runtime=None, entrypoints={}, scratch=str(tmp_path), authorizer=None)  # type: ignore[arg-type]
    with mock_aws(), adaptations.applied(hooks):
        assert race_two_conditional_puts(wait_seconds=0.5) == 1


PROBES: dict[str, Callable[[], str]] = {
    "lambda-in-process": probe_lambda_in_process,
    "s3-event-shape": probe_s3_event_shape,
    "eventbridge-pattern-arrays": probe_eventbridge_pattern_arrays,
    "eventbridge-targets": probe_eventbridge_targets,
    "ecs-run-container": probe_ecs_run_container,
    "sfn-integration-parameters": probe_sfn_integration_casing,
    "sfn-integration-response": probe_sfn_integration_casing,
    "ecs-sfn-sync-failure": probe_sfn_integration_casing,
    "aws-sdk-service-names": probe_aws_sdk_service_names,
    "aws-sdk-error-names": probe_aws_sdk_error_names,
    "jsonpath-literal-index": probe_jsonpath_literal_index,
    "policy-condition-not-met": probe_policy_conditions,
    "ec2-given-ids": probe_ec2_given_ids,
    "data-api-postgres": probe_data_api_postgres,
    **{adaptation.name: probe_sfn_role_clients for adaptation in ADAPTATIONS
       if adaptation.name.startswith("sfn-role-clients-")},
    "ecs-sfn-run-task-failures": probe_ecs_run_task_failures,
    "ecs-sfn-error-names": probe_ecs_sfn_error_names,
    "sfn-choice-missing-path": probe_sfn_choice_missing_path,
    "sfn-runtime-uncatchable": probe_sfn_runtime_uncatchable,
    "sfn-task-parameter-path": probe_sfn_task_parameter_path,
    "sns-subscription-confirmation": probe_sns_subscription_confirmation,
    "sns-pending-not-delivered": probe_sns_pending_not_delivered,
    "dynamodb-atomic-requests": probe_dynamodb_atomic_requests,
    "cloudwatch-dashboard-body": probe_cloudwatch_dashboard_body,
    "iam-aws-managed-policies": probe_iam_aws_managed_policies,
}  # fmt: skip


def test_every_adaptation_has_a_probe_or_fixes_nothing_wrong():
    assert set(PROBES) | set(PERFORMANCE_ONLY) == {a.name for a in ADAPTATIONS}


@pytest.mark.parametrize("name", sorted(PROBES))
def test_the_bug_an_adaptation_works_around_is_still_there(plain_moto, name):
    evidence = PROBES[name]()
    assert evidence
