"""IAM (baseline §2): named actions only, `*` resources only where AWS has no resource scope, no broad managed
policies, trust policies pinned to our account or source, and well-formed documents IAM will accept."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from . import documents
from .base import as_list, resource_rule

NO_RESOURCE_SCOPE = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        "ecr:GetAuthorizationToken",
    }
)
"""Actions the Service Authorization Reference gives no resource type: the only ones allowed on `"Resource": "*"`
in an identity policy (X-Ray, vended log delivery, ECR login)."""
POLICY_ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
BROAD_MANAGED_POLICY = re.compile(
    r"^arn:aws[\w-]*:iam::aws:policy/(.*/)?(AdministratorAccess|PowerUserAccess|\w*FullAccess)$"
)
"""AWS-managed policies that grant a whole service (or everything): never what one function or task needs."""
SID = re.compile(r"^[0-9A-Za-z]*$")
DOCUMENT_TYPES = (*documents.IDENTITY_POLICY_TYPES, *documents.RESOURCE_POLICY_TYPES, documents.ROLE)


def _all_documents(args: ResourceValidationArgs) -> list[tuple[str, dict[str, Any]]]:
    """(label, document) for every IAM document on the resource: identity, resource and trust policies."""
    found = [("inline policy", d) for d in documents.identity_documents(args.resource_type, args.props)]
    if args.resource_type in documents.RESOURCE_POLICY_TYPES:
        document = documents.parse(args.props.get("policy"))
        found += [("resource policy", document)] if document else []
    if args.resource_type == documents.ROLE:
        document = documents.parse(args.props.get("assumeRolePolicy"))
        found += [("trust policy", document)] if document else []
    return found


def _check_wildcard_actions(args: ResourceValidationArgs) -> Iterable[str]:
    for label, document in _all_documents(args):
        for statement in documents.statements(document):
            if "NotAction" in statement and documents.is_allow(statement):
                yield f"{label}: an Allow with NotAction grants every action but those listed"
            wild = [a for a in documents.actions(statement) if "*" in a]
            if documents.is_allow(statement) and wild:
                yield f"{label}: Allow with wildcard actions {wild}; name each action"


def _check_star_resources(args: ResourceValidationArgs) -> Iterable[str]:
    for document in documents.identity_documents(args.resource_type, args.props):
        for statement in documents.statements(document):
            if not documents.is_allow(statement) or "*" not in documents.resources(statement):
                continue
            scoped = sorted(set(documents.actions(statement)) - NO_RESOURCE_SCOPE)
            if scoped:
                yield f'{scoped} on "Resource": "*" could be scoped to ARNs'


def _managed_policy_arns(args: ResourceValidationArgs) -> list[str]:
    if args.resource_type == documents.ROLE:
        return [a for a in as_list(args.props.get("managedPolicyArns")) if isinstance(a, str)]
    arn = args.props.get("policyArn")
    return [arn] if isinstance(arn, str) else []


def _check_managed_policies(args: ResourceValidationArgs) -> Iterable[str]:
    broad = [arn for arn in _managed_policy_arns(args) if BROAD_MANAGED_POLICY.match(arn)]
    if broad:
        yield f"attaches broad AWS-managed policies {broad}"


def _trust_problems(statement: Mapping[str, Any]) -> Iterable[str]:
    if not documents.is_allow(statement):
        return
    if documents.is_anyone(statement):
        yield "trusts every principal ('*')"
        return
    services = documents.principals(statement).get("Service", [])
    if services and not documents.condition_keys(statement) & {"aws:sourceaccount", "aws:sourcearn"}:
        yield f"trusts {services} without an aws:SourceAccount or aws:SourceArn condition (confused deputy)"


def _check_trust(args: ResourceValidationArgs) -> Iterable[str]:
    document = documents.parse(args.props.get("assumeRolePolicy"))
    for statement in documents.statements(document):
        yield from _trust_problems(statement)


def _check_well_formed(args: ResourceValidationArgs) -> Iterable[str]:
    for label, document in _all_documents(args):
        sids = [str(s["Sid"]) for s in documents.statements(document) if "Sid" in s]
        repeated = sorted({sid for sid in sids if sids.count(sid) > 1})
        if repeated:
            yield f"{label}: statement ids {repeated} repeat; IAM rejects the document (Sids must be unique)"
        invalid = [sid for sid in sids if not SID.match(sid)]
        if invalid and label != "resource policy":  # S3, SQS and KMS accept other characters; IAM does not
            yield f"{label}: statement ids {invalid} are not alphanumeric"
        if document.get("Version") != "2012-10-17":
            yield f"{label}: Version is {document.get('Version')!r}; without '2012-10-17' policy variables break"


PUBLIC_POLICY_TYPES = (
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:sqs/queue:Queue",
)


def _check_public_allow(args: ResourceValidationArgs) -> Iterable[str]:
    document = documents.parse(args.props.get("policy"))
    for statement in documents.statements(document):
        narrowed = documents.condition_keys(statement) & documents.SOURCE_CONDITION_KEYS
        if documents.is_allow(statement) and documents.is_anyone(statement) and not narrowed:
            yield f"statement {statement.get('Sid', '?')!r} allows '*' (anyone, anonymously) with no source condition"


POLICIES = [
    resource_rule(
        name="iam-no-wildcard-actions",
        description="No Allow statement uses a wildcard action (`*`, `s3:*`, `s3:Get*`) or NotAction",
        severity=Severity.HIGH,
        remediation="Grant named actions through the intent-level grant methods (bucket.grant_read, "
        "table.grant_write, ...), backed by named action lists.",
        types=DOCUMENT_TYPES,
        check=_check_wildcard_actions,
        controls=["IAM.1", "IAM.21", "AwsSolutions-IAM5"],
    ),
    resource_rule(
        name="iam-no-star-resources",
        description='Identity policies use `"Resource": "*"` only for actions AWS cannot scope to a resource',
        severity=Severity.HIGH,
        remediation="Name the ARNs (a table and its indexes, a bucket prefix, a log group's streams); only X-Ray, "
        "vended log delivery and ECR login take '*'.",
        types=[*documents.IDENTITY_POLICY_TYPES, documents.ROLE],
        check=_check_star_resources,
        controls=["IAM.21", "AwsSolutions-IAM5"],
    ),
    resource_rule(
        name="iam-no-broad-managed-policies",
        description="No role or principal gets AdministratorAccess, PowerUserAccess or an AWS *FullAccess policy",
        severity=Severity.HIGH,
        remediation="Replace the managed policy with inline grants of exactly the actions and resources needed.",
        types=[documents.ROLE, *POLICY_ATTACHMENT_TYPES],
        check=_check_managed_policies,
        controls=["IAM.1", "AwsSolutions-IAM4"],
    ),
    resource_rule(
        name="iam-trust-pinned",
        description="Role trust policies trust no `*` principal, and pin service principals with aws:SourceAccount "
        "or aws:SourceArn",
        severity=Severity.HIGH,
        remediation="Build trust policies with components.iam.trust_policy(service, account, source_arn).",
        types=[documents.ROLE],
        check=_check_trust,
        controls=["IAM confused deputy"],
    ),
    resource_rule(
        name="iam-well-formed-documents",
        description="IAM documents say Version 2012-10-17 and have unique, alphanumeric statement ids",
        severity=Severity.HIGH,
        remediation="Give each statement a unique Sid (e.g. prefix it with the state or grant it comes from); IAM "
        "answers MalformedPolicyDocument otherwise and the deployment fails.",
        types=DOCUMENT_TYPES,
        check=_check_well_formed,
        controls=["IAM grammar"],
    ),
    resource_rule(
        name="resource-policy-no-public-allow",
        description="No bucket, queue, topic or repository policy allows `*` without narrowing it to a source",
        severity=Severity.CRITICAL,
        remediation="Name the principal (a service, a role ARN) or add an aws:SourceArn / aws:SourceAccount / "
        "aws:PrincipalOrgID condition; Deny statements (TLS-only) may use '*'.",
        types=PUBLIC_POLICY_TYPES,
        check=_check_public_allow,
        controls=["S3.2", "S3.3", "SQS.3", "AwsSolutions-S2"],
    ),
]
