"""What the per-image cost model assumes, in one place, each with where the number comes from.

The counts of S3 and DynamoDB calls per handler were measured by running the handlers under moto on the
benchmark's 12 MP photo (`.build/bench/photo-4243x2828-q90-o6-v1.jpg`, 4.0 MB) and counting boto3 calls; item
sizes were measured the same way (the image record is about 1.1 KB with its metadata and renditions, so its
updates cost 1-2 write units). Latencies and throughputs are typical in-region figures, not measurements: they only
move the Lambda and Express duration lines, which the report shows separately.
"""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth.program import PROJECT_DIR

BENCH_RESULTS = PROJECT_DIR / ".build" / "bench" / "results.json"
TYPICAL_IMAGE = "12MP"
"""The benchmark image a typical upload is taken to be: a 12 MP phone photo."""
README_RENDER_MS = 67.1
"""`make bench`'s measured ms/image for 12 MP (README's table): used when `.build/bench/results.json` is absent."""
LAMBDA_MB_PER_VCPU = 1769
"""Lambda allocates CPU in proportion to memory; 1,769 MB is one full vCPU. The image core is single-threaded."""


@dataclass(frozen=True)
class HandlerWork:
    """What one run of a handler does to other services, per image (measured under moto, see above)."""

    cpu: str
    """Which compute figure applies: "validate" or "render"."""
    s3_get_class: int
    """GET and HEAD requests (both billed as GET-class)."""
    s3_puts_per_rendition: int
    downloads: int
    """Whole-object downloads of the upload (streamed to /tmp)."""
    dynamodb_calls: int
    dynamodb_write_units: int
    log_bytes: int
    """One Powertools INFO line (system log level WARN keeps Lambda's START/END/REPORT lines out)."""


VALIDATE = HandlerWork("validate", s3_get_class=3, s3_puts_per_rendition=0, downloads=1, dynamodb_calls=4,
                       dynamodb_write_units=4, log_bytes=600)  # fmt: skip
"""2 HEAD (resolve, then the download's size check) + 1 GET; idempotency PutItem + UpdateItem, claim and route
UpdateItems: four items under 1 KB."""
RENDER = HandlerWork("render", s3_get_class=2, s3_puts_per_rendition=1, downloads=1, dynamodb_calls=3,
                     dynamodb_write_units=4, log_bytes=800)  # fmt: skip
"""HEAD + GET, one PUT per rendition; idempotency PutItem + UpdateItem (1 unit each), the COMPLETE UpdateItem on the
1.1 KB record (2 units)."""
WORKER = HandlerWork("render", s3_get_class=2, s3_puts_per_rendition=1, downloads=1, dynamodb_calls=1,
                     dynamodb_write_units=2, log_bytes=1500)  # fmt: skip
"""The Fargate worker runs the same render without Powertools' idempotency; two log lines."""
HANDLERS = {"pipeline.validate.handler": VALIDATE, "pipeline.render.handler": RENDER}
"""Lambda handler -> its work. A handler missing here stops the cost model with an error naming it."""


def _assume(value: Any, why: str) -> Any:
    """A field whose reason travels with it: the report prints each assumption with its `why`."""
    return field(default=value, metadata={"why": why})


@dataclass(frozen=True)
class Assumptions:
    heavy_share: float = _assume(
        0.01,
        "share of images too big for the rendering Lambda, sent to Fargate: a stated "
        "guess, it depends on what users upload",
    )
    upload_mb: float = _assume(
        4.0,
        "size of a typical upload: the benchmark's 12 MP JPEG (q90) is 4.0 MB, under "
        "boto3's 8 MB multipart threshold, so one GET downloads it",
    )
    render_cpu_ms: float = _assume(README_RENDER_MS, "render compute for a 12 MP photo on one full core")
    render_cpu_source: str = _assume(
        "README's benchmark table (run `make bench` to measure this machine)", "where render_cpu_ms comes from"
    )
    validate_cpu_ms: float = _assume(
        50.0,
        "validate compute on one full core; not benchmarked: the handler took "
        "54 ms end to end under moto on the same photo",
    )
    request_ms: float = _assume(15.0, "latency of one S3 or DynamoDB request from Lambda in-region (typical)")
    s3_mb_per_second: float = _assume(80.0, "single-stream S3 GET throughput in Lambda (typical)")
    state_overhead_ms: float = _assume(10.0, "Step Functions' own time per state entered (typical)")
    api_call_ms: float = _assume(50.0, "a direct service integration call from a workflow (startExecution)")
    data_api_ms: float = _assume(100.0, "one Data API insert on a running (not paused) cluster")
    express_memory_gb: float = _assume(64 / 1024, "Express bills memory in 64 MB steps; a few KB of state is one")
    log_event_bytes: int = _assume(
        1600,
        "one execution-history event at level ALL with execution data: the state "
        "grows from 0.6 KB (the S3 event) to 2.1 KB (measured), plus the envelope",
    )
    fargate_billed_seconds: int = _assume(
        60,
        "Fargate bills per second with a one-minute minimum; pulling, "
        "starting and rendering one large image is taken to fit in it",
    )
    insert_acu: float = _assume(0.5, "capacity the insert runs at: Aurora Serverless v2's smallest step above 0")
    bucket_key_reduction: float = _assume(0.99, "share of per-object KMS calls S3 Bucket Keys avoid (AWS: up to 99%)")


def with_benchmark(assumptions: Assumptions, results: Path = BENCH_RESULTS) -> Assumptions:
    """The same assumptions with the render time measured by `make bench` on this machine, when it has run."""
    try:
        measured = json.loads(results.read_text())["peers"][TYPICAL_IMAGE]["ours"]["median_ms"]
    except (OSError, ValueError, KeyError, TypeError):
        return assumptions
    source = f"`make bench` on this machine: {_shown(results)} ({TYPICAL_IMAGE}, ours, one core)"
    return dataclasses.replace(assumptions, render_cpu_ms=round(float(measured), 1), render_cpu_source=source)


def _shown(path: Path) -> str:
    """A path as a reader of the report knows it: relative to the project, never the machine's absolute path."""
    try:
        return path.resolve().relative_to(PROJECT_DIR).as_posix()
    except ValueError:
        return path.name
