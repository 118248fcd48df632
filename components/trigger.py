"""Start a workflow for every object created under a prefix: S3 -> EventBridge rule -> Step Functions.

EventBridge (rather than S3's direct notifications) keeps the bucket unaware of its consumers, and gives the
delivery a retry policy and a dead-letter queue, so an event that cannot start the workflow is kept, not lost.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.base import ChildTransform, Component
from components.bucket import Bucket
from components.key import EncryptionKey
from components.naming import physical_name
from components.profile import EnvironmentProfile
from components.workflow import Workflow

MAX_EVENT_AGE_SECONDS = 24 * 60 * 60
MAX_DELIVERY_ATTEMPTS = 185
"""EventBridge's own maximum: retries with backoff for the whole 24 hours before dead-lettering."""
DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60


@dataclass(frozen=True)
class ObjectCreatedTriggerArgs:
    profile: EnvironmentProfile
    bucket: Bucket
    prefix: str
    workflow: Workflow
    key: EncryptionKey | None = None
    """Encrypts the dead-letter queue; None uses SQS-managed encryption."""


class ObjectCreatedTrigger(iam.RoleOwner, Component):
    rule_arn: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ObjectCreatedTriggerArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        super().__init__(name, opts, transform)
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            name=physical_name(name, "rule"),
            description=f"Objects created under {args.prefix!r} start the workflow",
            event_pattern=args.bucket.name.apply(lambda bucket: _event_pattern(bucket, args.prefix)),
            opts=self.child(),
        )
        self.dead_letter_queue = self._create_dead_letter_queue(name, args)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=physical_name(name, "role"),
            assume_role_policy=iam.trust_policy("events.amazonaws.com", self.account_id, self.rule.arn),
            opts=self.child(),
        )
        self.start_policy = args.workflow.grant_start_execution(self)
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            arn=args.workflow.arn,
            role_arn=self.role.arn,
            retry_policy={
                "maximum_event_age_in_seconds": MAX_EVENT_AGE_SECONDS,
                "maximum_retry_attempts": MAX_DELIVERY_ATTEMPTS,
            },
            dead_letter_config={"arn": self.dead_letter_queue.arn},
            opts=self.child(depends_on=[self.start_policy]),
        )
        self.rule_arn = self.rule.arn
        self.dead_letter_queue_url = self.dead_letter_queue.url
        self.finish({"rule_arn": self.rule_arn, "dead_letter_queue_url": self.dead_letter_queue_url})

    def _create_dead_letter_queue(self, name: str, args: ObjectCreatedTriggerArgs) -> aws.sqs.Queue:
        encryption = (
            {"kms_master_key_id": args.key.arn, "kms_data_key_reuse_period_seconds": 3600}
            if args.key
            else {"sqs_managed_sse_enabled": True}
        )
        queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=physical_name(f"{name}-dlq", "queue"),
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            opts=args.profile.stateful(self),
            **encryption,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, self.rule.arn).apply(lambda arns: _queue_policy(*arns)),
            opts=self.child(),
        )
        return queue


def _event_pattern(bucket_name: str, prefix: str) -> str:
    return json.dumps(
        {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket_name]}, "object": {"key": [{"prefix": prefix}]}},
        },
        sort_keys=True,
    )


def _queue_policy(queue_arn: str, rule_arn: str) -> str:
    """Only our rule may dead-letter into the queue, and only over TLS."""
    statements = [
        {
            "Sid": "RuleDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
