"""Stack-independent names for resources, and ARNs told back as the resources they belong to.

A URN holds the stack's name (`urn:pulumi:dev::...`), so dev and prod would never compare equal; the key used here
is the URN's qualified type and name only. ARNs in policies and definitions are read back as the logical name of
the resource they point into (`uploads-bucket/uploads/*`), which is what a reviewer knows the program by.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from synth.program import RecordedResource, Synthesis

ARN_FIELDS = ("arn", "arnWithoutRevision")
NAME_FIELDS = ("bucket", "name")
"""Outputs that name a resource inside other resources' inputs (an S3 bucket's ARN holds its name)."""
NAMED_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:dynamodb/table:Table", "aws:lambda/function:Function",
                         "aws:sfn/stateMachine:StateMachine", "aws:sqs/queue:Queue", "aws:rds/cluster:Cluster",
                         "aws:ecs/cluster:Cluster", "aws:ecr/repository:Repository"})  # fmt: skip
"""Types whose physical name is distinctive enough to match as a whole string."""
REGIONAL_ARN = re.compile(r"^arn:aws:([a-z0-9-]+):[a-z0-9-]*:\d{12}:")


STACK_TYPE = "pulumi:pulumi:Stack$"
"""The mocks put the root stack's type in front of top-level resources' types; the Pulumi engine does not."""


def key(urn: str) -> str:
    """`platform:index:Bucket$aws:s3/bucket:Bucket::uploads-bucket`: the URN without stack and project."""
    parts = urn.split("::")
    return "::".join(parts[2:]).removeprefix(STACK_TYPE) if len(parts) >= 4 else urn


def short(urn: str) -> str:
    """`aws:s3/bucket:Bucket uploads-bucket`: the resource's own type and name, for a table cell."""
    parts = urn.split("::")
    if len(parts) < 4:
        return urn
    return f"{parts[2].rsplit('$', 1)[-1]} {parts[3]}"


@dataclass
class ArnIndex:
    """Every ARN and distinctive name the program's resources answer to, longest first for prefix matches."""

    by_arn: dict[str, RecordedResource] = field(default_factory=dict)
    by_name: dict[str, RecordedResource] = field(default_factory=dict)

    @classmethod
    def of(cls, synthesis: Synthesis) -> "ArnIndex":
        index = cls()
        for resource in synthesis.resources:
            if resource.is_provider or not resource.type.startswith("aws:"):
                continue
            for name in ARN_FIELDS:
                if isinstance(resource.outputs.get(name), str):
                    index.by_arn.setdefault(resource.outputs[name], resource)
            if resource.type in NAMED_TYPES:
                for name in NAME_FIELDS:
                    if isinstance(resource.outputs.get(name), str):
                        index.by_name.setdefault(resource.outputs[name], resource)
        index.by_arn = dict(sorted(index.by_arn.items(), key=lambda item: -len(item[0])))
        return index

    def find(self, text: str) -> tuple[RecordedResource, str] | None:
        """The resource `text` names or points into, and the rest of `text` after its ARN (`/uploads/*`)."""
        if text in self.by_name:
            return self.by_name[text], ""
        for arn, resource in self.by_arn.items():
            if text == arn or (text.startswith(arn) and text[len(arn)] in "/:"):
                return resource, text[len(arn) :]
        return None

    def label(self, text: str) -> str:
        """An ARN as a reader knows it: `uploads-bucket/uploads/*`, or the ARN without partition, region and
        account when it is not one of the program's resources."""
        found = self.find(text)
        if found:
            resource, rest = found
            return f"{resource.name}{rest}"
        return REGIONAL_ARN.sub(r"\1:", text)

    def mentions(self, value: object) -> Iterator[RecordedResource]:
        """Every resource named anywhere in `value` (nested dicts, lists, and JSON documents held as text)."""
        for text in strings(value):
            found = self.find(text)
            if found:
                yield found[0]


def strings(value: object) -> Iterator[str]:
    """Every string leaf of a nested value; text that is a JSON object or array is read as one."""
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        parsed = parse_json(value)
        if parsed is None:
            yield value
        else:
            yield from strings(parsed)


def parse_json(text: str) -> dict | list | None:
    """The JSON object or array `text` holds, or None: policies, definitions and patterns arrive as text."""
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None
