"""An S3 bucket with the security baseline built in and least-privilege grants by prefix."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import ChildTransform, Component
from components.iam import Grantable, Statement, statements_of
from components.key import EncryptionKey
from components.naming import bucket_name
from components.profile import EnvironmentProfile

READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging")
WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")
"""Object writes only: no s3:DeleteObject (renditions are overwritten in place) and no s3:PutObjectAcl (ACLs are
disabled by BucketOwnerEnforced)."""
LIST_ACTIONS = ("s3:ListBucket",)
DELETE_ACTIONS = ("s3:DeleteObject",)
"""Current versions only: s3:DeleteObjectVersion is left out, so a versioned bucket keeps what was deleted."""

ABORT_INCOMPLETE_MULTIPART_DAYS = 7
NONCURRENT_VERSION_EXPIRATION_DAYS = 90


@dataclass(frozen=True)
class Expiration:
    """Delete objects under `prefix` after `days` (current versions) — e.g. originals once processed."""

    prefix: str
    days: int


@dataclass(frozen=True)
class BucketArgs:
    profile: EnvironmentProfile
    key: EncryptionKey | None = None
    """Customer-managed key for SSE-KMS; None uses SSE-S3 (AWS-managed, no idle cost)."""
    event_bridge: bool = False
    """Send every object event to EventBridge, for rules to route (S3.11)."""
    expirations: Sequence[Expiration] = field(default_factory=tuple)
    access_logs: "Bucket | None" = None
    """Send S3 server access logs to this bucket, under `<name>/` (S3.9)."""
    receives_access_logs: bool = False
    """This bucket is an access-log target: S3's log delivery may write to it (it must use SSE-S3)."""

    def __post_init__(self) -> None:
        if self.receives_access_logs and self.key is not None:
            raise ValueError("an access-log bucket must use SSE-S3: S3 log delivery cannot write with a KMS key")


class Bucket(Component):
    """Private, encrypted, TLS-only and owner-enforced; versioned when the profile says so."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: BucketArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        super().__init__(name, opts, transform)
        self._args = args
        self.bucket = self._create_bucket(name)
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.public_access_block = self._block_public_access(name)
        self.ownership = self._enforce_bucket_owner(name)
        self.encryption = self._encrypt(name)
        self.versioning = self._enable_versioning(name)
        self.lifecycle = self._expire(name)
        self.policy = self._require_tls(name)
        self.notification = self._notify_event_bridge(name) if args.event_bridge else None
        self.logging = self._log_access(name, args.access_logs) if args.access_logs else None
        self.finish({"name": self.name, "arn": self.arn})

    def grant_read(self, grantee: Grantable, prefix: str = "") -> aws.iam.RolePolicy | None:
        """Read objects (any version) under `prefix`, and decrypt them with the bucket's key."""
        statements = self._object_statements(READ_ACTIONS, prefix)
        return grantee.add_to_role_policy(self._grant_name("read", prefix), statements)

    def grant_write(self, grantee: Grantable, prefix: str = "") -> aws.iam.RolePolicy | None:
        """Put objects under `prefix`, and encrypt them with the bucket's key."""
        statements = self._object_statements(WRITE_ACTIONS, prefix)
        return grantee.add_to_role_policy(self._grant_name("write", prefix), statements)

    def grant_delete(self, grantee: Grantable, prefix: str = "") -> aws.iam.RolePolicy | None:
        """Delete objects under `prefix` (in a versioned bucket this adds a delete marker; the data stays)."""
        statements = self._object_statements(DELETE_ACTIONS, prefix, with_key=False)
        return grantee.add_to_role_policy(self._grant_name("delete", prefix), statements)

    def grant_list(self, grantee: Grantable, prefix: str = "") -> aws.iam.RolePolicy | None:
        """List keys, limited to `prefix` by condition (ListBucket is scoped to the bucket, not to objects)."""
        condition = {"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else {}
        statement = Statement(actions=LIST_ACTIONS, resources=[self.arn], sid="List", conditions=condition)
        return grantee.add_to_role_policy(self._grant_name("list", prefix), [statement])

    def _grant_name(self, intent: str, prefix: str) -> str:
        scope = "-".join(part for part in prefix.split("/") if part)
        return "-".join(part for part in (intent, self.logical_name, scope) if part)

    def _object_statements(self, actions: Sequence[str], prefix: str, with_key: bool = True) -> list[Statement]:
        objects = self.arn.apply(lambda arn: f"{arn}/{prefix}*")
        statements = [Statement(actions=actions, resources=[objects], sid="Objects")]
        if with_key and self._args.key is not None:
            key = self._args.key
            statements += statements_of(key.grant_encrypt if actions == WRITE_ACTIONS else key.grant_decrypt)
        return statements

    def _create_bucket(self, name: str) -> aws.s3.Bucket:
        return aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_name(name, self.account_id),
            force_destroy=self._args.profile.force_destroy,
            opts=self._args.profile.stateful(self),
        )

    def _block_public_access(self, name: str) -> aws.s3.BucketPublicAccessBlock:
        return aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self.child(),
        )

    def _enforce_bucket_owner(self, name: str) -> aws.s3.BucketOwnershipControls:
        return aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=self.child(),
        )

    def _encrypt(self, name: str) -> aws.s3.BucketServerSideEncryptionConfiguration:
        key = self._args.key
        default = {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn} if key else {"sse_algorithm": "AES256"}
        return aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            # The bucket key cuts KMS requests (and their cost) by ~99% for SSE-KMS.
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": key is not None}],
            opts=self.child(),
        )

    def _enable_versioning(self, name: str) -> aws.s3.BucketVersioning | None:
        if not self._args.profile.versioning:
            return None
        return aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=self.child(),
        )

    def _expire(self, name: str) -> aws.s3.BucketLifecycleConfiguration:
        rules: list[dict] = [
            {
                "id": "abort-incomplete-multipart-uploads",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_MULTIPART_DAYS},
            }
        ]
        if self._args.profile.versioning:
            rules.append(
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_EXPIRATION_DAYS},
                }
            )
        rules.extend(
            {
                "id": f"expire-{expiration.prefix.strip('/') or 'all'}-after-{expiration.days}-days",
                "status": "Enabled",
                "filter": {"prefix": expiration.prefix},
                "expiration": {"days": expiration.days},
            }
            for expiration in self._args.expirations
        )
        return aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, rules=rules, opts=self.child()
        )

    def _require_tls(self, name: str) -> aws.s3.BucketPolicy:
        receives_logs = self._args.receives_access_logs
        policy = pulumi.Output.all(self.arn, self.account_id).apply(
            lambda values: _bucket_policy(*values, receives_access_logs=receives_logs)
        )
        # The public access block must exist first, or a policy race can briefly leave the bucket more open.
        return aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=policy,
            opts=self.child(depends_on=[self.public_access_block]),
        )

    def _log_access(self, name: str, target: "Bucket") -> aws.s3.BucketLogging:
        return aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=self.bucket.id,
            target_bucket=target.name,
            target_prefix=f"{name}/",
            # The log bucket's policy is what lets S3 deliver: set it before asking S3 to deliver there.
            opts=self.child(depends_on=[target.policy]),
        )

    def _notify_event_bridge(self, name: str) -> aws.s3.BucketNotification:
        return aws.s3.BucketNotification(
            f"{name}-notification", bucket=self.bucket.id, eventbridge=True, opts=self.child()
        )


def _bucket_policy(bucket_arn: str, account_id: str, *, receives_access_logs: bool) -> str:
    """Deny any request not made over TLS 1.2+ (S3.5): the bucket refuses plain HTTP for everyone. An access-log
    bucket also lets S3's log delivery write, for this account's buckets only."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    statements: list[dict] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]
    if receives_access_logs:
        statements.append(
            {
                "Sid": "S3LogDeliveryWritesAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
