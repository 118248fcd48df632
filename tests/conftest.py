"""Session-wide fixtures: each stack's program synthesized once per mode and shared by every test that reads it."""

from collections.abc import Iterator

import pytest

from synth.program import Synthesis, close_runtime, stack_names, synthesize

_synthesized: dict[tuple[str, bool], Synthesis] = {}


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
