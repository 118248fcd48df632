"""The committed graph snapshots: one per stack, current, and free of anything machine-specific."""

import difflib
import json
import re

import pulumi
import pytest

from review.snapshot import PLACEHOLDERS, REFRESH_COMMAND, SNAPSHOT_DIR, normalize, render, snapshot_path
from synth.program import PROJECT_DIR, stack_names, synthesize
from tests.conftest import synthesized
from tests.reference import reference_program

MACHINE_SPECIFIC = (str(PROJECT_DIR), "/tmp/", "/home/", " object at 0x")
FUNCTION = "aws:lambda/function:Function"
BUILT_ZIP = re.compile(r"<build output> \.build/lambda/[\w.-]+-<cache key>\.zip")
"""A Lambda zip as the snapshot shows it: `.build/lambda/<code root's name>-<cache key>.zip`."""


def functions(document):
    return {key: resource for key, resource in document["resources"].items() if resource["type"] == FUNCTION}


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
    for key, function in functions(json.loads(text)).items():
        assert BUILT_ZIP.fullmatch(function["inputs"]["code"]["FileArchive"]), key
        assert function["inputs"]["sourceCodeHash"].startswith("<"), key


def test_a_functions_zip_is_shown_without_its_cache_key_or_hash():
    """The reference program's functions: their zips are built on each machine, with a key and hash of their own."""
    found = functions(json.loads(render(reference_program("dev"))))
    assert len(found) == 3
    for key, function in found.items():
        assert function["inputs"]["code"] == {"FileArchive": "<build output> .build/lambda/code-<cache key>.zip"}, key
        assert function["inputs"]["sourceCodeHash"] == PLACEHOLDERS["sourceCodeHash"], key


def test_a_fresh_run_gives_the_same_snapshot():
    """Resources register in a different order on each run; the snapshot must not care."""
    assert render(synthesize("dev")) == render(synthesized("dev"))


def test_normalize_relativizes_paths_expands_json_and_hides_secrets():
    value = {
        "context": {"location": f"{PROJECT_DIR}/src"},
        "policy": '{"Statement": []}',
        "password": "hunter2",
        "code": pulumi.AssetArchive({"index.py": pulumi.FileAsset(f"{PROJECT_DIR}/src/x.py")}),
    }
    assert normalize(value) == {
        "context": {"location": "./src"},
        "policy": {"$json": {"Statement": []}},
        "password": "<secret>",
        "code": {"AssetArchive": {"index.py": {"FileAsset": "./src/x.py"}}},
    }
    with pytest.raises(TypeError, match=r"teach review/snapshot\.py"):
        normalize({"odd": object()})
