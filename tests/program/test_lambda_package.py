"""The handlers' Lambda package (app/code.py LAMBDA_CODE), built from the real handlers/requirements.txt with PyPI
wheels for both architectures; .build/ keeps it across runs (it is gitignored)."""

import os
import sys
import zipfile
from pathlib import Path

import pytest

from app.code import LAMBDA_CODE
from components import packaging
from components.packaging import Package, build_package, elf_machines

REPO = Path(__file__).resolve().parents[2]


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

    assert f"pydantic_core/_pydantic_core.cpython-313-{machine}-linux-gnu.so" in names
    assert f"PIL/_imaging.cpython-313-{machine}-linux-gnu.so" in names
    machines = elf_machines(package)
    wrong = {name: found for name, found in machines.items() if found != machine}
    assert machines, "no shared objects found: Pillow, pydantic-core and wrapt ship some"
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
