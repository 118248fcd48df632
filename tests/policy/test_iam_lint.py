"""Every IAM document of every stack linted by parliament (Duo Labs' IAM linter, with its community auditors):
identity policies, trust policies, bucket, queue and key policies. A finding fails the test unless an exception
below names its type, where it may occur and why it is acceptable; a real defect fails until it is fixed. Every
exception must stay in use, so a stale one fails too.

Each stack runs the project's program and the reference program (tests/reference.py), which has every component:
the exceptions are the components' (by resource type and role), never one program's resources."""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synth.program import RecordedResource, Synthesis, stack_names
from tests.conftest import synthesized
from tests.reference import reference_program

NOT_IAM = {"aws:ecr/lifecyclePolicy:LifecyclePolicy"}
"""Their `policy` is an image-expiry rule set, not an IAM document."""
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KEY = "aws:kms/key:Key"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


@dataclass(frozen=True)
class Document:
    resource: RecordedResource
    key: str
    text: str

    @property
    def label(self) -> str:
        return f"{self.resource.name} {self.key}"


@dataclass(frozen=True)
class Lint:
    document: Document
    issue: str
    detail: str
    """The finding's detail and location, as one string to match exceptions against."""


@dataclass(frozen=True)
class Exception_:
    issue: str
    applies: Callable[[Document], bool]
    detail: str
    """A regular expression the finding's detail must match (the narrower, the better)."""
    reason: str

    def covers(self, lint: Lint) -> bool:
        return lint.issue == self.issue and self.applies(lint.document) and bool(re.search(self.detail, lint.detail))


def is_trust_policy(document: Document) -> bool:
    return document.key == "assumeRolePolicy"


def is_workflow_tasks_policy(document: Document) -> bool:
    return document.resource.type == ROLE_POLICY and document.resource.name.endswith("-tasks")


def passes_roles_only_to_ecs(document: Document) -> bool:
    """Every iam:PassRole in the document names role ARNs and the iam:PassedToService condition."""
    passing = [s for s in json.loads(document.text)["Statement"] if "iam:PassRole" in s["Action"]]
    return all(
        "*" not in s["Resource"]
        and s.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService") == "ecs-tasks.amazonaws.com"
        for s in passing
    )


ACCEPTED = [
    Exception_(
        "MISMATCHED_TYPE",
        lambda d: d.resource.type == BUCKET_POLICY,
        r"s3:TlsVersion requires a value of type Numeric but given \['1\.2'\]",
        "parliament's Numeric pattern is ^\\d+$ (integers only), but s3:TlsVersion is a decimal: AWS's own example "
        "denies NumericLessThan 1.2, as the bucket's DenyOutdatedTls statement does",
    ),
    Exception_(
        "UNKNOWN_CONDITION_FOR_ACTION",
        lambda d: d.resource.type == BUCKET_POLICY,
        r"Unknown condition s3:TlsVersion for action s3:(InitiateReplication|PutAccessPointPublicAccessBlock) ",
        "the TLS-version Deny covers s3:*, and these two actions carry no s3:TlsVersion, so that one statement "
        "cannot apply to them; the aws:SecureTransport Deny, which every action carries, still refuses plain HTTP",
    ),
    Exception_(
        "CREDENTIALS_EXPOSURE",
        is_trust_policy,
        r"'actions': \['sts:assumerole'\]",
        "a trust policy exists to let its service get the role's credentials; iam-trust-pinned checks that each is "
        "pinned to our account (and source ARN)",
    ),
    Exception_(
        "CREDENTIALS_EXPOSURE",
        lambda d: d.resource.name.endswith("-execution-policy"),
        r"'actions': \['ecr:getauthorizationtoken'\]",
        "the Fargate execution role must log in to ECR to pull the worker image (AWS's "
        "AmazonECSTaskExecutionRolePolicy grants the same); the action has no resource scope",
    ),
    Exception_(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        lambda d: is_workflow_tasks_policy(d) and passes_roles_only_to_ecs(d),
        r"'actions': \[('(logs:putresourcepolicy|iam:passrole)'(, )?)+\]",
        "Step Functions' vended log delivery needs logs:PutResourcePolicy (AWS lists it, on '*', among a state "
        "machine's logging permissions); ecs:runTask.sync needs iam:PassRole, here only of the task's two roles "
        "and only to ecs-tasks.amazonaws.com",
    ),
    Exception_(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        lambda d: d.resource.type == KEY,
        r"'actions': \[('kms:(creategrant|revokegrant|retiregrant|putkeypolicy)'(, )?)+\]",
        "the account root administers the key through IAM; without kms:PutKeyPolicy the account could lock itself "
        "out of the key for good (AWS's default key policy gives the root kms:*)",
    ),
    Exception_(
        "RESOURCE_STAR",
        lambda d: d.resource.type == KEY,
        r"kms:",
        'in a key policy "Resource": "*" means this key: a key policy cannot name any other resource',
    ),
    Exception_(
        "UNKNOWN_CONDITION_FOR_ACTION",
        lambda d: d.resource.type == KEY,
        r"Unknown condition kms:EncryptionContext:aws:logs:arn for action kms:DescribeKey ",
        "AWS's documented key policy for CloudWatch Logs grants kms:Describe* under this same encryption-context "
        "condition; DescribeKey carries no context, so the condition only makes that grant inert, never wider",
    ),
    Exception_(
        "MISMATCHED_TYPE",
        lambda d: d.resource.type == KEY,
        r"ArnLike requires a value of type Arn but given String",
        "the IAM data types kms:EncryptionContext:aws:logs:arn as String, but its value is a log group ARN and "
        "AWS's CloudWatch Logs key-policy example compares it with ArnLike, as this one does",
    ),
]


def iam_documents(program: Synthesis) -> Iterator[Document]:
    for resource in program.resources:
        for key in ("policy", "assumeRolePolicy"):
            if isinstance(resource.inputs.get(key), str) and resource.type not in NOT_IAM:
                yield Document(resource, key, resource.inputs[key])


@pytest.fixture(scope="module")
def parliament() -> Any:
    """parliament with its community auditors' finding types loaded, as its CLI loads them."""
    import parliament

    parliament.override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))
    return parliament


def lint(parliament: Any, document: Document) -> list[Lint]:
    text = document.text
    if is_trust_policy(document):
        # A trust policy is the role's resource policy: its implied Resource is the role itself. parliament lints
        # documents with a Resource element, so it gets the role's ARN there.
        parsed = json.loads(text)
        for statement in parsed["Statement"]:
            statement["Resource"] = document.resource.outputs["arn"]
        text = json.dumps(parsed)
    policy = parliament.analyze_policy_string(text, include_community_auditors=True)
    findings = [parliament.enhance_finding(finding) for finding in policy.findings]
    return [Lint(document, f.issue, f"{f.detail} {f.location}") for f in findings if f.severity != "MUTE"]


def all_lints(parliament: Any, program: Synthesis) -> list[Lint]:
    return [found for document in iam_documents(program) for found in lint(parliament, document)]


def programs(stack: str) -> dict[str, Synthesis]:
    return {"program": synthesized(stack), "reference": reference_program(stack)}


@pytest.mark.parametrize("which", ["program", "reference"])
def test_every_iam_document_lints_clean_or_is_a_reasoned_exception(parliament, stack, which):
    program = programs(stack)[which]
    if which == "reference":
        assert len(list(iam_documents(program))) > 20, "the program's IAM documents were found"
    unexplained = [
        f"{found.document.label}: {found.issue} {found.detail}"
        for found in all_lints(parliament, program)
        if not any(exception.covers(found) for exception in ACCEPTED)
    ]
    assert not unexplained, "parliament findings without an exception:\n" + "\n".join(unexplained)


def test_every_exception_is_still_needed(parliament):
    lints = [
        found for stack in stack_names() for program in programs(stack).values()
        for found in all_lints(parliament, program)
    ]  # fmt: skip
    unused = [e.reason[:60] for e in ACCEPTED if not any(e.covers(found) for found in lints)]
    assert not unused, f"exceptions that no longer match any finding (remove them): {unused}"


def test_the_linter_does_catch_a_bad_document(parliament):
    """A misspelt action, a scopable action on '*' and a repeated Sid, in a document of the shape the program writes."""
    bad = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObjct"], "Resource": "arn:aws:s3:::bucket/*"},
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}  # fmt: skip
    resource = RecordedResource(
        "urn:x", ROLE_POLICY, "bad-grant", True, "", {}, {}, "id", "", False, False, [], [], False
    )
    issues = {found.issue for found in lint(parliament, Document(resource, "policy", json.dumps(bad)))}
    assert {"UNKNOWN_ACTION", "RESOURCE_STAR", "DUPLICATE_SID"} <= issues
