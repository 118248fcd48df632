"""Every state machine definition of every stack validated by asl-validator, the Amazon States Language validator
from npm (pinned in tools/asl/package-lock.json): the ASL schema, transitions, terminal states, JSONPath and
intrinsic-function expressions, and Resource ARNs. npm installs it on first use, so `make test` needs Node.js 20+.

Each stack's own program is validated with the reference program (tests/reference.py), whose workflows use every
kind of task the components build (Lambda, DynamoDB, nested workflow, ECS `.sync`, the Data API), whatever state
machines the project's program declares."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from synth.program import Synthesis
from tests.conftest import synthesized
from tests.reference import reference_program

TOOL_DIR = Path(__file__).resolve().parents[2] / "tools" / "asl"
VALIDATOR = TOOL_DIR / "node_modules" / "asl-validator" / "dist" / "bin" / "asl-validator.js"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"


@pytest.fixture(scope="session")
def asl_validator() -> list[str]:
    """The validator's command line, after `npm ci` from the lock file if it is not installed yet."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("asl-validator needs Node.js 20+ and npm on PATH (apt-get install nodejs npm, or nodesource)")
    if installed_version() != locked_version():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=TOOL_DIR, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"npm ci in {TOOL_DIR} failed:\n{done.stdout}\n{done.stderr}"
    return [node, str(VALIDATOR)]


def locked_version() -> str:
    lock = json.loads((TOOL_DIR / "package-lock.json").read_text())
    return lock["packages"]["node_modules/asl-validator"]["version"]


def installed_version() -> str | None:
    """The installed validator's version: None when missing, and a bumped lock file reinstalls it."""
    manifest = TOOL_DIR / "node_modules" / "asl-validator" / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() and VALIDATOR.exists() else None


def validate(command: list[str], definitions: dict[str, str], directory: Path) -> subprocess.CompletedProcess:
    """One validator run over every definition (one file each, so the output names the state machine)."""
    arguments = []
    for name, definition in definitions.items():
        path = directory / f"{name}.asl.json"
        path.write_text(definition)
        arguments += ["--json-path", str(path)]
    return subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=60)


def definitions(program: Synthesis, prefix: str = "") -> dict[str, str]:
    return {prefix + machine.name: machine.inputs["definition"] for machine in program.of_type(STATE_MACHINE)}


def test_every_state_machine_definition_is_valid_asl(asl_validator, stack, tmp_path):
    reference = definitions(reference_program(stack), "reference-")
    assert set(reference) == {"reference-intake-state-machine", "reference-long-run-state-machine"}
    found = definitions(synthesized(stack)) | reference
    run = validate(asl_validator, found, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("is valid") == len(found), run.stdout


def without_done(definition: dict) -> None:
    del definition["States"]["Done"]  # still the target of other states


def misspelt_type(definition: dict) -> None:
    definition["States"][definition["StartAt"]]["Type"] = "Taks"


def unrooted_result_path(definition: dict) -> None:
    definition["States"][definition["StartAt"]]["ResultPath"] = "validation"  # JSONPath must start with $


@pytest.mark.parametrize(
    ("breakage", "error"),
    [
        (without_done, "MISSING_TRANSITION_TARGET"),
        (misspelt_type, "SCHEMA_VALIDATION_FAILED"),
        (unrooted_result_path, "ResultPath"),
    ],
)
def test_a_broken_definition_fails_the_validator(asl_validator, tmp_path, breakage, error):
    """A workflow as the components write it (the reference program's), broken one way at a time."""
    definition = json.loads(definitions(reference_program("prod"))["intake-state-machine"])
    breakage(definition)
    run = validate(asl_validator, {"broken": json.dumps(definition)}, tmp_path)
    assert run.returncode != 0, run.stdout
    assert error in run.stdout + run.stderr, run.stdout + run.stderr
