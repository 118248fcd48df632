"""An S3 bucket with the security baseline built in and least-privilege grants by prefix."""

import json
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.base import ChildTransform, Component
from components.iam import Grantable, Statement, deny_insecure_transport
from components.key import decrypt_statement, encrypt_statement
from components.naming import bucket_name
from components.profile import EnvironmentProfile, profile_from_args
from components.profile_args import ProfileArgs

READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging")
WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")
"""Object writes only: no s3:DeleteObject (renditions are overwritten in place) and no s3:PutObjectAcl (ACLs are
disabled by BucketOwnerEnforced)."""
LIST_ACTIONS = ("s3:ListBucket",)
DELETE_ACTIONS = ("s3:DeleteObject",)
"""Current versions only: s3:DeleteObjectVersion is left out, so a versioned bucket keeps what was deleted."""

ABORT_INCOMPLETE_MULTIPART_DAYS = 7
NONCURRENT_VERSION_EXPIRATION_DAYS = 90


class BucketExpiration(TypedDict):
    """Delete objects under `prefix` `days` after their creation (current versions), e.g. originals once
    processed."""

    prefix: str
    """The key prefix the rule applies to; "" for the whole bucket."""
    days: int
    """Days after an object's creation at which its current version expires."""


class BucketArgs(TypedDict):
    """The arguments of a Bucket."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """ARN of a customer-managed KMS key for SSE-KMS, with an S3 bucket key (grants then include the key's actions).
    Default: none, SSE-S3 (AWS-managed, no idle cost)."""
    event_bridge: NotRequired[bool]
    """Send every object event to EventBridge, for rules to route (S3.11). Default: false."""
    expirations: NotRequired[list[BucketExpiration]]
    """Expirations by prefix, beside the rules every bucket has (incomplete multipart uploads are aborted after 7
    days; with versioning, noncurrent versions expire after 90). Default: none."""
    access_log_bucket: NotRequired[pulumi.Input[str] | None]
    """Send S3 server access logs to the bucket of this name, under `<name>/` (S3.9). Pass the receiving Bucket's
    `access_log_target` output, not its `name`: it resolves only once that bucket's policy lets S3's log delivery
    write, so the logging configuration is set after it. Default: none (no access logs)."""
    receives_access_logs: NotRequired[bool]
    """This bucket is an access-log target: S3's log delivery may write to it, and `access_log_target` is set. It
    must use SSE-S3 (no `kms_key_arn`): S3 log delivery cannot write with a KMS key. Default: false."""


class Bucket(Component):
    """Private, encrypted, TLS-only and owner-enforced; versioned when the profile says so."""

    name: pulumi.Output[str]
    """The bucket's physical name."""
    arn: pulumi.Output[str]
    """The bucket's ARN."""
    access_log_target: pulumi.Output[str] | None
    """The bucket's name, resolving only once its policy lets S3's log delivery write: what other buckets'
    `access_log_bucket` takes. Set only when `receives_access_logs`."""

    def __init__(
        self,
        name: str,
        args: BucketArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        _check(name, args)
        super().__init__(name, opts, transform)
        self._profile = profile_from_args(args["profile"])
        self._kms_key_arn = args.get("kms_key_arn")
        self.bucket = self._create_bucket(name)
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.public_access_block = self._block_public_access(name)
        self.ownership = self._enforce_bucket_owner(name)
        self.encryption = self._encrypt(name)
        self.versioning = self._enable_versioning(name)
        self.lifecycle = self._expire(name, args.get("expirations") or [])
        receives_access_logs = args.get("receives_access_logs", False)
        self.policy = self._require_tls(name, receives_access_logs)
        self.access_log_target = self._log_target() if receives_access_logs else None
        self.notification = self._notify_event_bridge(name) if args.get("event_bridge", False) else None
        target = args.get("access_log_bucket")
        self.logging = self._log_access(name, target) if target is not None else None
        self.finish({"name": self.name, "arn": self.arn, "access_log_target": self.access_log_target})

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
        key_arn = self._kms_key_arn
        if with_key and key_arn is not None:
            statements.append(encrypt_statement(key_arn) if actions == WRITE_ACTIONS else decrypt_statement(key_arn))
        return statements

    def _create_bucket(self, name: str) -> aws.s3.Bucket:
        return aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_name(name, self.account_id),
            force_destroy=self._profile.force_destroy,
            opts=self._profile.stateful(self),
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
        key_arn = self._kms_key_arn
        default = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": key_arn}
            if key_arn is not None
            else {"sse_algorithm": "AES256"}
        )
        return aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            # The bucket key cuts KMS requests (and their cost) by ~99% for SSE-KMS.
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": key_arn is not None}],
            opts=self.child(),
        )

    def _enable_versioning(self, name: str) -> aws.s3.BucketVersioning | None:
        if not self._profile.versioning:
            return None
        return aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=self.child(),
        )

    def _expire(self, name: str, expirations: Sequence[BucketExpiration]) -> aws.s3.BucketLifecycleConfiguration:
        rules: list[dict] = [
            {
                "id": "abort-incomplete-multipart-uploads",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_MULTIPART_DAYS},
            }
        ]
        if self._profile.versioning:
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
                "id": f"expire-{expiration['prefix'].strip('/') or 'all'}-after-{expiration['days']}-days",
                "status": "Enabled",
                "filter": {"prefix": expiration["prefix"]},
                "expiration": {"days": expiration["days"]},
            }
            for expiration in expirations
        )
        return aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, rules=rules, opts=self.child()
        )

    def _require_tls(self, name: str, receives_access_logs: bool) -> aws.s3.BucketPolicy:
        policy = pulumi.Output.all(self.arn, self.account_id).apply(
            lambda values: _bucket_policy(*values, receives_access_logs=receives_access_logs)
        )
        # The public access block must exist first, or a policy race can briefly leave the bucket more open.
        return aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=policy,
            opts=self.child(depends_on=[self.public_access_block]),
        )

    def _log_target(self) -> pulumi.Output[str]:
        """The name, carrying the policy as a dependency: the log bucket's policy is what lets S3 deliver, so a
        BucketLogging given this output waits for it (an Output brings the resources it came from as dependencies,
        across languages too: the value reaches a consumer only once the policy exists). The policy's URN, not its
        id, keeps the name known in previews."""
        return pulumi.Output.all(self.name, self.policy.urn).apply(lambda values: values[0])

    def _log_access(self, name: str, target: pulumi.Input[str]) -> aws.s3.BucketLogging:
        return aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=self.bucket.id,
            # The target's `access_log_target` output: it depends on the target's policy (see `_log_target`).
            target_bucket=target,
            target_prefix=f"{name}/",
            opts=self.child(),
        )

    def _notify_event_bridge(self, name: str) -> aws.s3.BucketNotification:
        return aws.s3.BucketNotification(
            f"{name}-notification", bucket=self.bucket.id, eventbridge=True, opts=self.child()
        )


def access_log_bucket(
    name: str, profile: EnvironmentProfile, opts: pulumi.ResourceOptions | None = None
) -> Bucket | None:
    """The stack's access-log bucket when the profile keeps access logs (its logs expire after the profile's
    retention), else None. Other buckets pass its `access_log_target` as their `access_log_bucket`."""
    if not profile.access_logging:
        return None
    expiration = BucketExpiration(prefix="", days=profile.access_log_retention_days)
    return Bucket(name, BucketArgs(profile=profile.args, receives_access_logs=True, expirations=[expiration]), opts)


def _check(name: str, args: BucketArgs) -> None:
    """Refuse contradictory arguments before anything is declared."""
    if args.get("receives_access_logs", False) and args.get("kms_key_arn") is not None:
        raise ValueError(
            f"Bucket {name!r}: receives_access_logs with a kms_key_arn: an access-log bucket must use SSE-S3, S3 log "
            "delivery cannot write with a KMS key; leave out kms_key_arn (or receives_access_logs)"
        )


def _bucket_policy(bucket_arn: str, account_id: str, *, receives_access_logs: bool) -> str:
    """Deny any request not made over TLS 1.2+ (S3.5): the bucket refuses plain HTTP for everyone. An access-log
    bucket also lets S3's log delivery write, for this account's buckets only."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    statements: list[dict] = [
        deny_insecure_transport("s3:*", resources),
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
