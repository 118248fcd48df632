"""Every kind of bad input, uploaded through the bucket in one run: each execution ends FAILED with the image's
error, its record says FAILED with a human-readable reason, no rendition is written, the original is untouched,
and the run goes on (a good image uploaded among them completes)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.demo.cloud import Outcome, PipelineCloud
from tests.e2e.conftest import unique
from tests.handlers import images

TOO_LARGE_LIMIT = 1000
"""MAX_IMAGE_BYTES given to the process function for the too-large case, through the Lambda API."""

BAD_INPUTS = {
    "gif": (images.gif, "UnsupportedFormat", "GIF is not accepted"),
    "text": (images.text_named_like_an_image, "UnsupportedFormat", "match no image format"),
    "too-large": (images.jpeg, "ImageTooLarge", f"the limit is {TOO_LARGE_LIMIT:,} bytes"),
    "bomb": (images.png_bomb, "TooManyPixels", "too many pixels"),
    "truncated": (images.truncated_jpeg, "CorruptImage", "the JPEG is truncated"),
    "corrupt": (images.corrupt_png, "CorruptImage", "cannot be decoded"),
    "empty": (lambda: b"", "CorruptImage", "the file is empty"),
}
"""The bad-input classes of the image core's tests (tests/handlers/images.py), with the error and reason each
must be recorded with."""


def corrupt_panorama() -> bytes:
    """A PNG whose header routes it to the worker (a 4,200 x 1,400 decode does not fit 192 MB) and whose pixel
    data is not deflate: only the worker's decode finds out."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 4200, 1400, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not deflate" * 50) + chunk(b"IEND", b"")


@contextmanager
def process_limit(cloud: PipelineCloud, max_bytes: int) -> Iterator[None]:
    """The process function reconfigured through the Lambda API (as an operator would), then restored."""
    functions = cloud.client("lambda")
    processor = cloud.synthesis.one("aws:lambda/function:Function", "process-function").outputs["arn"]
    variables = functions.get_function_configuration(FunctionName=processor)["Environment"]["Variables"]
    limited = {**variables, "MAX_IMAGE_BYTES": str(max_bytes)}
    functions.update_function_configuration(FunctionName=processor, Environment={"Variables": limited})
    try:
        yield
    finally:
        functions.update_function_configuration(FunctionName=processor, Environment={"Variables": variables})


@pytest.fixture(scope="module")
def run(cloud: PipelineCloud) -> dict[str, tuple[bytes, Outcome]]:
    """Every bad input and one good image uploaded together; the outcomes by case."""
    cases = {case: make() for case, (make, _, _) in BAD_INPUTS.items()}
    cases |= {"corrupt-on-the-worker": corrupt_panorama(), "good": images.jpeg()}
    with process_limit(cloud, TOO_LARGE_LIMIT):
        too_large = cloud.upload(unique("too-large.jpg"), cases["too-large"], "image/jpeg")
        cloud.wait([too_large])
    uploads = {case: cloud.upload(unique(f"{case}.jpg"), data, "image/jpeg")
               for case, data in cases.items() if case != "too-large"}  # fmt: skip
    uploads["too-large"] = too_large
    outcomes = cloud.wait(uploads.values())
    return {case: (cases[case], outcome) for case, outcome in zip(uploads, outcomes, strict=True)}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_a_refused_image_ends_failed_with_its_reason_and_nothing_written(cloud, run, case):
    data, outcome = run[case]
    _, error, reason = BAD_INPUTS[case]
    [execution] = outcome.executions
    assert (execution.status, execution.error) == ("FAILED", error), execution.cause
    assert (outcome.record["status"], outcome.record["error"]) == ("FAILED", error)
    assert reason in outcome.record["cause"]
    assert _renditions_of(cloud, outcome) == []
    assert cloud.original(outcome.upload) == data


def test_an_image_the_worker_cannot_decode_is_refused_on_the_heavy_path(cloud, run):
    data, outcome = run["corrupt-on-the-worker"]
    assert [(e.state_machine.split("-dev-")[-1], e.status, e.error) for e in outcome.executions] == [
        ("process-upload", "SUCCEEDED", None),
        ("heavy-path", "FAILED", "Rejected"),
    ]
    assert (outcome.record["status"], outcome.record["route"], outcome.record["error"]) == (
        "FAILED", "fargate", "CorruptImage")  # fmt: skip
    assert "cannot be decoded" in outcome.record["cause"]
    assert _renditions_of(cloud, outcome) == []
    assert cloud.original(outcome.upload) == data


def test_the_run_goes_on_around_bad_inputs(cloud, run):
    _, good = run["good"]
    assert (good.status, len(good.renditions)) == ("COMPLETE", 3)
    assert not [d for d in cloud.deliveries() if d.error], "every event started its execution"


def _renditions_of(cloud: PipelineCloud, outcome: Outcome) -> list[str]:
    folder = outcome.upload.key.removeprefix(cloud.upload_prefix)
    return [key for key in cloud.rendition_keys() if key.startswith(f"renditions/{folder}/")]
