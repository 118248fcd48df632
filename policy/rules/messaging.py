"""SQS and EventBridge (baseline §10): encrypted queues that refuse plain HTTP, and event targets that retry and
keep what they could not deliver."""

from collections.abc import Iterable

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from . import documents
from .base import Finding, known, of_type, refers_to, resource_rule, stack_rule

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"


def _check_queue_encryption(args: ResourceValidationArgs) -> Iterable[str]:
    if not args.props.get("kmsMasterKeyId") and args.props.get("sqsManagedSseEnabled") is not True:
        yield "queue is not encrypted at rest: set kms_master_key_id or sqs_managed_sse_enabled"


def denies_insecure_transport(document: object) -> bool:
    for statement in documents.statements(document if isinstance(document, dict) else None):
        if statement.get("Effect") != "Deny" or not documents.is_anyone(statement):
            continue
        if {"sqs:*", "*"} & set(documents.actions(statement)) and documents.condition_value(
            statement, "Bool", "aws:SecureTransport"
        ) == ["false"]:
            return True
    return False


def _check_queue_tls(args: StackValidationArgs) -> Iterable[Finding]:
    policies = of_type(args, QUEUE_POLICY)
    for queue in of_type(args, QUEUE):
        inline = documents.parse(known(queue.props, "policy"))
        attached = [
            documents.parse(known(p.props, "policy")) for p in policies if refers_to(p, "queueUrl", queue, "url")
        ]
        if not any(denies_insecure_transport(document) for document in [inline, *attached]):
            yield f"queue {queue.name!r} has no policy that denies requests without TLS", queue.urn


def _check_target(args: ResourceValidationArgs) -> Iterable[str]:
    if not (args.props.get("deadLetterConfig") or {}).get("arn"):
        yield "no dead-letter queue: an event that cannot be delivered after the retries is lost"
    if not args.props.get("retryPolicy"):
        yield "no retry policy: the delivery window and attempts are left to defaults nobody chose"


POLICIES = [
    resource_rule(
        name="sqs-encrypted",
        description="SQS queues are encrypted at rest",
        severity=Severity.HIGH,
        remediation="Set kms_master_key_id (the stack's key) or sqs_managed_sse_enabled=True.",
        types=[QUEUE],
        check=_check_queue_encryption,
        controls=["SQS.1"],
    ),
    stack_rule(
        name="sqs-tls-only",
        description="Every SQS queue has a policy that denies requests without TLS",
        severity=Severity.MEDIUM,
        remediation="Add a QueuePolicy statement: Deny, Principal {'AWS': '*'}, Action 'sqs:*', Condition "
        "{'Bool': {'aws:SecureTransport': 'false'}}.",
        check=_check_queue_tls,
        controls=["SQS TLS", "AwsSolutions-SQS4"],
    ),
    resource_rule(
        name="eventbridge-target-retry-and-dlq",
        description="EventBridge targets have a retry policy and a dead-letter queue",
        severity=Severity.MEDIUM,
        remediation="Set retry_policy (maximum age and attempts) and dead_letter_config={'arn': <encrypted queue>}.",
        types=[EVENT_TARGET],
        check=_check_target,
        controls=["EventBridge DLQ"],
    ),
]
