"""The committed graph snapshots: one per stack, current, and free of anything machine-specific."""

import difflib
import json

import pulumi
import pytest

from review.snapshot import REFRESH_COMMAND, SNAPSHOT_DIR, normalize, render, snapshot_path
from synth.program import PROJECT_DIR, stack_names, synthesize
from tests.conftest import synthesized

MACHINE_SPECIFIC = (str(PROJECT_DIR), "/tmp/", "/home/", " object at 0x")


def test_the_snapshot_is_current(stack):
    path = snapshot_path(stack)
    assert path.is_file(), f"{path.relative_to(PROJECT_DIR)} is missing: run `{REFRESH_COMMAND}` and commit it"
    expected, committed = render(synthesized(stack)), path.read_text()
    if committed != expected:
        diff = difflib.unified_diff(committed.splitlines(), expected.splitlines(), "committed", "program", lineterm="")
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"{path.relative_to(PROJECT_DIR)} is stale: the program now declares something else for stack "
            f"{stack!r}. Run `{REFRESH_COMMAND}` and commit the result, after reading the diff:\n{shown}"
        )


def test_every_stack_file_has_a_snapshot_and_every_snapshot_a_stack_file():
    assert {path.stem for path in SNAPSHOT_DIR.glob("*.json")} == set(stack_names()), f"run `{REFRESH_COMMAND}`"


def test_snapshots_hold_nothing_from_the_machine_that_wrote_them(stack):
    text = render(synthesized(stack))
    found = [marker for marker in MACHINE_SPECIFIC if marker in text]
    assert not found, f"machine-specific values in the {stack} snapshot: {found}"
    document = json.loads(text)
    function = document["resources"]["platform:index:Function$aws:lambda/function:Function::render-function"]
    assert function["inputs"]["code"] == {"FileArchive": "<build output> .build/lambda/handlers-<cache key>.zip"}
    assert function["inputs"]["sourceCodeHash"].startswith("<")


def test_a_fresh_run_gives_the_same_snapshot():
    """Resources register in a different order on each run; the snapshot must not care."""
    assert render(synthesize("dev")) == render(synthesized("dev"))


def test_normalize_relativizes_paths_expands_json_and_hides_secrets():
    value = {
        "context": {"location": f"{PROJECT_DIR}/handlers"},
        "policy": '{"Statement": []}',
        "password": "hunter2",
        "code": pulumi.AssetArchive({"index.py": pulumi.FileAsset(f"{PROJECT_DIR}/handlers/x.py")}),
    }
    assert normalize(value) == {
        "context": {"location": "./handlers"},
        "policy": {"$json": {"Statement": []}},
        "password": "<secret>",
        "code": {"AssetArchive": {"index.py": {"FileAsset": "./handlers/x.py"}}},
    }
    with pytest.raises(TypeError, match=r"teach review/snapshot\.py"):
        normalize({"odd": object()})
