"""Committed snapshots of each stack's synthesized graph, so that a pull request's diff shows what it changes in
dev and in prod: every resource by a stack-independent key, with its parent, provider, options, dependencies and
inputs. JSON documents held as text (policies, definitions) are expanded, so a changed statement is a changed line.

    python -m review.snapshot --write   # refresh review/snapshots/<stack>.json for every stack (`make snapshots`)
    python -m review.snapshot           # check them: exit 1 and name the stale ones

Nothing machine-specific may reach a snapshot: absolute paths become project-relative, build outputs lose their
cache keys, and the Lambda zip's hash (its bytes depend on the build machine's zlib and Python version, see
components/packaging.py) is replaced by a placeholder. Content hashes computed from the sources only (the worker
image's tag, the migrations' digest) stay: they change exactly when the sources do.
"""

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import pulumi

from review.names import key, parse_json
from synth.program import PROJECT_DIR, RecordedResource, Synthesis, close_runtime, stack_names, synthesize

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
REFRESH_COMMAND = "make snapshots"
"""What a stale snapshot's failure tells the developer to run (the Makefile target runs `--write`)."""
BUILD_DIR = PROJECT_DIR / ".build"
PLACEHOLDERS = {
    "sourceCodeHash": "<sha256 of the built Lambda zip: its bytes depend on the build machine>",
}
"""Inputs whose value is machine-specific, by name."""
SECRET_KEYS = frozenset({"password", "secretString", "masterPassword"})
CACHE_KEY = re.compile(r"-[0-9a-f]{12,}(?=\.)")
"""The content-hash suffix of a cached build output's file name (`handlers-26cb60aae3da27ed86e9.zip`)."""


def snapshot_path(stack: str) -> Path:
    return SNAPSHOT_DIR / f"{stack}.json"


def render(synthesis: Synthesis) -> str:
    """The snapshot's text: sorted keys, two-space indent, a final newline; the same program gives the same text."""
    document = {
        "stack": synthesis.stack,
        "outputs": normalize(synthesis.outputs),
        "resources": {key(r.urn): describe(r) for r in synthesis.resources},
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def describe(resource: RecordedResource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": resource.type,
        "custom": resource.custom,
        "parent": None if _is_stack(resource.parent) else key(resource.parent),
        "protect": resource.protect,
        "retainOnDelete": resource.retain_on_delete,
        "dependencies": sorted({key(urn) for urn in resource.dependencies}),
        "inputs": normalize(resource.inputs),
    }
    if resource.provider:
        entry["provider"] = key(resource.provider.rsplit("::", 1)[0])
    if resource.delete_before_replace:
        entry["deleteBeforeReplace"] = True
    if resource.ignore_changes:
        entry["ignoreChanges"] = sorted(resource.ignore_changes)
    return entry


def _is_stack(urn: str) -> bool:
    return not urn or "::pulumi:pulumi:Stack::" in urn


def normalize(value: Any, name: str = "") -> Any:
    """A JSON-ready copy of `value` without anything that differs between machines or runs."""
    if name in PLACEHOLDERS:
        return PLACEHOLDERS[name]
    if name in SECRET_KEYS:
        return "<secret>"
    if isinstance(value, dict):
        return {str(k): normalize(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(item) for item in value]
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):
        return _asset(value)
    if isinstance(value, str):
        parsed = parse_json(value)
        return {"$json": normalize(parsed)} if parsed is not None else _path_free(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise TypeError(f"cannot snapshot a {type(value).__name__} ({value!r}); teach review/snapshot.py to normalize it")


def _asset(asset: pulumi.Asset | pulumi.Archive) -> dict[str, Any]:
    kind = type(asset).__name__
    if isinstance(asset, pulumi.AssetArchive):
        return {kind: {name: normalize(item) for name, item in sorted(asset.assets.items())}}
    for attribute in ("path", "uri", "text"):
        if isinstance(getattr(asset, attribute, None), str):
            return {kind: _path_free(str(getattr(asset, attribute)))}
    return {kind: None}


def _path_free(text: str) -> str:
    """Project paths relative to the project; a cached build output without the cache key in its name."""
    build = str(BUILD_DIR)
    if text.startswith(build):
        return "<build output> " + CACHE_KEY.sub("-<cache key>", ".build" + text[len(build) :])
    return text.replace(str(PROJECT_DIR), ".")


def stale_stacks(stacks: list[str]) -> list[str]:
    """The stacks whose committed snapshot differs from what the program declares now."""
    stale = []
    for stack in stacks:
        path = snapshot_path(stack)
        if not path.is_file() or path.read_text() != render(synthesize(stack)):
            stale.append(stack)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write the snapshots instead of checking them")
    options = parser.parse_args(argv)
    stacks = stack_names()
    try:
        if options.write:
            SNAPSHOT_DIR.mkdir(exist_ok=True)
            for orphan in sorted(set(SNAPSHOT_DIR.glob("*.json")) - {snapshot_path(s) for s in stacks}):
                orphan.unlink()  # the stack file is gone: so is its snapshot
            for stack in stacks:
                snapshot_path(stack).write_text(render(synthesize(stack)))
                print(f"wrote {snapshot_path(stack).relative_to(PROJECT_DIR)}")
            return 0
        stale = stale_stacks(stacks)
    finally:
        close_runtime()
    if stale:
        print(f"stale snapshots: {', '.join(stale)}; run `{REFRESH_COMMAND}` and commit the result", file=sys.stderr)
        return 1
    print(f"snapshots current: {', '.join(stacks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
