"""What a Lambda entry point costs at INIT, held by what it imports and defines rather than by a timing (bench/
init_budget.py measures that; a timing here would fail whenever the machine is busy).

Each entry point (a module of handlers/ defining `handler`) is imported in a fresh interpreter after `import boto3`,
as the runtime does: this process has every module loaded by other tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.handlers import images

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
ENTRY_POINTS = sorted(
    ".".join(path.relative_to(HANDLERS).with_suffix("").parts)
    for path in HANDLERS.glob("*/*.py")
    if re.search(r"^def handler\(", path.read_text(), re.MULTILINE)
)
NOT_AT_INIT = {
    "aws_xray_sdk": "the X-Ray SDK: loaded by the first sampled invocation (pipeline/tracing.py)",
    "pydantic": "the event is parsed by pipeline/events.py",
    "aws_lambda_powertools.utilities.typing": "LambdaContext is for annotations only",
    "fractions": "EXIF rationals are divided as ints (imaging/metadata.py); Pillow loads it on its first open",
}
"""Modules no entry point may import, and why it need not."""
IMPORTED = """
import __future__, dataclasses, json, sys, typing
import boto3

def is_record(cls):
    return typing.is_typeddict(cls) or (issubclass(cls, tuple) and hasattr(cls, "_fields"))

before = set(sys.modules)
module = __import__(sys.argv[1], fromlist=["handler"])
assert callable(module.handler)
loaded = sorted(set(sys.modules) - before)
own = [sys.modules[name] for name in loaded if name.partition(".")[0] in ("pipeline", "imaging")]
classes = {mod.__name__: [value for value in vars(mod).values()
                          if isinstance(value, type) and value.__module__ == mod.__name__] for mod in own}
print(json.dumps({
    "modules": loaded,
    "dataclasses": sorted(cls.__qualname__ for found in classes.values() for cls in found
                          if dataclasses.is_dataclass(cls)),
    "postponed": sorted(mod.__name__ for mod in own if getattr(mod, "annotations", None) is __future__.annotations
                        and any(is_record(cls) for cls in classes[mod.__name__])),
}))
"""


def imported(entry_point: str) -> dict[str, Any]:
    """What importing `entry_point` after boto3 loads: its modules, and of the pipeline's and image core's own
    modules, the dataclasses they define and those that postpone the annotations of their records."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(HANDLERS), "AWS_REGION": "us-east-1",
           "AWS_LAMBDA_FUNCTION_NAME": "init-test", "LAMBDA_TASK_ROOT": "/var/task"}  # fmt: skip
    run = subprocess.run([sys.executable, "-c", IMPORTED, entry_point], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_entry_points_are_found():
    assert {"pipeline.process", "catalog.migrate"} <= set(ENTRY_POINTS)


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_imports_nothing_it_can_do_without(entry_point):
    modules = imported(entry_point)["modules"]

    unwanted = {name: why for name, why in NOT_AT_INIT.items() if name in modules}
    assert not unwanted, f"{entry_point} imports at INIT what it need not: {unwanted}"
    plugins = [name for name in modules if name.startswith("PIL.") and name.endswith("ImagePlugin")]
    assert not plugins, "Pillow's plugins load on the first open, the ones it needs only"


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_the_records_an_entry_point_defines_cost_little_to_create(entry_point):
    """A frozen dataclass costs about 0.7 ms of INIT to create, a NamedTuple about 0.15 ms, and postponed
    annotations double what a NamedTuple or a TypedDict costs (see the `pipeline` package's docstring)."""
    result = imported(entry_point)

    assert result["dataclasses"] == []
    assert result["postponed"] == []


FIRST_IMAGES = """
import sys
from pathlib import Path
from PIL import Image
from imaging import ImagingSettings, describe, inspect_image, render_renditions

def init():
    raise AssertionError("Image.init: Pillow loads every plugin it has")

Image.init = init
settings = ImagingSettings()
for path in sys.argv[1:]:
    header = inspect_image(Path(path), settings.limits)
    describe(Path(path), header, keep_personal_exif=False)
    render_renditions(Path(path), header, settings.renditions)
print(sorted(name for name in sys.modules if name.endswith("ImagePlugin")))
"""


def test_the_first_images_load_the_plugins_of_their_formats_not_all_of_pillows(tmp_path):
    """Pillow loads all of its forty-odd plugins (`Image.init`) when it is left to guess a format beyond its five
    common ones: a WebP, opened or written, on the first invocation that meets one (imaging/inspect.py's PLUGINS)."""
    paths = []
    for name, data in [("photo", images.jpeg()), ("alpha", images.png_with_alpha()), ("photo-webp", images.webp())]:
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)  # no extension: the handlers' local copies have none either
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(HANDLERS)}
    command = [sys.executable, "-c", FIRST_IMAGES, *map(str, paths)]
    run = subprocess.run(command, env=env, capture_output=True, text=True)

    assert run.returncode == 0, run.stderr
    assert "PIL.WebPImagePlugin" in run.stdout, "the alpha PNG's renditions are WebP"
