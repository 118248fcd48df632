"""Session-wide fixtures: each stack's program synthesized once per mode and shared by every test that reads it."""

import os
from collections.abc import Iterator

import pytest

from emulator import models
from synth.program import Synthesis, close_runtime, stack_names, synthesize

# Powertools reads the service name when a handler module is imported, and whichever test module imports one first
# (a handler test, or an end-to-end test at collection) fixes it for the whole worker process.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "pipeline-test")

_synthesized: dict[tuple[str, bool], Synthesis] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """xdist hands whole files to the workers in collection order: the files marked `longest` go first, so that
    none of them starts last and runs alone while the other workers have finished (the suite's wall time)."""
    items.sort(key=lambda item: item.get_closest_marker("longest") is None)


def synthesized(stack: str, preview: bool = False) -> Synthesis:
    if (stack, preview) not in _synthesized:
        _synthesized[stack, preview] = synthesize(stack, preview=preview)
    return _synthesized[stack, preview]


@pytest.fixture(params=stack_names())
def stack(request: pytest.FixtureRequest) -> str:
    """Every `Pulumi.<stack>.yaml`: adding a stack file adds it to every test that takes this fixture."""
    return request.param


@pytest.fixture(params=[False, True], ids=["update", "preview"])
def mode(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def program(stack: str) -> Synthesis:
    return synthesized(stack)


@pytest.fixture(scope="session", autouse=True)
def _close_runtime_at_end() -> Iterator[None]:
    yield
    close_runtime()


@pytest.fixture(scope="session", autouse=True)
def _botocore_models_parsed_once() -> Iterator[None]:
    """moto's mock gives each test fresh boto3 sessions, and each parsed the JSON models of its clients again (a
    fifth of the handler tests' CPU): the local cloud's shared models (emulator/models.py) for the whole run."""
    with models.shared():
        yield
