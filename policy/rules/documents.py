"""Reading IAM policy documents as the program declares them: JSON text (or an object) in a `policy` or
`assumeRolePolicy` input, with AWS's single-value-or-list shorthand everywhere."""

import json
from collections.abc import Mapping
from typing import Any

from .base import as_list

IDENTITY_POLICY_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
RESOURCE_POLICY_TYPES = (
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:kms/key:Key",
)
ROLE = "aws:iam/role:Role"
SOURCE_CONDITION_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:sourcevpce",
        "aws:sourcevpc",
    }
)
"""Condition keys that narrow a `*` principal to a caller we know (a service acting for one resource or account)."""


def parse(value: Any) -> dict[str, Any] | None:
    """The document, or None when there is none (or it is not JSON: the provider would refuse it anyway)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.strip():
        try:
            document = json.loads(value)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
    return None


def statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not document:
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def identity_documents(resource_type: str, props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Identity policies: a policy resource's document, or a role's inline policies."""
    if resource_type in IDENTITY_POLICY_TYPES:
        document = parse(props.get("policy"))
        return [document] if document else []
    if resource_type == ROLE:
        inline = [parse(p.get("policy")) for p in as_list(props.get("inlinePolicies")) if isinstance(p, Mapping)]
        return [document for document in inline if document]
    return []


def actions(statement: Mapping[str, Any]) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str)]


def resources(statement: Mapping[str, Any]) -> list[str]:
    return [r for r in as_list(statement.get("Resource")) if isinstance(r, str)]


def is_allow(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def principals(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """`{"Service": [...], "AWS": [...]}`; a bare `"*"` principal is returned as `{"*": ["*"]}`."""
    principal = statement.get("Principal")
    if principal == "*":
        return {"*": ["*"]}
    if isinstance(principal, Mapping):
        return {str(kind): [str(v) for v in as_list(values)] for kind, values in principal.items()}
    return {}


def is_anyone(statement: Mapping[str, Any]) -> bool:
    """`"Principal": "*"` or `{"AWS": "*"}`: every principal of every account, and anonymous callers."""
    found = principals(statement)
    return "*" in found or "*" in found.get("AWS", [])


def condition_keys(statement: Mapping[str, Any]) -> set[str]:
    """Every condition key the statement tests, lower-cased (IAM compares them case-insensitively)."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return set()
    return {str(key).lower() for block in condition.values() if isinstance(block, Mapping) for key in block}


def condition_value(statement: Mapping[str, Any], operator: str, key: str) -> list[str]:
    condition = statement.get("Condition")
    block = condition.get(operator) if isinstance(condition, Mapping) else None
    if not isinstance(block, Mapping):
        return []
    matches = [value for name, value in block.items() if str(name).lower() == key.lower()]
    return [str(v).lower() for value in matches for v in as_list(value)]
