"""IAM in the local cloud: each principal's calls are authorized against its own role, so removing one permission
the pipeline needs fails the run as AWS would (and the denial names principal, action and resource), while the
stacks as declared need no permission they lack."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest

from app.demo.cloud import Outcome, PipelineCloud
from app.demo.report import write_html
from emulator.cloud import UndeliveredEvent
from emulator.iam import UntrustedPrincipal
from tests.e2e.conftest import unique
from tests.handlers import images


@contextmanager
def without(cloud: PipelineCloud, role_name: str, action: str) -> Iterator[None]:
    """`action` taken out of every inline policy of the role (through IAM's API, as an operator would), then back."""
    iam = cloud.client("iam")
    saved = {name: iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
             for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]}  # fmt: skip
    removed = False
    for name, document in saved.items():
        statements = []
        for statement in document["Statement"]:
            actions = [a for a in _listed(statement["Action"]) if a != action]
            removed |= len(actions) < len(_listed(statement["Action"]))
            if actions:
                statements.append({**statement, "Action": actions})
        if statements:
            iam.put_role_policy(RoleName=role_name, PolicyName=name,
                                PolicyDocument=json.dumps({**document, "Statement": statements}))  # fmt: skip
        else:
            iam.delete_role_policy(RoleName=role_name, PolicyName=name)
    assert removed, f"{role_name} has no {action} to take away"
    try:
        yield
    finally:
        for name, document in saved.items():
            iam.put_role_policy(RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(document))


def _listed(actions: str | list[str]) -> list[str]:
    return [actions] if isinstance(actions, str) else list(actions)


def role(cloud: PipelineCloud, logical: str) -> str:
    return cloud.synthesis.one("aws:iam/role:Role", f"{logical}-role").inputs["name"]


def denied(cloud: PipelineCloud, action: str, since: int) -> list[str]:
    return [d.principal for d in cloud.denials[since:] if d.action == action]


def upload_photo(cloud: PipelineCloud, name: str) -> Outcome:
    [outcome] = cloud.wait([cloud.upload(unique(name), images.jpeg(), "image/jpeg")])
    return outcome


@pytest.mark.parametrize(
    ("principal", "action"),
    [("process", "dynamodb:UpdateItem"), ("process", "s3:GetObject"), ("process", "s3:PutObject"),
     ("process-upload", "lambda:InvokeFunction")],
)  # fmt: skip
def test_a_lambda_route_principal_without_a_permission_it_needs_fails_the_image(cloud, principal, action):
    before = len(cloud.denials)
    with without(cloud, role(cloud, principal), action):
        outcome = upload_photo(cloud, f"{principal}-{action.replace(':', '-')}.jpg")
    assert outcome.status == "FAILED", outcome.record
    assert outcome.renditions == []
    [who, *_] = denied(cloud, action, before)
    assert f":assumed-role/{role(cloud, principal)}/" in who
    cause = outcome.record["cause"]
    assert action in cause or "403" in cause, f"the recorded cause should say what was denied: {cause}"


@pytest.mark.parametrize(
    ("principal", "action", "error"),
    [("worker-task", "s3:PutObject", "WorkerFailed"), ("heavy-path", "iam:PassRole", "ECS.AccessDeniedException"),
     ("heavy-path", "ecs:TagResource", "ECS.AccessDeniedException"),
     ("heavy-path", "ecs:DescribeTasks", "ECS.AccessDeniedException")],
)  # fmt: skip
def test_a_fargate_route_principal_without_a_permission_it_needs_fails_the_image(cloud, big_png, principal, action,
                                                                                   error):  # fmt: skip
    before = len(cloud.denials)
    with without(cloud, role(cloud, principal), action):
        upload = cloud.upload(unique(f"{action.replace(':', '-')}.png"), big_png.data, big_png.content_type)
        [outcome] = cloud.wait([upload])
    assert (outcome.status, outcome.record["error"]) == ("FAILED", error), outcome.record
    assert denied(cloud, action, before), f"no denial of {action} recorded"
    if error != "WorkerFailed":
        assert action in outcome.record["cause"], outcome.record["cause"]


def test_the_event_rule_without_start_execution_dead_letters_the_upload(cloud):
    before = len(cloud.denials)
    with without(cloud, role(cloud, "on-upload"), "states:StartExecution"), pytest.raises(UndeliveredEvent):
        cloud.upload(unique("undelivered.jpg"), images.jpeg(), "image/jpeg")
    assert denied(cloud, "states:StartExecution", before)
    sqs, queue = cloud.client("sqs"), cloud.synthesis.outputs["deadLetterQueueUrl"]
    [message] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"


def test_a_workflow_that_may_not_read_the_database_secret_records_the_catalog_failure(cloud):
    before = len(cloud.denials)
    with without(cloud, role(cloud, "process-upload"), "secretsmanager:GetSecretValue"):
        outcome = upload_photo(cloud, "no-secret.jpg")
    assert (outcome.status, outcome.record.get("catalog")) == ("COMPLETE", "FAILED"), outcome.record
    assert "secretsmanager:GetSecretValue" in outcome.record["catalogError"]
    assert denied(cloud, "secretsmanager:GetSecretValue", before)


@pytest.mark.parametrize("action", ["rds-data:ExecuteStatement", "secretsmanager:GetSecretValue"])
def test_the_migration_function_without_its_data_api_rights_is_refused(cloud, action):
    """Every run needs these two (its first statement creates the bookkeeping table if missing); the transactions'
    actions only while a migration is pending, and the deployment applied them all already."""
    functions = cloud.client("lambda")
    name = cloud.synthesis.one("aws:lambda/function:Function", "migrate-catalog-function").inputs["name"]
    with without(cloud, role(cloud, "migrate-catalog"), action):
        answer = functions.invoke(FunctionName=name, Payload=b"{}")
    assert answer.get("FunctionError") == "Unhandled"
    assert action in answer["Payload"].read().decode()


def test_a_call_with_credentials_no_principal_holds_is_refused(cloud):
    stranger = boto3.Session(aws_access_key_id="AKIASTRANGER00000000", aws_secret_access_key="x",
                             region_name=cloud.region).client("s3")  # fmt: skip
    with pytest.raises(stranger.exceptions.ClientError, match="InvalidClientTokenId"):
        stranger.list_objects_v2(Bucket=cloud.uploads_bucket)


def test_credentials_are_minted_only_for_a_service_the_role_trusts(cloud):
    statement = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"aws:SourceAccount": cloud.account}}}  # fmt: skip
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    arn = cloud.client("iam").create_role(RoleName=unique("fn").replace("/", "-"), AssumeRolePolicyDocument=trust)
    arn = arn["Role"]["Arn"]
    function = f"arn:aws:lambda:{cloud.region}:{cloud.account}:function:fn"
    assert cloud.authorizer.credentials(arn, "fn", "lambda.amazonaws.com", function)
    with pytest.raises(UntrustedPrincipal, match=r"does not trust states\.amazonaws\.com"):
        cloud.authorizer.credentials(arn, "fn", "states.amazonaws.com", function)
    elsewhere = json.dumps({"Version": "2012-10-17", "Statement": [
        {**statement, "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}}]})  # fmt: skip
    other = cloud.client("iam").create_role(RoleName=unique("other").replace("/", "-"),
                                            AssumeRolePolicyDocument=elsewhere)["Role"]["Arn"]  # fmt: skip
    with pytest.raises(UntrustedPrincipal, match=f"in account {cloud.account}"):
        cloud.authorizer.credentials(other, "fn", "lambda.amazonaws.com", function)


def test_the_report_shows_each_denial_with_its_principal_action_and_resource(cloud):
    """Runs after the tests above, whose denials the module's cloud still holds."""
    assert cloud.denials, "the tests above were expected to leave denials"
    report = write_html(cloud, [], None, "denials")
    first = cloud.denials[0]
    assert f"Denied by IAM: {len(cloud.denials)} call(s)" in report
    for shown in (first.principal, first.action, first.resource):
        assert html.escape(shown) in report
