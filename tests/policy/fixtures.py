"""Deliberately bad stacks for the policy tests: a recorded stack with one resource changed or removed."""

import copy
from collections.abc import Iterable
from typing import Any

from policy.evaluate import PolicyResult
from synth.program import RecordedResource, Synthesis

REMOVE = object()
"""Marks an input to delete in `changed`."""


def name_of(urn: str | None) -> str:
    return (urn or "").rsplit("::", 1)[-1]


def find(program: Synthesis, name: str) -> RecordedResource:
    found = [r for r in program.resources if r.name == name]
    assert len(found) == 1, f"expected one resource named {name!r}, found {len(found)}"
    return found[0]


def changed(program: Synthesis, name: str, **inputs: Any) -> Synthesis:
    """A copy of `program` in which resource `name` has these inputs (and the same outputs, as the mocks echo
    inputs into state); `REMOVE` deletes one."""
    copied = copy.deepcopy(program)
    resource = find(copied, name)
    for key, value in inputs.items():
        for values in (resource.inputs, resource.outputs):
            if value is REMOVE:
                values.pop(key, None)
            else:
                values[key] = copy.deepcopy(value)
    return copied


def without(program: Synthesis, *names: str) -> Synthesis:
    copied = copy.deepcopy(program)
    for name in names:
        find(copied, name)
    copied.resources = [r for r in copied.resources if r.name not in names]
    return copied


def violations(results: Iterable[PolicyResult], rule: str) -> list[PolicyResult]:
    return [result for result in results if result.policy == rule]
