"""ObjectCreatedTrigger: the rule's pattern, delivery retries and DLQ, and a role that can start one workflow."""

import json

from components.bucket import Bucket, BucketArgs
from components.deadletter import MAX_DELIVERY_ATTEMPTS
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.states import Definition
from components.trigger import ObjectCreatedTrigger, ObjectCreatedTriggerArgs
from components.workflow import Workflow, WorkflowArgs, start_execution_statement
from tests.helpers import DISPOSABLE, PROTECTED, from_another_language, run, statements, tiny_code

RULE_ARN = "arn:aws:events:eu-west-1:123456789012:rule/image-pipeline-unit-on-upload"
MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:image-pipeline-unit-flow"


def declare(tmp_path, profile=DISPOSABLE, with_key=False):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        bucket = Bucket(
            "uploads",
            BucketArgs(profile=profile.args, kms_key_arn=key.arn if key else None, event_bridge=True),
        )
        function = Function(
            "work", FunctionArgs(profile=profile.args, code=tiny_code(tmp_path), handler="app.main.handler")
        )
        definition = Definition(start_at="W", states=[function.invoke_task("W")])
        flow = Workflow("flow", WorkflowArgs(profile=profile.args, **definition.workflow_args(profile)))
        args = ObjectCreatedTriggerArgs(
            profile=profile.args, bucket_name=bucket.name, prefix="uploads/", state_machine_arn=flow.arn
        )
        if key:
            args["kms_key_arn"] = key.arn
        ObjectCreatedTrigger("on-upload", args)

    return run(build)


def test_rule_matches_objects_created_under_the_prefix_of_this_bucket(tmp_path):
    rule = declare(tmp_path).one("aws:cloudwatch/eventRule:EventRule")
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["image-pipeline-unit-uploads-123456789012"]},
            "object": {"key": [{"prefix": "uploads/"}]},
        },
    }


def test_target_retries_for_a_day_then_dead_letters(tmp_path):
    synthesis = declare(tmp_path)
    target = synthesis.one("aws:cloudwatch/eventTarget:EventTarget")
    queue = synthesis.one("aws:sqs/queue:Queue")
    assert target.inputs["arn"] == MACHINE_ARN
    assert target.inputs["retryPolicy"] == {
        "maximumEventAgeInSeconds": 86400,
        "maximumRetryAttempts": MAX_DELIVERY_ATTEMPTS,
    }
    assert target.inputs["deadLetterConfig"] == {"arn": queue.outputs["arn"]}
    assert target.inputs["roleArn"] == synthesis.one("aws:iam/role:Role", "on-upload-role").outputs["arn"]


def test_role_may_start_exactly_this_workflow_and_trusts_only_this_rule(tmp_path):
    synthesis = declare(tmp_path)
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "on-upload-start-workflow")
    assert statements(policy) == [
        {"Sid": "StartExecution", "Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [MACHINE_ARN]}
    ]
    (trust,) = statements(synthesis.one("aws:iam/role:Role", "on-upload-role"), "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": RULE_ARN}


def test_dead_letter_queue_is_encrypted_and_only_the_rule_may_send_over_tls(tmp_path):
    synthesis = declare(tmp_path)
    queue = synthesis.one("aws:sqs/queue:Queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    allow, deny = statements(synthesis.one("aws:sqs/queuePolicy:QueuePolicy"))
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": RULE_ARN}}
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_customer_key_encrypts_the_queue_and_the_queue_is_kept(tmp_path):
    synthesis = declare(tmp_path, PROTECTED, with_key=True)
    queue = synthesis.one("aws:sqs/queue:Queue")
    assert queue.inputs["kmsMasterKeyId"] == synthesis.one("aws:kms/key:Key").outputs["arn"]
    assert (queue.protect, queue.retain_on_delete) == (True, True)


def test_the_start_statement_is_the_workflows_own_grant(tmp_path):
    synthesis = declare(tmp_path)
    trigger = synthesis.one("aws:iam/rolePolicy:RolePolicy", "on-upload-start-workflow")
    assert statements(trigger) == [start_execution_statement(MACHINE_ARN).to_json()], trigger.urn


def test_outputs_are_what_another_language_needs(tmp_path):
    synthesis = declare(tmp_path)
    component = synthesis.one("platform:index:ObjectCreatedTrigger")
    queue = synthesis.one("aws:sqs/queue:Queue")
    assert synthesis.component_outputs[component.urn] == {
        "rule_arn": RULE_ARN,
        "dead_letter_queue_url": queue.outputs["url"],
        "dead_letter_queue_arn": queue.outputs["arn"],
    }, component.urn


def test_plain_names_and_arns_are_enough(tmp_path):
    """What another language passes: the bucket's name and the state machine's ARN, no components."""

    def build():
        ObjectCreatedTrigger("on-upload", ObjectCreatedTriggerArgs(
            profile=DISPOSABLE.args, bucket_name="photos", prefix="in/", state_machine_arn=MACHINE_ARN))  # fmt: skip

    synthesis = run(build)
    rule = synthesis.one("aws:cloudwatch/eventRule:EventRule")
    assert json.loads(rule.inputs["eventPattern"])["detail"] == {
        "bucket": {"name": ["photos"]}, "object": {"key": [{"prefix": "in/"}]}
    }, rule.urn  # fmt: skip
    assert synthesis.one("aws:cloudwatch/eventTarget:EventTarget").inputs["arn"] == MACHINE_ARN


def test_a_trigger_constructs_from_what_another_language_sends():
    inputs = {"profile": PROTECTED.args, "bucketName": "photos", "prefix": "in/", "stateMachineArn": MACHINE_ARN,
              "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k"}  # fmt: skip
    synthesis = run(from_another_language(ObjectCreatedTrigger, "on-upload", inputs))
    queue = synthesis.one("aws:sqs/queue:Queue")
    assert queue.inputs["kmsMasterKeyId"] == inputs["kmsKeyArn"], queue.urn
    assert (queue.protect, queue.retain_on_delete) == (True, True), queue.urn
    assert synthesis.one("aws:cloudwatch/eventTarget:EventTarget").inputs["arn"] == MACHINE_ARN
