"""The handlers' Lambda package (app/code.py LAMBDA_CODE), built from the real handlers/requirements.txt with PyPI
wheels for both architectures; .build/ keeps it across runs (it is gitignored). And what its entry points import."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.code import HANDLERS_DIR, LAMBDA_CODE
from components import packaging
from components.packaging import Package, build_package, elf_machines
from synth.program import Synthesis

REPO = Path(__file__).resolve().parents[2]
INIT_EXCLUDED = ("pydantic", "aws_xray_sdk")
"""Never imported by a cold start: pydantic is gone, the X-Ray SDK (with Powertools' Tracer, ~60 ms with bytecode)
waits for a sampled invocation (pipeline/tracing.py). `make bench` times the imports (bench/init_budget.py)."""


def _names(package: Package) -> list[str]:
    with zipfile.ZipFile(package.path) as archive:
        return archive.namelist()


@pytest.fixture(scope="module", params=["arm64", "x86_64"])
def handlers_package(request: pytest.FixtureRequest) -> tuple[str, Package]:
    build_dir = REPO / ".build" / "test-packaging"
    return request.param, build_package(LAMBDA_CODE, python_version="3.13", architecture=request.param,
                                        build_dir=build_dir)  # fmt: skip


def test_handlers_package_has_wheels_for_its_architecture(handlers_package: tuple[str, Package]) -> None:
    architecture, package = handlers_package
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    names = _names(package)

    assert f"PIL/_imaging.cpython-313-{machine}-linux-gnu.so" in names
    machines = elf_machines(package)
    wrong = {name: found for name, found in machines.items() if found != machine}
    assert machines, "no shared objects found: Pillow and wrapt ship some"
    assert not wrong, f"{architecture} package holds shared objects for another machine: {wrong}"
    assert any(name.startswith("pipeline/") for name in names)
    assert any(name.startswith("imaging/") for name in names)
    assert not any(name.startswith("worker/") for name in names), "the worker ships in its container image"


def test_handlers_package_leaves_out_the_runtime_sdk_and_fits(handlers_package: tuple[str, Package]) -> None:
    _, package = handlers_package
    top_level = {name.split("/", 1)[0] for name in _names(package)}

    assert not top_level & {"boto3", "botocore", "s3transfer"}, top_level
    assert package.zipped_bytes <= packaging.LAMBDA_ZIPPED_LIMIT_BYTES
    assert package.unzipped_bytes <= packaging.LAMBDA_UNZIPPED_LIMIT_BYTES


def test_handlers_package_holds_nothing_from_the_build_machine(handlers_package: tuple[str, Package]) -> None:
    """A path of this machine inside the zip would change its hash on every other machine that builds it."""
    _, package = handlers_package
    markers = [os.fsencode(sys.executable), os.fsencode(REPO)]
    with zipfile.ZipFile(package.path) as archive:
        leaks = [name for name in archive.namelist() if any(marker in archive.read(name) for marker in markers)]
    assert leaks == []


def test_no_entry_point_imports_pydantic_or_the_xray_sdk_at_init(program: Synthesis) -> None:
    """Each declared handler imported in a fresh interpreter with Lambda's variables (LAMBDA_TASK_ROOT makes a
    Tracer built at import load the SDK), with the venv's packages, which still hold both: an import would show."""
    handlers = sorted({function.inputs["handler"] for function in program.of_type("aws:lambda/function:Function")})

    assert handlers, "the program declares no Lambda function"
    assert {handler: _imported_at_init(handler) for handler in handlers} == {handler: [] for handler in handlers}


def _imported_at_init(handler: str) -> list[str]:
    module, _, name = handler.rpartition(".")
    script = (
        f"import importlib, json, sys\nassert callable(getattr(importlib.import_module({module!r}), {name!r}))\n"
        f"print(json.dumps([name for name in {INIT_EXCLUDED!r} if name in sys.modules]))"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(HANDLERS_DIR), "LAMBDA_TASK_ROOT": "/var/task",
           "AWS_LAMBDA_FUNCTION_NAME": "image-pipeline-test", "AWS_REGION": "eu-west-1"}  # fmt: skip
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def test_handlers_package_holds_the_module_of_every_handler_the_program_declares(
    handlers_package: tuple[str, Package], program: Synthesis
) -> None:
    """A handler string names a module inside the zip (the test above imports each from the source tree): a module
    the package leaves out fails every invocation of its function, and nothing before the first upload would say so."""
    _, package = handlers_package
    names = set(_names(package))
    functions = program.of_type("aws:lambda/function:Function")
    modules = {function.inputs["handler"].rpartition(".")[0] for function in functions}
    assert "pipeline.process" in modules
    assert {module for module in modules if f"{module.replace('.', '/')}.py" not in names} == set()
