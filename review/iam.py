"""Who may do what on which resource: every role with its trust and its policies' statements, and every resource
policy, with ARNs told back as the program's resource names.

Read from the recorded policy documents themselves (not from the grant calls that made them), so the summary shows
what AWS will enforce, including statements a component adds on its own.
"""

import json
from collections.abc import Iterator, Sequence
from typing import Any

from review.markdown import code, table
from review.names import ArnIndex
from synth.program import RecordedResource, Synthesis

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
RESOURCE_POLICY_TYPES = {
    "aws:s3/bucketPolicy:BucketPolicy": "bucket",
    "aws:sqs/queuePolicy:QueuePolicy": "queueUrl",
    "aws:kms/key:Key": None,
}
"""Resource policies and the input naming the resource they guard (None: the policy's own resource)."""


def roles_table(synthesis: Synthesis) -> list[str]:
    """One row per statement of every role's inline policies; the role's trust on its first row."""
    index = ArnIndex.of(synthesis)
    rows: list[list[str]] = []
    for role in sorted(synthesis.of_type(ROLE), key=lambda r: r.name):
        statements = list(_role_statements(synthesis, role))
        trust = "; ".join(_trust(role, index)) or "nobody"
        head = [f"{code(role.name)}<br>{_owner(synthesis, role)}", trust]
        if not statements:
            rows.append([*head, "nothing", ""])
        for number, (policy, statement, repeats) in enumerate(_collapsed(statements)):
            rows.append([*(head if number == 0 else ["", ""]), *_may(policy, statement, repeats, index)])
    return table(["role (used by)", "assumed by", "may", "on"], rows)


def resource_policies_table(synthesis: Synthesis) -> list[str]:
    """Who else may act on a resource: bucket, queue and key policies, statement by statement."""
    index = ArnIndex.of(synthesis)
    rows = []
    for resource in sorted(synthesis.resources, key=lambda r: (r.type, r.name)):
        if resource.type not in RESOURCE_POLICY_TYPES or not isinstance(resource.inputs.get("policy"), str):
            continue
        guarded = _guarded(resource, index)
        for statement in _statements(resource.inputs["policy"]):
            rows.append([
                guarded, statement.get("Effect", ""), _principal(statement.get("Principal")),
                ", ".join(_list(statement.get("Action"))), _condition(statement.get("Condition"), index),
            ])  # fmt: skip
    return table(["resource", "effect", "principal", "actions", "condition"], rows) if rows else []


def _role_statements(synthesis: Synthesis, role: RecordedResource) -> Iterator[tuple[str, dict[str, Any]]]:
    names = {role.inputs.get("name"), role.id}
    policies = [p for p in synthesis.of_type(ROLE_POLICY) if p.inputs.get("role") in names]
    for policy in sorted(policies, key=lambda p: p.name):
        for statement in _statements(policy.inputs.get("policy", "{}")):
            yield policy.name, statement
    for attachment in synthesis.of_type(ATTACHMENT):
        if attachment.inputs.get("role") in names:
            yield attachment.name, {"Effect": "Allow", "Action": ["(managed policy)"],
                                    "Resource": [attachment.inputs.get("policyArn", "")]}  # fmt: skip


def _collapsed(
    statements: list[tuple[str, dict[str, Any]]],
) -> list[tuple[str, dict[str, Any], int]]:
    """Identical statements of one policy once, with how many times they appear (a workflow's role gets one
    statement per state that needs it)."""
    counted: dict[str, tuple[str, dict[str, Any], int]] = {}
    for policy, statement in statements:
        same = policy + json.dumps({k: v for k, v in statement.items() if k != "Sid"}, sort_keys=True)
        previous = counted.get(same)
        counted[same] = (policy, statement, previous[2] + 1 if previous else 1)
    return list(counted.values())


def _may(policy: str, statement: dict[str, Any], repeats: int, index: ArnIndex) -> list[str]:
    actions = ", ".join(code(a) for a in _list(statement.get("Action")))
    if repeats > 1:
        actions += f" ({repeats} identical statements)"
    effect = "" if statement.get("Effect") == "Allow" else f"**{statement.get('Effect')}** "
    resources = [index.label(r) for r in _list(statement.get("Resource"))]
    where = ", ".join(code(r) for r in resources)
    if resources == ["*"] and statement.get("Sid"):
        where += f" ({statement['Sid']})"
    condition = _condition(statement.get("Condition"), index)
    return [f"{effect}{actions}", where + (f" if {condition}" if condition else "") + f"<br><sub>{policy}</sub>"]


def _trust(role: RecordedResource, index: ArnIndex) -> Iterator[str]:
    for statement in _statements(role.inputs.get("assumeRolePolicy", "{}")):
        who = _principal(statement.get("Principal"))
        condition = _condition(statement.get("Condition"), index)
        yield f"{who} if {condition}" if condition else who


def _owner(synthesis: Synthesis, role: RecordedResource) -> str:
    parent = next((r for r in synthesis.resources if r.urn == role.parent), None)
    if parent is None or parent.custom:
        return "the stack"
    return f"{parent.name} ({parent.type.rsplit(':', 1)[-1]})"


def _guarded(resource: RecordedResource, index: ArnIndex) -> str:
    field = RESOURCE_POLICY_TYPES[resource.type]
    if field is None:
        return code(resource.name)
    target = str(resource.inputs.get(field, ""))
    found = index.find(target)
    if found is None:
        queue = next((r for r in index.by_arn.values() if r.outputs.get("url") == target), None)
        return code(queue.name if queue else target)
    return code(found[0].name)


def _principal(principal: Any) -> str:
    if principal is None:
        return ""
    if principal == "*":
        return "anyone"
    if isinstance(principal, dict):
        return ", ".join("anyone" if v == "*" else str(v) for values in principal.values() for v in _list(values))
    return str(principal)


def _condition(condition: dict[str, Any] | None, index: ArnIndex) -> str:
    """`aws:SourceArn ArnLike on-upload-rule; aws:SourceAccount StringEquals 123456789012`."""
    if not condition:
        return ""
    parts = []
    for operator, pairs in sorted(condition.items()):
        for key, value in sorted(pairs.items()):
            values = ", ".join(index.label(str(v)) for v in _list(value))
            parts.append(f"{key} {operator} {values}")
    return "; ".join(parts)


def _statements(document: str) -> list[dict[str, Any]]:
    statements = json.loads(document).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _list(value: Any) -> Sequence[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
