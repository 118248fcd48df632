"""What every component shares: its type token, its children's options, where it deploys, and `transform`.

Type tokens are `platform:index:<Class>`, the form Pulumi's component provider gives a class it hosts, so the same
resource is addressed identically from Python and from any language that consumes the package.
"""

import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime import settings

PACKAGE = "platform"
"""The package name: the first part of every type token and the name other languages import."""

LEGACY_TYPES = {
    "Bucket": "pipeline:storage:Bucket",
    "Table": "pipeline:storage:Table",
    "Function": "pipeline:compute:Function",
    "FargateTask": "pipeline:compute:FargateTask",
    "ServerlessDatabase": "pipeline:data:ServerlessDatabase",
    "EncryptionKey": "pipeline:security:EncryptionKey",
    "Network": "pipeline:network:Network",
    "ObjectCreatedTrigger": "pipeline:events:ObjectCreatedTrigger",
    "Workflow": "pipeline:orchestration:Workflow",
}
"""The tokens the first releases used: aliased, so a stack deployed with them updates in place instead of
replacing every child (buckets and tables included)."""

ChildTransform = Callable[[dict[str, Any]], dict[str, Any]]
"""Receives a child resource's arguments (the snake_case keywords of its constructor) and returns those to use."""


class _Hosted:
    """The key of the components a component provider hosts: it has no root stack resource (the provider server
    clears it on every Construct call), and one provider process serves one deployment."""


_HOSTED = _Hosted()
_DECLARED: "weakref.WeakKeyDictionary[object, list[Component]]" = weakref.WeakKeyDictionary()
"""Every component of each running program, by the program's root stack resource (tests run many programs in one
process, one root each), or `_HOSTED` in a component provider."""


def type_token(component: type) -> str:
    return f"{PACKAGE}:index:{component.__name__}"


def declared_components() -> list["Component"]:
    """The components the running program has declared so far, in order: what the stack's operations watch."""
    return list(_DECLARED.get(_program_key(), []))


def _program_key() -> object:
    root = settings.get_root_resource()
    return _HOSTED if root is None else root


class Component(pulumi.ComponentResource):
    """Base of the platform's components.

    `transform` is the escape hatch, as SST's: `{"bucket": lambda args: {**args, "object_lock_enabled": True}}`
    adjusts the child named `<component>-bucket` without forking the component. Keys are the children's names
    without the component's prefix; a key that names none of the children the constructor declares is an error
    listing those that exist.
    """

    def __init__(
        self,
        name: str,
        opts: pulumi.ResourceOptions | None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        self.logical_name = name
        self._transform = dict(transform or {})
        self._children: list[str] = []
        self._depends_on = opts.depends_on if opts else None
        legacy = LEGACY_TYPES.get(type(self).__name__)
        own = pulumi.ResourceOptions(
            aliases=[pulumi.Alias(type_=legacy)] if legacy else None,
            transformations=[self._apply_transform],
        )
        super().__init__(type_token(type(self)), name, None, pulumi.ResourceOptions.merge(opts, own))
        _DECLARED.setdefault(_program_key(), []).append(self)

    def child(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        """Options of a resource this component owns."""
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on) or None)

    @cached_property
    def account_id(self) -> pulumi.Output[str]:
        """The account the stack's provider deploys to."""
        return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

    @cached_property
    def region(self) -> pulumi.Output[str]:
        return aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region

    def finish(self, outputs: Mapping[str, Any]) -> None:
        """Register the outputs; refuse a `transform` key that matched no child."""
        unknown = sorted(set(self._transform) - set(self._children))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} {self.logical_name!r}: transform has no child named {unknown}; "
                f"its children are {sorted(set(self._children))}"
            )
        self.register_outputs(dict(outputs))

    def _apply_transform(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        """Every resource under the component waits for what the component depends on: the engine orders custom
        resources by their own dependencies, and the SDK does not hand a component's `depends_on` to its children.
        A direct child named `<component>-<role>` also gets `transform[role]`."""
        if args.resource is self:
            return None
        props, opts = args.props, args.opts
        if self._depends_on is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=self._depends_on))
        prefix = f"{self.logical_name}-"
        if args.name.startswith(prefix):
            role = args.name.removeprefix(prefix)
            self._children.append(role)
            change = self._transform.get(role)
            if change is not None:
                props = change(dict(props))
        if props is args.props and opts is args.opts:
            return None
        return pulumi.ResourceTransformationResult(props, opts)
