"""The components as a Pulumi component package, for programs in any Pulumi language (`pulumi package add`).

`components/__main__.py` hosts `COMPONENTS` with `PlatformComponentProvider`; the schema is inferred from their
TypedDict args and annotated outputs. Two gaps of `pulumi.provider.experimental` (SDK 3.272.0) would reach the
components silently, so the provider fixes them: integers arrive as floats, and enums inside lists or maps arrive as
`{}`. `build_schema` refuses what the analyzer accepts but construct() cannot deliver as declared (an args class that
is not a TypedDict, a component as an input, an undocumented property).

`python -m components.package` rewrites the generated `components/profile_args.py` and `components/schema.json`;
tests fail while either is stale.
"""

import dataclasses
import enum
import importlib
import inspect
import json
import os
import pkgutil
import sys
import textwrap
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from pulumi import ComponentResource
from pulumi.errors import InputPropertyError
from pulumi.output import Inputs, Output
from pulumi.provider.experimental import analyzer as an
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType, TypeDefinition
from pulumi.provider.experimental.component import ComponentProvider

import components
from components.base import PACKAGE, Component
from components.profile import PROVIDER_FIELDS, EnvironmentProfile

VERSION = "0.1.0"
SKIPPED_MODULES = frozenset({"__main__", "package"})
"""The plugin's entry point and this module: everything else in components/ may define components."""


def component_classes() -> list[type[Component]]:
    """Every Component subclass defined in components/: a new component module is hosted without a list to edit."""
    found: set[type[Component]] = set()
    for module in pkgutil.iter_modules(components.__path__):
        if module.name not in SKIPPED_MODULES:
            for value in vars(importlib.import_module(f"components.{module.name}")).values():
                if isinstance(value, type) and issubclass(value, Component) and value is not Component:
                    found.add(value)
    return sorted(found, key=lambda cls: cls.__name__)


COMPONENTS: list[type[ComponentResource]] = list(component_classes())
"""Every component the package hosts."""
LINE_LENGTH = 120
"""ruff's line length (pyproject.toml): the generated module is checked like the rest."""
HERE = Path(__file__).resolve().parent
PROFILE_ARGS = HERE / "profile_args.py"
SCHEMA = HERE / "schema.json"


class SchemaError(TypeError):
    """The components use a shape the package schema cannot express (or the provider cannot deliver)."""


class PlatformComponentProvider(ComponentProvider):
    """ComponentProvider with the wire values fixed up before the component sees them."""

    def map_input_properties(
        self,
        inputs: Inputs,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Inputs:
        mapped = super().map_input_properties(inputs, properties, mapping, component_name, property_path)
        raw = inputs if isinstance(inputs, dict) else {}
        for schema_name, prop in properties.items():
            py_name = mapping[schema_name]
            if py_name in mapped:
                path = f"{property_path}.{schema_name}" if property_path else schema_name
                mapped[py_name] = self._fix(mapped[py_name], raw.get(schema_name), prop, path)
        return mapped

    def _fix(self, value: Any, raw: Any, prop: PropertyDefinition, path: str) -> Any:
        if isinstance(value, Output) or isinstance(raw, Output):
            return value
        if prop.type == PropertyType.INTEGER and isinstance(value, float) and value.is_integer():
            return int(value)  # component.py:277-287 computes int(...) and then overwrites it with the float
        if prop.type == PropertyType.ARRAY and prop.items and isinstance(raw, list):
            return [
                self._fix(v, r, prop.items, f"{path}[{i}]") for i, (v, r) in enumerate(zip(value, raw, strict=True))
            ]
        if prop.type == PropertyType.OBJECT and prop.additional_properties and isinstance(raw, dict):
            return {k: self._fix(value[k], raw[k], prop.additional_properties, f"{path}.{k}") for k in raw}
        if prop.ref:
            type_def = self.get_type_definition(prop)
            if type_def is not None and type_def.enum and not isinstance(value, Enum):
                # component.py:223-273 maps list/map items of an enum type as objects: the item becomes {}
                return self._enum(type_def, raw, path)
        return value

    @staticmethod
    def _enum(type_def: TypeDefinition, raw: Any, path: str) -> Enum:
        try:
            return type_def.python_type(raw)
        except ValueError as error:
            allowed = ", ".join(str(member.value) for member in type_def.enum or [])
            raise InputPropertyError(path, f"{raw!r} is not one of {allowed}") from error


def _walk(annotation: Any, owner: str, seen: set[type]) -> None:
    """Refuse what the analyzer would accept but the provider cannot deliver as declared."""
    if isinstance(annotation, str) or an.is_forward_ref(annotation):
        raise SchemaError(f"{owner}: string annotation {annotation!r}; the analyzer needs real types "
                          "(no `from __future__ import annotations`, no quoted types)")  # fmt: skip
    for is_wrapper, unwrap in (
        (an.is_input, an.unwrap_input), (an.is_output, an.unwrap_output), (an.is_optional, an.unwrap_optional),
        (an.is_not_required, an.unwrap_not_required), (an.is_required, an.unwrap_required),
    ):  # fmt: skip
        if is_wrapper(annotation):
            return _walk(unwrap(annotation), owner, seen)
    if an.is_simple(annotation) or an.is_any(annotation):
        return None
    if an.is_list(annotation) or an.is_dict(annotation):
        for arg in typing.get_args(annotation)[-1:]:
            _walk(arg, owner, seen)
        return None
    if not isinstance(annotation, type) or typing.get_origin(annotation) is not None:
        raise SchemaError(f"{owner}: {annotation!r} cannot be expressed in the package schema")
    if issubclass(annotation, Enum) or an.is_asset(annotation) or an.is_archive(annotation):
        return None
    if an.is_resource(annotation):
        if issubclass(annotation, ComponentResource):
            raise SchemaError(f"{owner}: a component ({annotation.__name__}) cannot be an input; pass its outputs")
        return None  # a provider resource (e.g. aws.kms.Key) is a resource reference in the schema
    if not typing.is_typeddict(annotation):
        raise SchemaError(
            f"{owner}: {annotation.__name__} is not a TypedDict; construct() passes every object input as a dict"
        )
    if annotation in seen:
        return None
    seen.add(annotation)
    hints = dict(annotation.__annotations__)  # raw, like the analyzer (get_type_hints chokes on Input's ForwardRef)
    if not hints:
        raise SchemaError(f"{owner}: {annotation.__name__} has no annotated fields")
    for field, hint in hints.items():
        _walk(hint, f"{annotation.__name__}.{field}", seen)
    return None


def build_schema(components: list[type[ComponentResource]], name: str, version: str) -> dict[str, Any]:
    """The schema GetSchema would serve, after refusing the shapes it cannot carry faithfully. Raises SchemaError."""
    try:  # the analyzer's own refusals: ValueError, TypeError, InvalidMap*/InvalidListTypeError, bare Exception
        provider = PlatformComponentProvider(components, name, version=version)
    except Exception as error:  # the analyzer raises bare Exception for unions and components
        raise SchemaError(f"{type(error).__name__}: {error}") from error
    seen: set[type] = set()
    for component in components:  # what the analyzer accepts although construct() cannot deliver it as declared
        args = inspect.get_annotations(component.__init__).get("args")  # the analyzer reads the same
        _walk(args, f"{component.__name__}.args", seen)
    schema = _cleaned(json.loads(provider.schema))
    for token, spec in schema["types"].items():
        undocumented = [name for name, prop in spec.get("properties", {}).items() if not prop.get("description")]
        if not spec.get("description") or undocumented:
            raise SchemaError(f"{token}: a docstring is missing on the type or on {undocumented}")
    for token, resource in schema["resources"].items():
        if not resource.get("description"):
            raise SchemaError(f"{token}: the class has no docstring")
        if not resource.get("properties"):
            raise SchemaError(f"{token}: no outputs; annotate them on the class (e.g. `arn: pulumi.Output[str]`)")
        for kind in ("inputProperties", "properties"):
            for prop, spec in resource.get(kind, {}).items():
                if not spec.get("description"):
                    raise SchemaError(f"{token}.{prop}: no docstring under the annotation")
    return schema


def _cleaned(node: Any) -> Any:
    """Docstrings as readers see them: the indentation of their continuation lines removed."""
    if isinstance(node, dict):
        return {key: inspect.cleandoc(value) if key == "description" and isinstance(value, str) else _cleaned(value)
                for key, value in node.items()}  # fmt: skip
    if isinstance(node, list):
        return [_cleaned(item) for item in node]
    return node


def render_profile_args() -> str:
    """`components/profile_args.py`: the profile's sections as TypedDicts, generated from the dataclasses of
    components/profile.py (their one source), each field documented with its default."""
    enums: set[str] = set()
    classes: list[str] = []
    _render_section(EnvironmentProfile, "ProfileArgs", PROVIDER_FIELDS, enums, classes)
    return "\n".join([
        '"""The environment profile as plain data, for the components\' args: generated from components/profile.py',
        '(which documents and validates every field) by `python -m components.package`; do not edit by hand."""',
        "",
        "from typing import NotRequired, TypedDict",
        "",
        f"from components.profile import {', '.join(sorted(enums))}",
        "",
        "",
        "\n\n\n".join(classes),
    ]) + "\n"  # fmt: skip


def _render_section(section: type, name: str, exclude: frozenset[str], enums: set[str], classes: list[str]) -> str:
    """Render `section` (and, before it, every section it holds) as a TypedDict named `name`."""
    hints = typing.get_type_hints(section)
    lines = [f"class {name}(TypedDict):", f'    """{section.__name__} of components/profile.py, as plain data."""']
    for spec in dataclasses.fields(section):
        if spec.name not in exclude:
            annotation = _annotation(hints[spec.name], enums, classes)
            lines += ["", f"    {spec.name}: NotRequired[{annotation}]", _docstring(_documented(spec))]
    classes.append("\n".join(lines))
    return name


def _docstring(text: str) -> str:
    """A field's docstring, wrapped to the project's line length (the closing quotes included)."""
    wrapped = textwrap.fill(text, width=LINE_LENGTH - 3, initial_indent='    """', subsequent_indent="    ")
    return f'{wrapped}"""'


def _annotation(hint: Any, enums: set[str], classes: list[str]) -> str:
    if isinstance(hint, types.UnionType):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if dataclasses.is_dataclass(hint):
        return _render_section(hint, "Profile" + hint.__name__.removesuffix("Settings"), frozenset(), enums, classes)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        enums.add(hint.__name__)
        return hint.__name__
    if typing.get_origin(hint) is tuple:
        return f"list[{typing.get_args(hint)[0].__name__}]"
    if typing.get_origin(hint) is dict:
        return "dict[str, str]"
    return hint.__name__


def _documented(spec: dataclasses.Field) -> str:
    default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
    if dataclasses.is_dataclass(default):
        return spec.metadata["doc"]
    return f"{spec.metadata['doc']} Default: {json.dumps(plain_value(default))}."


def plain_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else list(value) if isinstance(value, tuple) else value


def main() -> int:
    profile_args = render_profile_args()
    if PROFILE_ARGS.read_text() != profile_args:
        PROFILE_ARGS.write_text(profile_args)
        # The components imported the old ProfileArgs, which the schema describes: build it in a fresh interpreter.
        os.execv(sys.executable, [sys.executable, "-m", "components.package"])
    SCHEMA.write_text(json.dumps(build_schema(COMPONENTS, PACKAGE, VERSION), indent=2, sort_keys=True) + "\n")
    print(f"wrote {PROFILE_ARGS.relative_to(HERE.parent)} and {SCHEMA.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
