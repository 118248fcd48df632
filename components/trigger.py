"""Start a workflow for every object created under a prefix: S3 -> EventBridge rule -> Step Functions.

EventBridge (rather than S3's direct notifications) keeps the bucket unaware of its consumers, and gives the
delivery a retry policy and a dead-letter queue, so an event that cannot start the workflow is kept, not lost.
"""

import json
from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.base import ChildTransform, Component
from components.deadletter import dead_letter_alarms, dead_letter_queue, delivery, delivery_alarms
from components.monitoring import Watch
from components.naming import physical_name
from components.profile import profile_from_args
from components.profile_args import ProfileArgs
from components.workflow import start_execution_statement

START_GRANT = "start-workflow"
"""Names the start-execution policy `<trigger>-start-workflow`: the trigger knows the workflow by its ARN alone."""


class ObjectCreatedTriggerArgs(TypedDict):
    """The arguments of an ObjectCreatedTrigger."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    bucket_name: pulumi.Input[str]
    """The bucket whose new objects start the workflow; it must send its events to EventBridge (a Bucket with
    `event_bridge`)."""
    prefix: str
    """Only objects whose key starts with this prefix (e.g. `uploads/`); empty for every object."""
    state_machine_arn: pulumi.Input[str]
    """The workflow each object starts (a Workflow's `arn`): the trigger's role may start exactly this one."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed KMS key for the dead-letter queue. Default: none, SQS-managed encryption."""


class ObjectCreatedTrigger(iam.RoleOwner, Component):
    """Starts a workflow for every object created under a prefix of a bucket: an EventBridge rule whose delivery
    retries for a day, then keeps the event in an encrypted dead-letter queue."""

    rule_arn: pulumi.Output[str]
    """The EventBridge rule's ARN."""
    dead_letter_queue_url: pulumi.Output[str]
    """The queue that keeps the events that could not start the workflow."""
    dead_letter_queue_arn: pulumi.Output[str]
    """The dead-letter queue's ARN, for an alarm on its depth or a redrive."""

    def __init__(
        self,
        name: str,
        args: ObjectCreatedTriggerArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        profile = profile_from_args(args["profile"])
        prefix = args["prefix"]
        super().__init__(name, opts, transform)
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            name=physical_name(name, "rule"),
            description=f"Objects created under {prefix!r} start the workflow",
            event_pattern=pulumi.Output.from_input(args["bucket_name"]).apply(
                lambda bucket: _event_pattern(bucket, prefix)
            ),
            opts=self.child(),
        )
        self.dead_letter_queue = dead_letter_queue(
            f"{name}-dlq", profile, args.get("kms_key_arn"), [self.rule.arn], parent=self
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=physical_name(name, "role"),
            assume_role_policy=iam.trust_policy("events.amazonaws.com", self.account_id, self.rule.arn),
            opts=self.child(),
        )
        self.start_policy = self.add_to_role_policy(START_GRANT, [start_execution_statement(args["state_machine_arn"])])
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            arn=args["state_machine_arn"],
            role_arn=self.role.arn,
            **delivery(self.dead_letter_queue.arn),
            opts=self.child(depends_on=[self.start_policy]),
        )
        self.rule_arn = self.rule.arn
        self.dead_letter_queue_url = self.dead_letter_queue.url
        self.dead_letter_queue_arn = self.dead_letter_queue.arn
        self.finish(
            {
                "rule_arn": self.rule_arn,
                "dead_letter_queue_url": self.dead_letter_queue_url,
                "dead_letter_queue_arn": self.dead_letter_queue_arn,
            }
        )

    def watch(self) -> Watch:
        """Deliveries that failed or were dead-lettered, and dead letters waiting (before retention drops them)."""
        alarms = [
            *delivery_alarms(self.rule.name, "the workflow"),
            *dead_letter_alarms(self.dead_letter_queue.name, "their uploads were never processed"),
        ]
        return Watch(title=f"Trigger {self.logical_name}", alarms=alarms)


def _event_pattern(bucket_name: str, prefix: str) -> str:
    return json.dumps(
        {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket_name]}, "object": {"key": [{"prefix": prefix}]}},
        },
        sort_keys=True,
    )
