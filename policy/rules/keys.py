"""KMS (baseline §8) and where the stack's customer-managed key must be used: rotation, an explicit key policy with
no bare `*` principal, a deletion window; data stores and logs encrypted with a key of our own in prod (a $1/month
cost dev may skip, §1 and §4). S3 is checked by the stack rule `s3-cmk-encryption` (access-log buckets excepted)."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from . import documents
from .base import COST, as_list, resource_rule

KEY = "aws:kms/key:Key"


def _check_rotation(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("enableKeyRotation") is not True:
        yield "automatic key rotation is off"


def _check_key_policy(args: ResourceValidationArgs) -> Iterable[str]:
    document = documents.parse(args.props.get("policy"))
    if document is None:
        yield "no explicit key policy: KMS's default policy gives the account root kms:* on the key"
        return
    for statement in documents.statements(document):
        if documents.is_allow(statement) and documents.is_anyone(statement):
            yield f"statement {statement.get('Sid', '?')!r} allows a bare '*' principal"


def _check_deletion_window(args: ResourceValidationArgs) -> Iterable[str]:
    if not args.props.get("deletionWindowInDays"):
        yield "deletion window not set; choose it (7-30 days) rather than inherit it"


def _table_key(props: Mapping[str, Any]) -> bool:
    encryption = props.get("serverSideEncryption") or {}
    return bool(encryption.get("enabled") and encryption.get("kmsKeyArn"))


def _repository_key(props: Mapping[str, Any]) -> bool:
    configurations = [c for c in as_list(props.get("encryptionConfigurations")) if isinstance(c, Mapping)]
    return any(c.get("encryptionType") == "KMS" and c.get("kmsKey") for c in configurations)


def _cluster_key(props: Mapping[str, Any]) -> bool:
    secret_key = props.get("masterUserSecretKmsKeyId") or not props.get("manageMasterUserPassword")
    return bool(props.get("kmsKeyId") and secret_key)


def _function_key(props: Mapping[str, Any]) -> bool:
    return bool(props.get("kmsKeyArn")) or not (props.get("environment") or {}).get("variables")


USES_OWN_KEY: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "aws:dynamodb/table:Table": _table_key,
    "aws:sqs/queue:Queue": lambda props: bool(props.get("kmsMasterKeyId")),
    "aws:cloudwatch/logGroup:LogGroup": lambda props: bool(props.get("kmsKeyId")),
    "aws:ecr/repository:Repository": _repository_key,
    "aws:rds/cluster:Cluster": _cluster_key,
    "aws:lambda/function:Function": _function_key,
}


def _check_own_key(args: ResourceValidationArgs) -> Iterable[str]:
    if not USES_OWN_KEY[args.resource_type](args.props):
        yield "not encrypted with a customer-managed KMS key (an AWS-owned or AWS-managed key is used)"


POLICIES = [
    resource_rule(
        name="kms-rotation",
        description="Customer-managed keys rotate automatically",
        severity=Severity.MEDIUM,
        remediation="Set enable_key_rotation=True (components.key does).",
        types=[KEY],
        check=_check_rotation,
        controls=["KMS.4"],
    ),
    resource_rule(
        name="kms-explicit-key-policy",
        description="Every key has an explicit key policy, and no Allow in it names a bare `*` principal",
        severity=Severity.HIGH,
        remediation="Write the key policy: the account root through IAM, and each service principal with a "
        "condition (components.key._key_policy).",
        types=[KEY],
        check=_check_key_policy,
        controls=["KMS key policy"],
    ),
    resource_rule(
        name="kms-deletion-window",
        description="Keys set their deletion window explicitly",
        severity=Severity.LOW,
        remediation="Set deletion_window_in_days from the profile's kmsDeletionWindowDays.",
        types=[KEY],
        check=_check_deletion_window,
        controls=["KMS.3"],
    ),
    resource_rule(
        name="cmk-encryption",
        description="Tables, queues, log groups, image repositories, Aurora clusters and function environments are "
        "encrypted with a customer-managed key",
        severity=Severity.MEDIUM,
        remediation="Set the profile's `encryption: customer-managed` and pass the stack's EncryptionKey to each "
        "component (they then set the key on every resource).",
        types=list(USES_OWN_KEY),
        check=_check_own_key,
        controls=["CMK in prod", "StepFunctions.1 (encrypted log group)"],
        relaxable=COST,
    ),
]
