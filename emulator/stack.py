"""Which program the local cloud runs: a stack's configuration, optionally with profile settings overridden
(`--set lambda.memoryMb=256`), synthesized by the real program under mocks (`synth.program`).

Overrides go through the program's own validation: a bad value fails the synthesis with the program's message,
exactly as it would in the stack file. An override that is not a setting path at all (no `=`, or a path through
a value that is not a section) is an OverrideError, raised before anything is synthesized.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.profile import CONFIG_NAMESPACE, PROFILE_KEY
from synth.program import Synthesis, stack_config, synthesize

PROFILE_CONFIG_KEY = f"{CONFIG_NAMESPACE}:{PROFILE_KEY}"
DEFAULT_REGION = "us-east-1"


class OverrideError(ValueError):
    """A `--set` that cannot be applied to the profile: the message quotes it and says what was expected."""


@dataclass(frozen=True)
class Program:
    stack: str
    region: str
    synthesis: Synthesis
    overrides: Mapping[str, Any]


def parse_overrides(assignments: Sequence[str]) -> dict[str, Any]:
    """`key.path=value` pairs; the value is JSON when it parses as JSON (`256`, `true`, `null`), else a string."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        path, separator, raw = assignment.partition("=")
        if not separator or not path:
            raise OverrideError(f"{assignment!r} is not key.path=value (e.g. lambda.memoryMb=256)")
        try:
            overrides[path] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[path] = raw
    return overrides


def synthesize_stack(stack: str, overrides: Mapping[str, Any] | None = None) -> Program:
    """The stack's program as the local cloud deploys it; an override that crosses a value which is not a section
    raises OverrideError before the synthesis starts."""
    overrides = dict(overrides or {})
    config = stack_config(stack)
    if overrides:
        profile = json.loads(config.get(PROFILE_CONFIG_KEY, "{}"))
        for path, value in overrides.items():
            _assign(profile, path.split("."), value)
        config[PROFILE_CONFIG_KEY] = json.dumps(profile)
    synthesis = synthesize(stack, config=config)
    return Program(stack, config.get("aws:region", DEFAULT_REGION), synthesis, overrides)


def _assign(target: dict[str, Any], path: list[str], value: Any) -> None:
    for name in path[:-1]:
        child = target.setdefault(name, {})
        if not isinstance(child, dict):
            raise OverrideError(f"{PROFILE_CONFIG_KEY}.{'.'.join(path)}: {name} is not a section")
        target = child
    target[path[-1]] = value
