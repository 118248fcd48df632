"""S3 (baseline §1): private, owner-enforced, TLS-only, encrypted, expiring incomplete uploads; versioned, logged and
encrypted with the stack's key in prod. pulumi-aws 7 splits a bucket's settings into companion resources, so the
per-resource rules check each companion and the stack rules check that every bucket has them."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity, StackValidationArgs

from . import documents
from .base import COST, Finding, as_list, known, of_type, plain, refers_to, resource_rule, stack_rule

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ENCRYPTION_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
LIFECYCLE_TYPES = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
LOGGING_TYPES = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def _missing_block_flags(props: Mapping[str, Any]) -> list[str]:
    return [flag for flag in BLOCK_FLAGS if props.get(flag) is not True]


def _check_public_access_block(args: ResourceValidationArgs) -> Iterable[str]:
    missing = _missing_block_flags(args.props)
    if missing:
        yield f"public access block leaves {', '.join(missing)} off; all four must be true"


def _check_ownership(args: ResourceValidationArgs) -> Iterable[str]:
    if args.resource_type in ACL_TYPES:
        yield "declares a bucket ACL; ACLs are disabled with BucketOwnerEnforced, grant access with policies"
        return
    ownership = (args.props.get("rule") or {}).get("objectOwnership")
    if ownership != "BucketOwnerEnforced":
        yield f"object ownership is {ownership!r}; it must be 'BucketOwnerEnforced' (ACLs disabled)"


def denies_insecure_transport(document: Mapping[str, Any] | None, bucket: str | None) -> bool:
    """A Deny of every S3 action to everyone when `aws:SecureTransport` is false, on the bucket and its objects."""
    for statement in documents.statements(document):
        if statement.get("Effect") != "Deny" or not documents.is_anyone(statement):
            continue
        if not {"s3:*", "*"} & set(documents.actions(statement)):
            continue
        if documents.condition_value(statement, "Bool", "aws:SecureTransport") != ["false"]:
            continue
        targets = documents.resources(statement)
        if bucket:
            covers = any(r.endswith(f":::{bucket}") for r in targets) and any(
                r.endswith(f":::{bucket}/*") for r in targets
            )
        else:
            covers = any(r.endswith("/*") for r in targets) and any(not r.endswith("/*") for r in targets)
        if covers:
            return True
    return False


def _check_tls_policy(args: ResourceValidationArgs) -> Iterable[str]:
    document = documents.parse(args.props.get("policy"))
    if not denies_insecure_transport(document, known(args.props, "bucket")):
        yield "the bucket policy does not deny requests without TLS (Deny s3:* to * when aws:SecureTransport is false)"


def _rules(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [rule for rule in as_list(props.get("rules")) if isinstance(rule, Mapping)]


def _check_default_encryption(args: ResourceValidationArgs) -> Iterable[str]:
    algorithms = [
        (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for rule in _rules(args.props)
    ]
    if not any(algorithm in SSE_ALGORITHMS for algorithm in algorithms):
        yield f"default encryption algorithm is {algorithms or 'missing'}; use AES256 or aws:kms"


def aborts_incomplete_uploads(props: Mapping[str, Any]) -> bool:
    """An enabled rule for the whole bucket (empty or no prefix) that aborts incomplete multipart uploads."""
    for rule in _rules(props):
        abort = rule.get("abortIncompleteMultipartUpload") or {}
        scope = rule.get("filter") or {}
        whole_bucket = not (scope.get("prefix") if isinstance(scope, Mapping) else None)
        if rule.get("status") == "Enabled" and abort.get("daysAfterInitiation") and whole_bucket:
            return True
    return False


def _check_lifecycle(args: ResourceValidationArgs) -> Iterable[str]:
    if not aborts_incomplete_uploads(args.props):
        yield "no enabled whole-bucket rule aborts incomplete multipart uploads; their parts are billed forever"


def _companions(args: StackValidationArgs, bucket: PolicyResource, *types: str) -> list[PolicyResource]:
    return [r for r in of_type(args, *types) if refers_to(r, "bucket", bucket, "bucket")]


def _buckets(args: StackValidationArgs) -> list[PolicyResource]:
    return of_type(args, *BUCKET_TYPES)


def _log_targets(args: StackValidationArgs) -> set[str]:
    """URNs of buckets that receive server access logs: S3 log delivery writes them with SSE-S3 only."""
    loggings = of_type(args, *LOGGING_TYPES)
    return {b.urn for b in _buckets(args) if any(refers_to(log, "targetBucket", b, "bucket") for log in loggings)}


def _guards_of(args: StackValidationArgs, bucket: PolicyResource) -> Iterable[str]:
    blocks = _companions(args, bucket, PUBLIC_ACCESS_BLOCK)
    if not any(not _missing_block_flags(plain(block.props)) for block in blocks):
        yield "no public access block with all four flags on"
    ownerships = _companions(args, bucket, OWNERSHIP)
    if not any(known(o.props, "rule", "objectOwnership") == "BucketOwnerEnforced" for o in ownerships):
        yield "no ownership control with BucketOwnerEnforced"
    name = known(bucket.props, "bucket")
    policies = [documents.parse(known(p.props, "policy")) for p in _companions(args, bucket, BUCKET_POLICY)]
    if not any(denies_insecure_transport(document, name) for document in policies):
        yield "no bucket policy that denies requests without TLS"
    if not _companions(args, bucket, *ENCRYPTION_TYPES):
        yield "no default encryption configuration"
    if not any(aborts_incomplete_uploads(plain(c.props)) for c in _companions(args, bucket, *LIFECYCLE_TYPES)):
        yield "no lifecycle rule that aborts incomplete multipart uploads"


def _check_every_bucket_guarded(args: StackValidationArgs) -> Iterable[Finding]:
    for bucket in _buckets(args):
        for gap in _guards_of(args, bucket):
            yield f"bucket {bucket.name!r}: {gap}", bucket.urn


def _check_versioning(args: StackValidationArgs) -> Iterable[Finding]:
    for bucket in _buckets(args):
        versionings = _companions(args, bucket, *VERSIONING_TYPES)
        if not any(known(v.props, "versioningConfiguration", "status") == "Enabled" for v in versionings):
            yield f"bucket {bucket.name!r} is not versioned: an overwrite or delete cannot be undone", bucket.urn


def _check_access_logging(args: StackValidationArgs) -> Iterable[Finding]:
    targets = _log_targets(args)
    for bucket in _buckets(args):
        if bucket.urn not in targets and not _companions(args, bucket, *LOGGING_TYPES):
            yield f"bucket {bucket.name!r} has no server access logging", bucket.urn


def _check_cmk_encryption(args: StackValidationArgs) -> Iterable[Finding]:
    targets = _log_targets(args)
    for bucket in _buckets(args):
        if bucket.urn in targets:
            continue  # S3 log delivery cannot write to an SSE-KMS bucket: SSE-S3 is the only option there
        configurations = [plain(c.props) for c in _companions(args, bucket, *ENCRYPTION_TYPES)]
        defaults = [(r.get("applyServerSideEncryptionByDefault") or {}) for c in configurations for r in _rules(c)]
        if not any(d.get("sseAlgorithm") in KMS_ALGORITHMS and d.get("kmsMasterKeyId") for d in defaults):
            yield f"bucket {bucket.name!r} is not encrypted with a customer-managed KMS key", bucket.urn


def _bucket_names_in_patterns(args: StackValidationArgs) -> set[str]:
    names: set[str] = set()
    for rule in of_type(args, EVENT_RULE):
        pattern = known(rule.props, "eventPattern")
        try:
            parsed = json.loads(pattern) if isinstance(pattern, str) else None
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping) and "aws.s3" in as_list(parsed.get("source")):
            bucket = (parsed.get("detail") or {}).get("bucket") or {}
            names |= {n for n in as_list(bucket.get("name")) if isinstance(n, str)}
    return names


def _check_eventbridge_notifications(args: StackValidationArgs) -> Iterable[Finding]:
    routed = _bucket_names_in_patterns(args)
    for bucket in _buckets(args):
        if known(bucket.props, "bucket") not in routed:
            continue
        notifications = _companions(args, bucket, NOTIFICATION)
        if not any(known(n.props, "eventbridge") is True for n in notifications):
            yield (
                f"bucket {bucket.name!r} is matched by an EventBridge rule but does not send events to EventBridge",
                bucket.urn,
            )


POLICIES = [
    resource_rule(
        name="s3-public-access-block",
        description="A bucket's public access block turns on all four settings",
        severity=Severity.CRITICAL,
        remediation="Set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to "
        "True (components.bucket.Bucket does).",
        types=[PUBLIC_ACCESS_BLOCK],
        check=_check_public_access_block,
        controls=["S3.1", "S3.8"],
    ),
    resource_rule(
        name="s3-bucket-owner-enforced",
        description="Buckets disable ACLs: ownership controls say BucketOwnerEnforced and no bucket ACL is declared",
        severity=Severity.MEDIUM,
        remediation="Declare BucketOwnershipControls with object_ownership='BucketOwnerEnforced' and grant access "
        "with bucket or IAM policies instead of ACLs.",
        types=[OWNERSHIP, *ACL_TYPES],
        check=_check_ownership,
        controls=["S3.12"],
    ),
    resource_rule(
        name="s3-tls-only-policy",
        description="A bucket policy denies every request made without TLS, on the bucket and its objects",
        severity=Severity.HIGH,
        remediation="Add a statement: Deny, Principal {'AWS': '*'}, Action 's3:*', Resource [bucket ARN, "
        "bucket ARN + '/*'], Condition {'Bool': {'aws:SecureTransport': 'false'}}.",
        types=[BUCKET_POLICY],
        check=_check_tls_policy,
        controls=["S3.5", "AwsSolutions-S10"],
    ),
    resource_rule(
        name="s3-default-encryption",
        description="A bucket's default encryption is SSE-S3 or SSE-KMS",
        severity=Severity.HIGH,
        remediation="Set apply_server_side_encryption_by_default.sse_algorithm to 'aws:kms' (with the stack's key) "
        "or 'AES256'.",
        types=ENCRYPTION_TYPES,
        check=_check_default_encryption,
        controls=["S3.4"],
    ),
    resource_rule(
        name="s3-abort-incomplete-uploads",
        description="A bucket lifecycle aborts incomplete multipart uploads for the whole bucket",
        severity=Severity.LOW,
        remediation="Add an enabled lifecycle rule with an empty prefix filter and "
        "abort_incomplete_multipart_upload.days_after_initiation (7 in components.bucket).",
        types=LIFECYCLE_TYPES,
        check=_check_lifecycle,
        controls=["S3.13"],
    ),
    stack_rule(
        name="s3-every-bucket-guarded",
        description="Every bucket has a public access block (all four), BucketOwnerEnforced ownership, a TLS-only "
        "policy, default encryption and a lifecycle that aborts incomplete uploads",
        severity=Severity.HIGH,
        remediation="Declare buckets with components.bucket.Bucket, which creates all five companions; a raw "
        "aws.s3.Bucket has none of them.",
        check=_check_every_bucket_guarded,
        controls=["S3.1", "S3.5", "S3.8", "S3.12", "S3.13"],
    ),
    stack_rule(
        name="s3-versioning",
        description="Every bucket is versioned",
        severity=Severity.MEDIUM,
        remediation="Set the profile's `versioning: true` (components.bucket.Bucket then declares BucketVersioning "
        "and expires noncurrent versions after 90 days).",
        check=_check_versioning,
        controls=["S3.14"],
        relaxable=COST,
    ),
    stack_rule(
        name="s3-access-logging",
        description="Every bucket that is not itself a log target sends server access logs to a log bucket",
        severity=Severity.LOW,
        remediation="Set the profile's `accessLogging: true` (the program then declares an access-log bucket and a "
        "BucketLogging for each bucket).",
        check=_check_access_logging,
        controls=["S3.9"],
        relaxable=COST,
    ),
    stack_rule(
        name="s3-cmk-encryption",
        description="Every bucket except access-log targets is encrypted with a customer-managed KMS key",
        severity=Severity.MEDIUM,
        remediation="Set the profile's `encryption: customer-managed`; pass the stack's EncryptionKey's ARN as the "
        "bucket's `kms_key_arn`. Access-log buckets stay on SSE-S3: S3 log delivery cannot write to SSE-KMS buckets.",
        check=_check_cmk_encryption,
        controls=["S3.17"],
        relaxable=COST,
    ),
    stack_rule(
        name="s3-eventbridge-notifications",
        description="A bucket that an EventBridge rule listens to sends its events to EventBridge",
        severity=Severity.MEDIUM,
        remediation="Pass event_bridge=True to BucketArgs (a BucketNotification with eventbridge=True); without it "
        "the rule never fires.",
        check=_check_eventbridge_notifications,
        controls=["S3.11"],
    ),
]
