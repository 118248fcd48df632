"""IAM building blocks shared by the components: statements, policy documents and the grantee protocol.

Grants are intent-level methods on the resource that owns the permission (`bucket.grant_read(fn)`,
`table.grant_update(fn)`, `function.grant_invoke(workflow)`), backed by named action lists; each grant becomes one
inline policy on the grantee's role, named after the grant, so a reviewer sees exactly which grant produced which
statement. The raw statements of any grant come from the same method, granted to `Permissions` (a task
integration's, a resource policy's): `statements_of(table.grant_update)`.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict, cast, runtime_checkable

import pulumi
import pulumi_aws as aws

Condition = Mapping[str, Mapping[str, pulumi.Input[str] | Sequence[pulumi.Input[str]]]]


class PolicyStatement(TypedDict):
    """One Allow statement as plain data (`Statement.args`), for args that carry permissions: a Workflow's tasks."""

    actions: list[str]
    """IAM actions, each named in full (no wildcards), e.g. `lambda:InvokeFunction`."""
    resources: list[pulumi.Input[str]]
    """The ARNs the actions apply to (at least one)."""
    sid: NotRequired[str]
    """The statement's id; a policy numbers repeated ids. Default: none."""
    conditions: NotRequired[dict[str, dict[str, Any]]]
    """IAM condition block, operator -> condition key -> value or list of values, e.g.
    `{"StringLike": {"s3:prefix": ["uploads/*"]}}`. Default: none."""


@dataclass(frozen=True)
class Statement:
    """One Allow statement. Actions are always explicit names (no wildcards); resources are ARNs."""

    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    sid: str | None = None
    conditions: Condition = field(default_factory=dict)

    def __post_init__(self) -> None:
        wildcards = [action for action in self.actions if "*" in action]
        if wildcards:
            raise ValueError(f"wildcard actions are not allowed, name each action: {wildcards}")
        if not self.actions or not self.resources:
            raise ValueError("a statement needs at least one action and one resource")

    @property
    def args(self) -> PolicyStatement:
        """This statement as plain data, for a component's args (`WorkflowArgs.statements`)."""
        plain: PolicyStatement = {"actions": list(self.actions), "resources": list(self.resources)}
        if self.sid:
            plain["sid"] = self.sid
        if self.conditions:
            plain["conditions"] = {operator: dict(keys) for operator, keys in self.conditions.items()}
        return plain

    @classmethod
    def from_args(cls, args: PolicyStatement) -> "Statement":
        """The statement `args` describes, checked as any other (ValueError for wildcards or an empty list)."""
        return cls(
            actions=tuple(args["actions"]),
            resources=tuple(args["resources"]),
            sid=args.get("sid"),
            conditions=args.get("conditions") or {},
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Effect": "Allow",
            "Action": sorted(set(self.actions)),
            "Resource": list(self.resources),
        }
        if self.sid:
            body["Sid"] = self.sid
        if self.conditions:
            body["Condition"] = self.conditions
        return body


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A JSON policy document; resources may be Outputs. Statements gathered from several sources (a workflow's
    states) may repeat: exact repeats are dropped and repeated Sids numbered, since IAM refuses a policy whose Sids
    are not unique (MalformedPolicyDocument)."""
    document = {"Version": "2012-10-17", "Statement": [statement.to_json() for statement in statements]}
    return pulumi.Output.from_input(document).apply(
        lambda resolved: json.dumps(resolved | {"Statement": _unique(resolved["Statement"])}, sort_keys=True)
    )


def _unique(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for statement in statements:
        if statement not in kept:
            kept.append(statement)
    seen: dict[str, int] = {}
    for statement in kept:
        sid = statement.get("Sid")
        if sid:
            seen[sid] = seen.get(sid, 0) + 1
            if seen[sid] > 1:
                statement["Sid"] = f"{sid}{seen[sid]}"
    return kept


def deny_insecure_transport(action: str, resource: str | list[str]) -> dict[str, Any]:
    """A resource policy statement refusing every request not made over TLS, whoever makes it."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def trust_policy(service: str, source_account: pulumi.Input[str], source_arn: pulumi.Input[str] | None = None) -> Any:
    """A role trust policy for one AWS service, pinned to our account (and source ARN) against confused deputies."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": source_account}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ],
    }
    return pulumi.Output.from_input(document).apply(lambda resolved: json.dumps(resolved, sort_keys=True))


@runtime_checkable
class Grantable(Protocol):
    """Anything with an IAM role that grants can extend: a Function, a Workflow, an event rule."""

    role: aws.iam.Role

    def add_to_role_policy(self, grant_name: str, statements: Sequence[Statement]) -> aws.iam.RolePolicy | None: ...


class Permissions:
    """A grantee that keeps the statements instead of attaching them to a role."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    def add_to_role_policy(self, grant_name: str, statements: Sequence[Statement]) -> None:
        self.statements.extend(statements)


def statements_of(grant: Callable[[Permissions], object]) -> list[Statement]:
    """The statements a grant method gives: `statements_of(bucket.grant_read)`, or with a lambda for options."""
    permissions = Permissions()
    grant(permissions)
    return permissions.statements


class RoleOwner:
    """Mixin for components that own a role: each grant becomes one inline policy named `<component>-<grant>`."""

    if TYPE_CHECKING:  # for type checkers only: a class-level annotation would be an output in the package schema
        role: aws.iam.Role
        logical_name: str

    def add_to_role_policy(self, grant_name: str, statements: Sequence[Statement]) -> aws.iam.RolePolicy:
        return aws.iam.RolePolicy(
            f"{self.logical_name}-{grant_name}",
            role=self.role.id,
            policy=policy_document(statements),
            opts=pulumi.ResourceOptions(parent=cast(pulumi.Resource, self)),
        )
