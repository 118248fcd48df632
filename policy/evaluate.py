"""Run every rule of the pack over a mock-recorded stack, the way the Pulumi CLI would run the pack over it.

The CLI hands each resource's inputs to the resource rules before the resource is created, and every resource's
state to the stack rules at the end; here the same pulumi-policy objects are built by hand from
`synth.program.Synthesis` (inputs for resource rules; outputs plus the id for stack rules, with parents and
dependencies linked), and the stack's enforcement comes from `policy/<stack>.json` resolved as the CLI resolves
`--policy-pack-config`. A stack without a config file gets the pack's defaults: every rule mandatory, production
allowances, as a new stack file gets the profile's safe defaults.

Public API (used by the tests and the offline review report):
    evaluate(synthesis, stack) -> list[PolicyResult]     every violation, with its stack's enforcement
    rule_table(stack) -> list[RuleInfo]                   every rule with its enforcement and reason in that stack
    load_config(stack) -> dict[str, RuleConfig]           the resolved per-rule configuration
"""

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi.output import Unknown
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from .rules import ALL_POLICIES
from .rules.base import REASON, RELAXABLE_TAG

if TYPE_CHECKING:
    from synth.program import RecordedResource, Synthesis

POLICY_DIR = Path(__file__).resolve().parent
PACK_DEFAULT = EnforcementLevel.MANDATORY
"""The level `policy/__main__.py` gives the pack: what a rule gets when no config file says otherwise."""
ALL = "all"
"""The CLI's config key that sets every rule's level at once (before per-rule entries)."""


@dataclass(frozen=True)
class PolicyResult:
    """One violation: which rule, how serious, what the stack's config makes of it, where, and how to fix it."""

    policy: str
    severity: str
    enforcement: str
    """'mandatory' (blocks `pulumi up`), 'advisory' (a warning) or 'disabled' (reported here only, not by the CLI)."""
    urn: str | None
    """The resource at fault; None when the violation is about the stack as a whole."""
    message: str
    remediation: str


@dataclass(frozen=True)
class RuleConfig:
    enforcement: str
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        return self.properties.get(REASON)


@dataclass(frozen=True)
class RuleInfo:
    name: str
    kind: str
    """'resource' or 'stack'."""
    description: str
    severity: str
    enforcement: str
    remediation: str
    controls: list[str]
    relaxable: str | None
    """'cost' or 'disposability' when a stack may make the rule advisory; None for rules every stack must pass."""
    reason: str | None


def config_path(stack: str) -> Path:
    return POLICY_DIR / f"{stack}.json"


def load_config(stack: str) -> dict[str, RuleConfig]:
    """The configuration `--policy-pack-config policy/<stack>.json` gives each rule (pack defaults if no file)."""
    path = config_path(stack)
    return resolve_config(json.loads(path.read_text()) if path.exists() else {})


def resolve_config(raw: Mapping[str, Any], policies: Sequence[Policy] = ALL_POLICIES) -> dict[str, RuleConfig]:
    """Apply a config document the way the CLI does (defaults, then `all`, then each rule), and refuse what the
    CLI would silently ignore: unknown rule names and properties a rule does not declare."""
    by_name = {policy.name: policy for policy in policies}
    unknown = sorted(set(raw) - set(by_name) - {ALL})
    if unknown:
        raise ValueError(f"policy config names rules that do not exist: {unknown}; rules are {sorted(by_name)}")
    every = _level(raw[ALL], ALL) if ALL in raw else None
    resolved = {}
    for name, policy in by_name.items():
        level = every or (policy.enforcement_level or PACK_DEFAULT).value
        properties = _schema_defaults(policy)
        given = raw.get(name)
        if isinstance(given, str):
            level = _level(given, name)
        elif isinstance(given, Mapping):
            level = _level(given["enforcementLevel"], name) if "enforcementLevel" in given else level
            properties.update({k: v for k, v in given.items() if k != "enforcementLevel"})
        elif given is not None:
            raise ValueError(f"policy config for {name!r} must be a level or an object, not {given!r}")
        _check_properties(policy, properties)
        resolved[name] = RuleConfig(level, properties)
    return resolved


def _level(value: Any, name: str) -> str:
    levels = {level.value for level in EnforcementLevel}
    if value not in levels:
        raise ValueError(f"policy config for {name!r}: {value!r} is not an enforcement level ({sorted(levels)})")
    return EnforcementLevel.MANDATORY.value if value == EnforcementLevel.REMEDIATE.value else value


def _schema_defaults(policy: Policy) -> dict[str, Any]:
    schema = policy.config_schema.properties if policy.config_schema else {}
    return {key: spec["default"] for key, spec in schema.items() if "default" in spec}


def _check_properties(policy: Policy, properties: Mapping[str, Any]) -> None:
    declared = set(policy.config_schema.properties) if policy.config_schema else set()
    undeclared = sorted(set(properties) - declared)
    if undeclared:
        raise ValueError(f"policy config for {policy.name!r} sets {undeclared}; the rule declares {sorted(declared)}")


def rule_table(stack: str) -> list[RuleInfo]:
    """Every rule, with what the stack's configuration makes of it: the catalogue a review report shows."""
    config = load_config(stack)
    return [_info(policy, config[policy.name]) for policy in ALL_POLICIES]


def _info(policy: Policy, config: RuleConfig) -> RuleInfo:
    tags = policy.tags or []
    relaxable = next((t.split(":", 1)[1] for t in tags if t.startswith(f"{RELAXABLE_TAG}:")), None)
    return RuleInfo(
        name=policy.name,
        kind="stack" if isinstance(policy, StackValidationPolicy) else "resource",
        description=policy.description,
        severity=policy.severity.value if policy.severity else "unspecified",
        enforcement=config.enforcement,
        remediation=policy.remediation_steps or "",
        controls=[t for t in tags if not t.startswith(f"{RELAXABLE_TAG}:")],
        relaxable=relaxable,
        reason=config.reason,
    )


def evaluate(synthesis: "Synthesis", stack: str, *, config: Mapping[str, Any] | None = None) -> list[PolicyResult]:
    """Run every rule over the recorded stack; `config` replaces policy/<stack>.json (a raw config document).

    Disabled rules run too, and their violations come back with enforcement 'disabled', so a report can show
    what a stack has switched off; the CLI would not run them. A rule that reads a value the preview cannot know
    yet comes back advisory with the CLI's "can't run during preview" message."""
    resolved = resolve_config(config) if config is not None else load_config(stack)
    recorded = _Recorded(synthesis)
    results: list[PolicyResult] = []
    for policy in ALL_POLICIES:
        rule_config = resolved[policy.name]
        if isinstance(policy, ResourceValidationPolicy):
            for resource in synthesis.resources:
                args = recorded.resource_args(resource, rule_config.properties)
                results += _validate(policy, rule_config, args, resource.urn)
        elif isinstance(policy, StackValidationPolicy):
            args = StackValidationArgs(recorded.stack_resources, dict(rule_config.properties), {})
            results += _validate(policy, rule_config, args, None)
    return results


class _Recorded:
    """The pulumi-policy view of a synthesis, built once and shared by every rule (rules only read it)."""

    def __init__(self, synthesis: "Synthesis") -> None:
        self._by_urn = {resource.urn: resource for resource in synthesis.resources}
        self._inputs = {resource.urn: _props(resource.inputs) for resource in synthesis.resources}
        self._providers = {resource.urn: _provider(resource, self._by_urn) for resource in synthesis.resources}
        self.stack_resources = _stack_resources(synthesis)

    def resource_args(self, resource: "RecordedResource", properties: Mapping[str, Any]) -> ResourceValidationArgs:
        return ResourceValidationArgs(
            resource.type,
            self._inputs[resource.urn],
            resource.urn,
            resource.name,
            _options(resource),
            self._providers[resource.urn],
            dict(properties),
            {},
        )


def _validate(policy: Policy, config: RuleConfig, args: Any, default_urn: str | None) -> list[PolicyResult]:
    """Call the rule as the pulumi-policy servicer does, collecting what it reports."""
    results: list[PolicyResult] = []

    def report(message: str, urn: str | None = None) -> None:
        results.append(_result(policy, config.enforcement, urn or default_urn, message))

    try:
        outcome = policy.validate(args, report)  # type: ignore[attr-defined]
        if isawaitable(outcome):
            asyncio.run(_await(outcome))
    except UnknownValueError as error:
        message = f"can't run policy {policy.name!r} during preview: {error.message}"
        results.append(_result(policy, EnforcementLevel.ADVISORY.value, default_urn, message))
    return results


async def _await(outcome: Any) -> None:
    await outcome


def _result(policy: Policy, enforcement: str, urn: str | None, message: str) -> PolicyResult:
    return PolicyResult(
        policy=policy.name,
        severity=policy.severity.value if policy.severity else "unspecified",
        enforcement=enforcement,
        urn=urn,
        message=message,
        remediation=policy.remediation_steps or "",
    )


def _props(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """Recorded values as the CLI hands them to a rule: unknowns as pulumi-policy's sentinels, behind the proxy
    that raises UnknownValueError when a rule reads one."""
    return unknown_checking_proxy(_sentinels(dict(values)))


def _sentinels(value: Any) -> Any:
    if isinstance(value, Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {key: _sentinels(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_sentinels(item) for item in value]
    return value


def _options(resource: "RecordedResource") -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=True if resource.delete_before_replace else None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent or None,
    )


def _provider(resource: "RecordedResource", by_urn: Mapping[str, "RecordedResource"]) -> PolicyProviderResource | None:
    """A provider reference is `<provider urn>::<provider id>`."""
    provider = by_urn.get(resource.provider.rpartition("::")[0]) if resource.provider else None
    if provider is None:
        return None
    return PolicyProviderResource(provider.type, _props(provider.inputs), provider.urn, provider.name)


def _stack_resources(synthesis: "Synthesis") -> list[PolicyResource]:
    """Every resource with its state (outputs plus the id, as the engine's state has it), parents and dependencies
    linked to the other PolicyResource objects, as the servicer links them."""
    by_urn = {resource.urn: resource for resource in synthesis.resources}
    built = {
        r.urn: PolicyResource(
            r.type,
            _props({**r.outputs, "id": r.id} if r.custom else dict(r.outputs)),
            r.urn,
            r.name,
            _options(r),
            _provider(r, by_urn),
            None,
            [],
            {},
        )
        for r in synthesis.resources
    }
    for recorded in synthesis.resources:
        resource = built[recorded.urn]
        resource.parent = built.get(recorded.parent)
        resource.dependencies.extend(built[urn] for urn in recorded.dependencies if urn in built)
    return list(built.values())
