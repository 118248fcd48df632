"""The dead-letter queue of EventBridge deliveries, and the rule deliveries that feed it: one shape for every rule of
the platform (a trigger's, the operations' alerts), so that what cannot be delivered is kept, encrypted, and seen.
"""

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import deny_insecure_transport
from components.monitoring import AlarmArgs, Comparison, alarm, metric
from components.naming import physical_name
from components.profile import EnvironmentProfile

EVENTS_METRICS = "AWS/Events"
SQS_METRICS = "AWS/SQS"
MAX_EVENT_AGE_SECONDS = 24 * 60 * 60
MAX_DELIVERY_ATTEMPTS = 185
"""EventBridge's own maximum: retries with backoff for the whole 24 hours before dead-lettering."""
DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60
DLQ_AGE_ALARM_SHARE = 0.5
"""The age alarm fires when the oldest dead letter has used half the queue's retention: time to redrive."""
DLQ_ALARM_PERIOD_SECONDS = 300
"""SQS publishes its queue metrics every five minutes."""


def dead_letter_queue(
    name: str,
    profile: EnvironmentProfile,
    kms_key_arn: pulumi.Input[str] | None,
    rule_arns: Sequence[pulumi.Input[str]],
    parent: pulumi.Resource,
) -> aws.sqs.Queue:
    """An encrypted queue that only `rule_arns` may dead-letter into, over TLS only, kept as long as SQS allows."""
    encryption = (
        {"kms_master_key_id": kms_key_arn, "kms_data_key_reuse_period_seconds": 3600}
        if kms_key_arn is not None
        else {"sqs_managed_sse_enabled": True}
    )
    queue = aws.sqs.Queue(
        name,
        name=physical_name(name, "queue"),
        message_retention_seconds=DLQ_RETENTION_SECONDS,
        opts=profile.stateful(parent),
        **encryption,
    )
    aws.sqs.QueuePolicy(
        f"{name}-policy",
        queue_url=queue.url,
        policy=pulumi.Output.all(queue.arn, *rule_arns).apply(lambda arns: _queue_policy(arns[0], arns[1:])),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return queue


def delivery(dead_letter_queue_arn: pulumi.Input[str]) -> dict[str, Any]:
    """A rule target's retries (a day) and dead-letter queue."""
    return {
        "retry_policy": {
            "maximum_event_age_in_seconds": MAX_EVENT_AGE_SECONDS,
            "maximum_retry_attempts": MAX_DELIVERY_ATTEMPTS,
        },
        "dead_letter_config": {"arn": dead_letter_queue_arn},
    }


def delivery_alarms(rule_name: pulumi.Input[str], target: str) -> list[AlarmArgs]:
    """A rule's deliveries to `target` that failed, or gave up and were dead-lettered."""
    rule = {"RuleName": rule_name}
    return [
        alarm("failed-invocations", f"EventBridge could not deliver to {target} (it retries for a day).",
              metric(EVENTS_METRICS, "FailedInvocations", rule)),
        alarm("sent-to-dlq", f"Events gave up on {target} and went to the dead-letter queue.",
              metric(EVENTS_METRICS, "InvocationsSentToDlq", rule)),
    ]  # fmt: skip


def dead_letter_alarms(queue_name: pulumi.Input[str], what: str) -> list[AlarmArgs]:
    """Dead letters waiting, and the oldest of them nearing the retention after which SQS deletes it."""
    queue = {"QueueName": queue_name}
    age = DLQ_AGE_ALARM_SHARE * DLQ_RETENTION_SECONDS
    return [
        alarm("dlq-messages", f"Events wait in the dead-letter queue: {what}.",
              metric(SQS_METRICS, "ApproximateNumberOfMessagesVisible", queue, "Maximum"),
              period_seconds=DLQ_ALARM_PERIOD_SECONDS),
        alarm("dlq-age", f"The oldest dead letter is {age / 86400:g} days old; SQS deletes it at "
              f"{DLQ_RETENTION_SECONDS / 86400:g} days: redrive it now.",
              metric(SQS_METRICS, "ApproximateAgeOfOldestMessage", queue, "Maximum"), age,
              Comparison.GREATER_OR_EQUAL, DLQ_ALARM_PERIOD_SECONDS),
    ]  # fmt: skip


def _queue_policy(queue_arn: str, rule_arns: Sequence[str]) -> str:
    """Only our rules may dead-letter into the queue, and only over TLS."""
    statements = [
        {
            "Sid": "RuleDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns[0] if len(rule_arns) == 1 else list(rule_arns)}},
        },
        deny_insecure_transport("sqs:*", queue_arn),
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
