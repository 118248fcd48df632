"""Shared test helpers: run components under the offline mocks and read what they declared."""

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.provider.server import ProviderServicer

from components.base import PACKAGE, type_token
from components.config import camel_keys
from components.packaging import CodeSource, FunctionCode
from components.profile import Encryption, EnvironmentProfile
from synth.program import RecordedResource, Synthesis, synthesize

REGION = "eu-west-1"
ACCOUNT = "123456789012"

DISPOSABLE = EnvironmentProfile(
    log_retention_days=7,
    protect=False,
    retain_on_delete=False,
    force_destroy=True,
    point_in_time_recovery=False,
    deletion_protection=False,
    encryption=Encryption.AWS_MANAGED,
    versioning=False,
)
"""A dev-like profile; the defaults (`EnvironmentProfile()`) are the protected, production-like ones."""
PROTECTED = EnvironmentProfile()


def run(build: Callable[[], Any], *, preview: bool = False) -> Synthesis:
    """Declare the components `build` creates, as stack `unit`, and return what they registered."""
    return synthesize("unit", preview=preview, config={"aws:region": REGION}, program=lambda: build() and None)


def from_another_language(
    component: type,
    name: str,
    inputs: dict[str, Any],
    options: Callable[[], pulumi.ResourceOptions] = pulumi.ResourceOptions,
) -> Callable[[], Any]:
    """A program for `run` that constructs `component` as the package's provider does for a program in another
    language: `inputs`, named as in the schema (camelCase) but with the profile as `EnvironmentProfile.args`, go
    through protobuf, where every number becomes a float. `options` makes the program's resource options, in the
    program (so that it can declare what they name)."""
    from components.package import VERSION, PlatformComponentProvider

    struct = struct_pb2.Struct()
    struct.update({key: camel_keys(value) if key == "profile" else value for key, value in inputs.items()})
    loop = asyncio.new_event_loop()
    try:
        wired = loop.run_until_complete(ProviderServicer._construct_inputs(struct, {}))
    finally:
        loop.close()
    provider = PlatformComponentProvider([component], PACKAGE, version=VERSION)
    return lambda: provider.construct(name, type_token(component), wired, options())


def document(resource: RecordedResource, key: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[key])


def statements(resource: RecordedResource, key: str = "policy") -> list[dict[str, Any]]:
    return document(resource, key)["Statement"]


def tiny_code(root: Path) -> FunctionCode:
    """A one-module package without dependencies: enough for a Function, no pip involved."""
    package = root / "app"
    if not package.exists():
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text("def handler(event, context):\n    return event\n")
    return CodeSource(root, packages=("app",)).args
