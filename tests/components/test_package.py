"""The component package, offline: the committed schema and generated profile args are current, every component is
hosted with described inputs and outputs, args the schema cannot express fail, the YAML example matches the schema
and constructs through the provider from wire-shaped inputs (numbers as floats), and the SDK gaps stay closed."""

import asyncio
import dataclasses
import enum
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import pulumi
import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.errors import InputPropertyError
from pulumi.provider.experimental.analyzer import TypeNotFoundError
from pulumi.provider.server import ProviderServicer

from components.base import PACKAGE
from components.bucket import Bucket
from components.package import (
    COMPONENTS,
    PROFILE_ARGS,
    SCHEMA,
    VERSION,
    PlatformComponentProvider,
    SchemaError,
    build_schema,
    render_profile_args,
)
from tests.components.schema_check import check_program

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "examples" / "yaml" / "Pulumi.yaml"
REFRESH = "run `venv/bin/python -m components.package` and review the diff"


@pytest.fixture(scope="module")
def schema() -> dict:
    return build_schema(COMPONENTS, PACKAGE, VERSION)


def test_the_committed_schema_is_current(schema):
    assert json.dumps(schema, indent=2, sort_keys=True) + "\n" == SCHEMA.read_text(), f"the schema changed: {REFRESH}"


def test_the_generated_profile_args_are_current():
    assert render_profile_args() == PROFILE_ARGS.read_text(), f"components/profile.py changed: {REFRESH}"


def test_every_component_is_hosted_and_every_module_is_searched():
    names = {component.__name__ for component in COMPONENTS}
    assert {"Bucket", "Table", "Function", "Workflow", "FargateTask", "ServerlessDatabase", "Network"} <= names


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_component_is_in_the_schema_with_described_inputs_and_outputs(schema, component):
    spec = schema["resources"][f"{PACKAGE}:index:{component.__name__}"]
    assert spec["isComponent"] is True
    assert spec["description"]
    assert spec["inputProperties"]
    assert spec["properties"]
    for prop in [*spec["inputProperties"].values(), *spec["properties"].values()]:
        assert prop.get("description")


def test_every_named_type_has_described_fields(schema):
    for tok, spec in schema["types"].items():
        assert spec.get("description"), tok
        assert spec.get("properties") or spec.get("enum"), tok
        for name, prop in spec.get("properties", {}).items():
            assert prop.get("description"), f"{tok}.{name}"


# --- args the schema cannot express -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DataclassArgs:
    prefix: str


class NoFields:
    pass


def component_with(field_type: Any) -> type[pulumi.ComponentResource]:
    Args = TypedDict("Args", {"x": field_type})  # noqa: UP013

    class Probe(pulumi.ComponentResource):
        """A probe."""

        out: pulumi.Output[str]
        """An output."""

        def __init__(self, name: str, args: Args, opts: pulumi.ResourceOptions | None = None) -> None:
            super().__init__(f"{PACKAGE}:index:Probe", name, None, opts)

    return Probe


@pytest.mark.parametrize(
    ("field_type", "message"),
    [
        (tuple[int, ...], "ValueError: Unsupported type"),  # analyzer.py:705
        (bytes, "ValueError: Unsupported type"),
        (str | int, "Union types are not supported"),  # analyzer.py:625
        (dict[int, str], "InvalidMapKeyError: map keys must be strings"),  # analyzer.py:543
        (list, "InvalidListTypeError"),  # analyzer.py:521
        (Literal["S", "N"], "TypeError: issubclass"),  # analyzer.py:851, issubclass() on a non-class
        ("Bucket | None", "TypeNotFoundError"),  # analyzer.py:331, a quoted annotation
        (Bucket, "pulumi_type' is not defined"),  # analyzer.py:787, a component as an input
        (Callable[[dict], dict], "cannot be expressed"),  # the analyzer ACCEPTS it as an empty object "Callable"
        (DataclassArgs, "is not a TypedDict"),  # the analyzer accepts it; construct() would pass a dict
        (NoFields, "is not a TypedDict"),  # the analyzer accepts it as an empty object type
    ],
    ids=lambda v: getattr(v, "__name__", None) or str(v),
)
def test_args_the_schema_cannot_express_fail(field_type, message):
    with pytest.raises(SchemaError, match=re.escape(message)):
        build_schema([component_with(field_type)], PACKAGE, VERSION)


def test_analyzer_alone_rejects_a_quoted_annotation():
    from pulumi.provider.experimental.analyzer import Analyzer

    with pytest.raises(TypeNotFoundError):
        Analyzer(PACKAGE).analyze([component_with("Bucket | None")])


def test_component_without_outputs_fails():
    class Args(TypedDict):
        a: str
        """A."""

    class Silent(pulumi.ComponentResource):
        """No outputs."""

        def __init__(self, name: str, args: Args, opts: pulumi.ResourceOptions | None = None) -> None:
            super().__init__(f"{PACKAGE}:index:Silent", name, None, opts)

    with pytest.raises(SchemaError, match="no outputs"):
        build_schema([Silent], PACKAGE, VERSION)


# --- the YAML example ---------------------------------------------------------------------------------------------


def test_yaml_example_matches_the_schema(schema):
    program = yaml.safe_load(EXAMPLE.read_text())
    assert check_program(program, schema) == []
    used = {r["type"] for r in program["resources"].values()}
    assert len(used & {f"{PACKAGE}:index:{c.__name__}" for c in COMPONENTS}) >= 2


def test_yaml_checker_catches_mistakes(schema):
    program = yaml.safe_load(EXAMPLE.read_text())
    program["resources"]["documents"]["properties"]["event_bridge"] = True  # snake_case instead of camelCase
    program["resources"]["documentIndex"]["properties"].pop("partitionKey")
    program["config"]["profile"]["default"]["encryption"] = "kms"
    program["outputs"]["bogus"] = "${documents.bucketName}"
    problems = check_program(program, schema)
    assert any("event_bridge: not a property" in p for p in problems)
    assert any("partitionKey: required" in p for p in problems)
    assert any("'kms' is not one of" in p for p in problems)
    assert any("no output 'bucketName'" in p for p in problems)


# --- construct() round trips ----------------------------------------------------------------------------------------


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        outputs = dict(args.inputs)
        outputs.setdefault("arn", f"arn:aws:::{args.name}")
        outputs.setdefault("bucket", f"{args.name}-phys")
        outputs.setdefault("name", f"{args.name}-phys")
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}


def over_the_wire(inputs: dict) -> dict:
    """JSON -> protobuf Struct -> the provider server's own deserialization (numbers become floats)."""
    struct = struct_pb2.Struct()
    struct.update(inputs)
    return asyncio.new_event_loop().run_until_complete(ProviderServicer._construct_inputs(struct, {}))


def resolve(output: Any) -> Any:
    return pulumi.Output.from_input(output)


def test_yaml_example_constructs_through_the_provider():
    program = yaml.safe_load(EXAMPLE.read_text())
    profile = program["config"]["profile"]["default"]
    wired = {}
    for name, res in program["resources"].items():
        props = {k: (profile if v == "${profile}" else v) for k, v in res["properties"].items()}
        wired[name] = (res["type"], over_the_wire(props))
    pulumi.runtime.set_mocks(Mocks(), preview=False)
    provider = PlatformComponentProvider(COMPONENTS, PACKAGE, version=VERSION)

    @pulumi.runtime.test
    def run():
        results = {n: provider.construct(n, t, i, pulumi.ResourceOptions()) for n, (t, i) in wired.items()}

        def check(values):
            for (name, (typ, _)), (urn, state) in zip(wired.items(), values, strict=True):
                assert urn.endswith(f"${typ}::{name}"), urn  # the component registers the requested token
                assert set(state) == {"name", "arn"}

        return pulumi.Output.all(*[pulumi.Output.all(r.urn, resolve(r.state)) for r in results.values()]).apply(check)

    run()


class Color(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class ProbeArgs(TypedDict):
    count: NotRequired[int]
    sizes: NotRequired[list[int]]
    colors: NotRequired[list[Color]]
    by_key: NotRequired[dict[str, Color]]


RECEIVED: dict = {}


class WireProbe(pulumi.ComponentResource):
    """Records what construct() hands the constructor."""

    done: pulumi.Output[bool]
    """Always true."""

    def __init__(self, name: str, args: ProbeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PACKAGE}:index:WireProbe", name, None, opts)
        RECEIVED[name] = args
        self.done = pulumi.Output.from_input(True)
        self.register_outputs({"done": self.done})


@pytest.mark.parametrize("fixed", [False, True], ids=["stock-provider", "platform-provider"])
def test_wire_values_reach_the_component_typed(fixed):
    from pulumi.provider.experimental.component import ComponentProvider

    inputs = over_the_wire({"count": 3, "sizes": [1, 2], "colors": ["red", "blue"], "byKey": {"k": "blue"}})
    pulumi.runtime.set_mocks(Mocks(), preview=False)
    provider = (PlatformComponentProvider if fixed else ComponentProvider)([WireProbe], PACKAGE)
    name = f"probe-{fixed}"

    @pulumi.runtime.test
    def run():
        provider.construct(name, f"{PACKAGE}:index:WireProbe", inputs, pulumi.ResourceOptions())

    run()
    got = RECEIVED[name]
    if fixed:
        assert type(got["count"]) is int
        assert [type(s) for s in got["sizes"]] == [int, int]
        assert got["colors"] == [Color.RED, Color.BLUE]
        assert got["by_key"] == {"k": Color.BLUE}
    else:  # SDK 3.272.0: documents the gaps PlatformComponentProvider closes
        assert type(got["count"]) is float
        assert got["sizes"] == [1.0, 2.0]
        assert got["colors"] == [{}, {}]
        assert got["by_key"] == {"k": {}}


def test_bad_enum_in_a_list_is_refused():
    inputs = over_the_wire({"colors": ["green"]})
    pulumi.runtime.set_mocks(Mocks(), preview=False)
    provider = PlatformComponentProvider([WireProbe], PACKAGE)
    with pytest.raises(InputPropertyError, match="'green' is not one of red, blue"):
        provider.construct("bad", f"{PACKAGE}:index:WireProbe", inputs, pulumi.ResourceOptions())
