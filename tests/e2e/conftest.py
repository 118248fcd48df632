"""The end-to-end tests' local cloud: the dev stack, its process Lambda given 192 MB so that a ~6 MP panorama
takes the Fargate route while photos stay on the Lambda, deployed once per test module into the in-process
emulator (a deployment takes about two seconds; each test uses keys of its own)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo import run as demo
from app.demo.cloud import PipelineCloud
from app.demo.samples import Sample, panorama
from emulator.cloud import Execution, LocalCloud
from emulator.faults import FaultPlan
from emulator.stack import Program, synthesize_stack

LAMBDA_MEMORY_MB = 192
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks `e2e` each test of this directory that runs the local cloud, so that `-m "not e2e"` leaves them out:
    the tests using the shared `cloud` fixture, and those of a module that starts a cloud of its own (one holding
    `LocalCloud`, `PipelineCloud` or the demo's `run`). The pins, probes and command-line refusals here deploy
    nothing."""
    for item in items:
        if item.path.is_relative_to(HERE) and _runs_the_local_cloud(item):
            item.add_marker(pytest.mark.e2e)


def _runs_the_local_cloud(item: pytest.Item) -> bool:
    if "cloud" in getattr(item, "fixturenames", ()):
        return True
    module = getattr(item, "module", None)
    starters = (LocalCloud, PipelineCloud, demo.run)
    return module is not None and any(value is s for value in vars(module).values() for s in starters)


@pytest.fixture(scope="session")
def local_program() -> Program:
    return synthesize_stack("dev", {"lambda.memoryMb": LAMBDA_MEMORY_MB})


@pytest.fixture(scope="module")
def cloud(local_program: Program, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineCloud]:
    workdir: Path = tmp_path_factory.mktemp("local-cloud")
    with PipelineCloud(local_program.synthesis, region=local_program.region, workdir=workdir) as running:
        yield running


@pytest.fixture
def faults(cloud: PipelineCloud) -> Iterator[FaultPlan]:
    """The cloud's fault plan, emptied after the test whatever happened."""
    yield cloud.faults
    cloud.faults.clear()


@pytest.fixture(scope="module")
def big_png(cloud: PipelineCloud) -> Sample:
    """The smallest panorama the deployed routing sends to Fargate."""
    environment = cloud.synthesis.one("aws:lambda/function:Function", "process-function").inputs["environment"]
    sample = panorama(cloud.hooks.runtime.module("imaging"), environment["variables"])
    assert sample is not None, f"no panorama goes to Fargate with {LAMBDA_MEMORY_MB} MB"
    return sample


def why_not_succeeded(cloud: LocalCloud, executions: list[Execution]) -> str:
    """For an assertion's message: each execution that did not succeed, with every task failure of its history (the
    error its final state names may be a later one, e.g. a failure that could not be recorded)."""
    reasons = []
    for execution in (e for e in executions if e.status != "SUCCEEDED"):
        history = cloud.history(execution.arn)
        failed = [event[key] for event in history for key in event if key.endswith("FailedEventDetails")]
        reasons.append(f"{execution.state_machine} {execution.status} {execution.error}: {failed}")
    return "\n".join(reasons)


def unique(name: str) -> str:
    """A key of its own for each test: `name` with a random folder in front."""
    return f"{uuid.uuid4().hex[:10]}/{name}"
