"""A customer-managed KMS key for one stack: rotation on, an explicit key policy, no bare `*` principal."""

import json
from collections.abc import Mapping
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components.base import ChildTransform, Component
from components.iam import Grantable, Statement
from components.naming import physical_name
from components.profile import profile_from_args
from components.profile_args import ProfileArgs

KEY_ADMIN_ACTIONS = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ListGrants",
    "kms:CreateGrant",
    "kms:RevokeGrant",
    "kms:RetireGrant",
    "kms:ListAliases",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
"""What the account (through IAM) may do with the key. Named one by one instead of `kms:*`; PutKeyPolicy is kept so
the account can never lock itself out."""

DECRYPT_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
ENCRYPT_ACTIONS = ("kms:Encrypt", "kms:GenerateDataKey", *DECRYPT_ACTIONS)
"""Decrypt stays in the write set: S3 multipart uploads and DynamoDB conditional writes read the data key back.
ReEncrypt is left out on purpose: nothing in the pipeline rotates ciphertext between keys."""

SERVICE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                   "kms:DescribeKey")  # fmt: skip


KEY_DESCRIPTION = "Encrypts the stack's data at rest: buckets, tables, queues and log groups"


class EncryptionKeyArgs(TypedDict):
    """The arguments of an EncryptionKey."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""


class EncryptionKey(Component):
    """One key per stack keeps the cost at $1/month while still making every data store revocable and audited."""

    arn: pulumi.Output[str]
    """The key's ARN: what other components' `kms_key_arn` takes."""
    key_id: pulumi.Output[str]
    """The key's id."""

    def __init__(
        self,
        name: str,
        args: EncryptionKeyArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        super().__init__(name, opts, transform)
        profile = profile_from_args(args["profile"])
        self.key = aws.kms.Key(
            f"{name}-key",
            description=KEY_DESCRIPTION,
            enable_key_rotation=True,
            deletion_window_in_days=profile.kms_deletion_window_days,
            policy=pulumi.Output.all(self.account_id, self.region).apply(lambda ar: _key_policy(*ar)),
            opts=profile.stateful(self),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/{physical_name(name, 'alias')}",
            target_key_id=self.key.key_id,
            opts=self.child(),
        )
        self.arn = self.key.arn
        self.key_id = self.key.key_id
        self.finish({"arn": self.arn, "key_id": self.key_id})

    def grant_decrypt(self, grantee: Grantable) -> aws.iam.RolePolicy | None:
        """Read what a service encrypted with this key on the grantee's behalf."""
        return grantee.add_to_role_policy(f"decrypt-{self.logical_name}", [decrypt_statement(self.arn)])

    def grant_encrypt(self, grantee: Grantable) -> aws.iam.RolePolicy | None:
        """Write through a service that encrypts with this key on the grantee's behalf (S3 SSE-KMS uploads)."""
        return grantee.add_to_role_policy(f"encrypt-{self.logical_name}", [encrypt_statement(self.arn)])


def decrypt_statement(key_arn: pulumi.Input[str]) -> Statement:
    """What a caller of a service holding data under the key `key_arn` needs to read it (components that take a key
    by ARN add it to their own grants)."""
    return Statement(actions=DECRYPT_ACTIONS, resources=[key_arn], sid="KmsDecrypt")


def encrypt_statement(key_arn: pulumi.Input[str]) -> Statement:
    """What a caller needs to write through a service that encrypts with the key `key_arn`."""
    return Statement(actions=ENCRYPT_ACTIONS, resources=[key_arn], sid="KmsEncrypt")


def _key_policy(account_id: str, region: str) -> str:
    """Account administration through IAM, plus the services that encrypt with the key on our behalf: CloudWatch
    Logs (log groups), CloudWatch alarms (the alarm topic) and EventBridge (dead-letter queues, the alarm topic)."""
    statements = [
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": sorted(KEY_ADMIN_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsEncryptsOurLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": sorted(SERVICE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account_id}:log-group:*"}
            },
        },
        {
            "Sid": "CloudWatchAlarmsPublishToOurTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        {
            "Sid": "EventBridgeWritesOurQueuesAndTopic",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    ]
    # In a key policy "Resource": "*" means "this key": a key policy cannot name other resources.
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
