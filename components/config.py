"""Typed, validated configuration objects read from a stack file: the one loader behind the platform's environment
profile (components/profile.py) and an application's own settings (app/settings.py).

A section is a frozen dataclass whose fields are declared with `setting(default, doc, bounds...)`; YAML keys are the
camelCase form of the field names (`log_retention_days` -> `logRetentionDays`, `lambda_` -> `lambda`). Bad config
fails before any resource is declared, with every problem listed by key, value and what is allowed.
"""

import dataclasses
import difflib
import enum
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import field
from typing import Any

import pulumi

TAG_KEY = re.compile(r"^(?!aws:)[\w .:/=+\-@]{1,128}$")
TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{0,256}$")


class ConfigError(pulumi.RunError):
    """Stack configuration that cannot be deployed. `RunError` makes the Pulumi CLI print it without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {problem}" for problem in problems))


def setting(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
            choices: tuple[Any, ...] | None = None, pattern: re.Pattern[str] | None = None,
            expected: str | None = None, required: str | None = None, min_items: int = 1) -> Any:  # fmt: skip
    """A dataclass field carrying its documentation and the bounds the loader enforces: for a string, the `pattern`
    it must match and the `expected` description of one; `required` makes the key mandatory in the stack file and
    says why and how to set it (the default then only serves profiles built in code); a list holds at least
    `min_items` items."""
    meta = {"doc": doc, "low": low, "high": high, "choices": choices, "pattern": pattern, "expected": expected,
            "required": required, "min_items": min_items}  # fmt: skip
    if isinstance(default, (dict, list)) or dataclasses.is_dataclass(default):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


def current_config() -> dict[str, Any]:
    """The running stack's configuration, JSON objects decoded."""
    raw = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    return {key: decode(value) for key, value in raw.items()}


def load_section(cls: type, config: Mapping[str, Any], namespace: str, key: str, problems: list[str]) -> Any:
    """Parse `<namespace>:<key>` of `config` into `cls`, adding every problem to `problems` (an unknown key of the
    namespace included)."""
    unknown = [name for name in config if name.split(":", 1)[0] == namespace and name.split(":", 1)[1] != key]
    problems.extend(unknown_key_problem(name, [f"{namespace}:{key}"]) for name in unknown)
    return parse_section(cls, decode(config.get(f"{namespace}:{key}", {})), f"{namespace}:{key}", problems)


def yaml_key(field_name: str) -> str:
    head, *rest = field_name.rstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def unknown_key_problem(path: str, allowed: list[str]) -> str:
    leaf = path.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(leaf, [a.rsplit(".", 1)[-1] for a in allowed], n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{path}: unknown key{hint}; allowed keys: {', '.join(allowed)}"


def parse_section(cls: type, raw: Any, path: str, problems: list[str], exclude: frozenset[str] = frozenset()) -> Any:
    """`raw` (camelCase keys) as a `cls`; fields named in `exclude` are neither read nor required."""
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: {raw!r} is not allowed; expected an object")
        return cls()
    fields = {yaml_key(f.name): f for f in dataclasses.fields(cls) if f.name not in exclude}
    problems.extend(
        unknown_key_problem(f"{path}.{key}", [f"{path}.{k}" for k in fields]) for key in raw if key not in fields
    )
    problems.extend(
        f"{path}.{key}: missing; {spec.metadata['required']}"
        for key, spec in fields.items()
        if spec.metadata.get("required") and key not in raw
    )
    hints = typing.get_type_hints(cls)
    values = {}
    for key, spec in fields.items():
        if key in raw:
            known = len(problems)
            value = _parse_value(hints[spec.name], spec.metadata, raw[key], f"{path}.{key}", problems)
            if len(problems) == known:  # a bad value keeps its default so that every other problem is still found
                values[spec.name] = value
    try:
        return cls(**values)
    except ConfigError as error:
        problems.extend(error.problems)
        return cls()


def _parse_value(hint: Any, meta: Mapping[str, Any], value: Any, path: str, problems: list[str]) -> Any:
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    if optional:
        if value is None:
            return None
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if dataclasses.is_dataclass(hint):
        return parse_section(hint, value, path, problems)
    if typing.get_origin(hint) is dict:
        return _parse_tags(value, path, problems)
    if typing.get_origin(hint) is tuple:
        return _parse_sizes(typing.get_args(hint)[0], meta, value, path, problems)
    parsed, expected = _coerce(hint, meta, value)
    if parsed is None:
        nullable = " or null" if optional else ""
        problems.append(f"{path}: {value!r} is not allowed; expected {expected}{nullable}")
    return parsed


def _coerce(hint: Any, meta: Mapping[str, Any], value: Any) -> tuple[Any, str]:
    """Return (parsed value or None, description of what is allowed)."""
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [member.value for member in hint]
        return (hint(value) if value in allowed else None), f"one of {', '.join(map(str, allowed))}"
    if hint is bool:
        return (value if isinstance(value, bool) else None), "true or false"
    if hint is str:
        pattern = meta.get("pattern")
        ok = isinstance(value, str) and (bool(pattern.match(value)) if pattern else bool(value))
        return (value if ok else None), meta.get("expected") or "a non-empty string"
    choices = meta.get("choices")
    if choices:
        ok = isinstance(value, int) and not isinstance(value, bool) and value in choices
        return (value if ok else None), f"one of {', '.join(map(str, choices))}"
    low, high = meta.get("low"), meta.get("high")
    number_types = (int,) if hint is int else (int, float)
    kind = "an integer" if hint is int else "a number"
    ok = isinstance(value, number_types) and not isinstance(value, bool) and low <= value <= high
    return (hint(value) if ok else None), f"{kind} from {low:g} to {high:g}"


def _parse_sizes(item: Any, meta: Mapping[str, Any], value: Any, path: str, problems: list[str]) -> tuple:
    """A list of at least the field's `min_items` items, each obeying the field's bounds."""
    min_items = meta.get("min_items", 1)
    if not isinstance(value, list) or len(value) < min_items:
        why = f"; {meta['required']}" if meta.get("required") else ""
        kind = "a list" if not min_items else "a non-empty list" if min_items == 1 else f"{min_items} items or more"
        problems.append(f"{path}: {value!r} is not allowed; expected {kind}{why}")
        return ()
    parsed = []
    for index, element in enumerate(value):
        result, expected = _coerce(item, meta, element)
        if result is None:
            problems.append(f"{path}[{index}]: {element!r} is not allowed; expected {expected}")
        parsed.append(result)
    return tuple(parsed)


def _parse_tags(value: Any, path: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        problems.append(f"{path}: {value!r} is not allowed; expected an object of tag names to string values")
        return {}
    for key, tag_value in value.items():
        if not TAG_KEY.match(str(key)):
            problems.append(f"{path}.{key}: tag name is not allowed; expected 1-128 characters, not starting 'aws:'")
        if not isinstance(tag_value, str) or not TAG_VALUE.match(tag_value):
            problems.append(f"{path}.{key}: {tag_value!r} is not allowed; expected a string of up to 256 characters")
    return {str(k): str(v) for k, v in value.items()}


def camel_keys(value: Any) -> Any:
    """Plain data with snake_case keys (a component's args) in the stack file's camelCase form. Tag names are data."""
    if isinstance(value, Mapping):
        return {yaml_key(str(key)) if key != "tags" else key: _camel_value(key, item) for key, item in value.items()}
    return value


def _camel_value(key: Any, item: Any) -> Any:
    if key == "tags":
        return dict(item) if isinstance(item, Mapping) else item
    if isinstance(item, (list, tuple)):
        return [camel_keys(element) for element in item]
    return camel_keys(item)


def plain(section: Any, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A section as plain data with snake_case keys: enums as their values, tuples as lists, None left out."""
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(section):
        value = getattr(section, spec.name)
        if spec.name in exclude or value is None:
            continue
        if dataclasses.is_dataclass(value):
            value = plain(value)
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        values[spec.name] = value
    return values
