"""Shared test helpers: run components under the offline mocks and read what they declared."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components.packaging import CodeSource
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


def document(resource: RecordedResource, key: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[key])


def statements(resource: RecordedResource, key: str = "policy") -> list[dict[str, Any]]:
    return document(resource, key)["Statement"]


def tiny_code(root: Path) -> CodeSource:
    """A one-module package without dependencies: enough for a Function, no pip involved."""
    package = root / "app"
    if not package.exists():
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text("def handler(event, context):\n    return event\n")
    return CodeSource(root, packages=("app",))
