"""A customer-managed KMS key for one stack: rotation on, an explicit key policy, no bare `*` principal."""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import Statement
from components.naming import physical_name
from components.profile import EnvironmentProfile

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


@dataclass(frozen=True)
class EncryptionKeyArgs:
    profile: EnvironmentProfile
    description: str = "Encrypts the stack's data at rest: buckets, tables, queues and log groups"


class EncryptionKey(pulumi.ComponentResource):
    """One key per stack keeps the cost at $1/month while still making every data store revocable and audited."""

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline:security:EncryptionKey", name, None, opts)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.key = aws.kms.Key(
            f"{name}-key",
            description=args.description,
            enable_key_rotation=True,
            deletion_window_in_days=args.profile.kms_deletion_window_days,
            policy=pulumi.Output.all(identity.account_id, region.region).apply(lambda ar: _key_policy(*ar)),
            opts=args.profile.stateful(self),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/{physical_name(name, 'alias')}",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.key.arn
        self.key_id = self.key.key_id
        self.register_outputs({"arn": self.arn, "key_id": self.key_id})

    def decrypt(self, sid: str = "KmsDecrypt") -> Statement:
        return Statement(actions=DECRYPT_ACTIONS, resources=[self.arn], sid=sid)

    def encrypt(self, sid: str = "KmsEncrypt") -> Statement:
        return Statement(actions=ENCRYPT_ACTIONS, resources=[self.arn], sid=sid)


def _key_policy(account_id: str, region: str) -> str:
    """Account administration through IAM, plus the two services that encrypt with the key on our behalf."""
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
            "Sid": "EventBridgeWritesOurDeadLetterQueues",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    ]
    # In a key policy "Resource": "*" means "this key": a key policy cannot name other resources.
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
