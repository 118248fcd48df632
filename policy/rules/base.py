"""How a rule of this pack is written: one small check function, wrapped by `resource_rule` or `stack_rule`.

A check returns messages (and, for stack rules, the URN each one is about); the wrapper filters by resource type,
reports each message, and appends the stack's written reason when its configuration relaxes the rule. Every rule
carries its severity, remediation text and the baseline controls it implements as pulumi-policy metadata, so the
CLI, `policy.evaluate` and the review report all show the same thing.

Values a preview cannot know yet raise `UnknownValueError` when read: a resource rule lets it propagate (the CLI
then reports "can't run during preview" and runs the rule again at `up`), a stack rule reads through `known()` so
that one unknown value does not silence the rule for the whole stack.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

REASON = "reason"
"""The config property in which a stack file writes why it relaxes a rule (see policy/dev.json) or narrows one
(policy/prod.json's `sfn-logging`); every violation of the rule carries it."""
RELAXABLE_TAG = "relaxable"
"""Tag of the rules a stack may make advisory: the cost-driven or disposability-driven parts of the baseline."""
COST = "cost"
DISPOSABILITY = "disposability"

ResourceCheck = Callable[[ResourceValidationArgs], Iterable[str]]
Finding = tuple[str, str | None]
"""A stack rule's message and the URN of the resource it is about (None: the stack as a whole)."""
StackCheck = Callable[[StackValidationArgs], Iterable[Finding]]


def resource_rule(
    *,
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    types: Sequence[str] | None,
    check: ResourceCheck,
    controls: Sequence[str] = (),
    relaxable: str | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceValidationPolicy:
    """A rule on single resources of `types` (None: every type): it runs before each resource is created or
    updated, so a mandatory violation stops the deployment before anything changes. `config` declares the
    properties a stack's config file may set for it, read by `check` through `args.get_config()`."""
    wanted = None if types is None else frozenset(types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if wanted is not None and args.resource_type not in wanted:
            return
        for message in check(args):
            report(_explained(message, args.get_config()), None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        severity=severity,
        remediation_steps=remediation,
        tags=_tags(controls, relaxable),
        config_schema=reason_schema(config),
    )


def stack_rule(
    *,
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    check: StackCheck,
    controls: Sequence[str] = (),
    relaxable: str | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackValidationPolicy:
    """A rule on the stack as a whole: for what no single resource shows (a bucket's companions, idle cost)."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for message, urn in check(args):
            report(_explained(message, args.get_config()), urn)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        severity=severity,
        remediation_steps=remediation,
        tags=_tags(controls, relaxable),
        config_schema=reason_schema(config),
    )


def reason_schema(extra: Mapping[str, Mapping[str, Any]] | None = None) -> PolicyConfigSchema:
    """Every rule accepts a `reason`, so a stack file that relaxes it can say why, next to the level it sets."""
    properties: dict[str, dict[str, Any]] = {
        REASON: {"type": "string", "description": "Why this stack sets this rule's enforcement level or properties"}
    }
    properties.update({key: dict(value) for key, value in (extra or {}).items()})
    return PolicyConfigSchema(properties=properties)


def _tags(controls: Sequence[str], relaxable: str | None) -> list[str]:
    return [*controls, *([f"{RELAXABLE_TAG}:{relaxable}"] if relaxable else [])]


def _explained(message: str, config: Mapping[str, Any]) -> str:
    reason = config.get(REASON)
    return f"{message} (stack config: {reason})" if reason else message


def known(props: Mapping[str, Any], *path: str | int) -> Any:
    """The value at `path`, or None when it is missing or not known yet (preview): for stack rules."""
    value: Any = props
    try:
        for key in path:
            if isinstance(key, int):
                value = value[key] if isinstance(value, Sequence) and len(value) > key else None
            else:
                value = value.get(key) if isinstance(value, Mapping) else None
            if value is None:
                return None
    except UnknownValueError:
        return None
    return value


def as_list(value: Any) -> list[Any]:
    """AWS documents take a single value or a list in most places (Action, Resource, Principal values)."""
    if value is None:
        return []
    if isinstance(value, str | Mapping):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def of_type(args: StackValidationArgs, *types: str) -> list[PolicyResource]:
    return [resource for resource in args.resources if resource.resource_type in types]


def identifiers(resource: PolicyResource, *keys: str) -> set[str]:
    """The values by which other resources refer to this one (its name, id, ARN...), where known."""
    values = {known(resource.props, key) for key in (*keys, "id", "arn", "name")}
    return {value for value in values if isinstance(value, str) and value}


def refers_to(resource: PolicyResource, prop: str, target: PolicyResource, *target_keys: str) -> bool:
    """Whether `resource.<prop>` points at `target`: by the engine's property dependencies (known even in a preview
    of new resources), else by value, else by being the only resource of its type among the dependencies."""
    dependencies = resource.property_dependencies.get(prop)
    if dependencies:
        return any(dependency.urn == target.urn for dependency in dependencies)
    value = known(resource.props, prop)
    if isinstance(value, str):
        return value in identifiers(target, *target_keys)
    same_type = [d for d in resource.dependencies if d.resource_type == target.resource_type]
    return len(same_type) == 1 and same_type[0].urn == target.urn


def plain(value: Any) -> Any:
    """A copy with every value a preview cannot know yet replaced by None: for code that reads whole documents."""
    if isinstance(value, Mapping):
        copied = {}
        for key in value:
            try:
                copied[key] = plain(value[key])
            except UnknownValueError:
                copied[key] = None
        return copied
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(None)
        return items
    return value
