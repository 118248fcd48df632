"""What the per-image cost model assumes, in one place, each with where the number comes from.

The counts of S3 and DynamoDB calls per handler were measured by running the handlers under moto on the
benchmark's 12 MP photo (`.build/bench/photo-4243x2828-q90-o6-v1.jpg`, 4.0 MB) and counting boto3 calls; item
sizes were measured the same way (the image record is about 1.1 KB with its metadata and renditions, so its
updates cost 1-2 write units). Latencies and throughputs are typical in-region figures, not measurements: they only
move the Lambda and Express duration lines, which the report shows separately.

The workload's shares (heavy, refused, retried, cold starts) and the storage window are options of `make review`
(`REVIEW_ARGS="--cold-start-share 0.05"`, app/review/options.py): each is a field below marked `option`.
"""

import dataclasses
import json
import re
import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy.rules.prices import HOURS_PER_MONTH
from review.extension import AppOptionError
from synth.program import PROJECT_DIR

BENCH_RESULTS = PROJECT_DIR / ".build" / "bench" / "results.json"
TYPICAL_IMAGE = "12MP"
"""The benchmark image a typical upload is taken to be: a 12 MP phone photo."""
README_RENDER_MS = 95.0
"""`make bench`'s median CPU ms/image of the image core on the 12 MP photo (README's table, the run of 2026-12-04 on a
2 vCPU x86_64 machine, where the render took all of its core: CPU and wall time are the same): used when
`.build/bench/results.json` is absent (in CI)."""
README_VALIDATE_MS = 7.2
"""`make bench`'s validation CPU time for 12 MP (bench/validation.py: `inspect_image` and `describe(...).to_record()`,
warm, median of 255 calls in 5 pinned processes), measured in the same run as README_RENDER_MS (6.5-7.0 ms in eleven
runs of its own that day with nothing else running, up to 9.9 ms while other work shared the machine): used when
`.build/bench/results.json` is absent (in CI). The render figure (bench/peers/ours.py) times an `inspect_image` of its
own (about 3 ms), which the process handler does once for both: that part is counted twice, so the two figures
together are an upper bound."""
README_IMPORT_MS = 233.0
"""`make bench`'s INIT of `pipeline.process.handler`, the largest of the entry points: its import from the deployed zip
with bytecode by Python 3.13, boto3's included, CPU time (README, the same run as README_RENDER_MS): every handler's
INIT duration when `.build/bench/results.json` does not measure it."""
MEASURED_RENDITION_BYTES = 168_332
"""The three renditions of the benchmark's 12 MP photo at the pipeline's defaults (1024/512/128 px, JPEG q82):
120,085 + 43,372 + 4,875 bytes, measured with `bench/peers/ours.py`; used when `make bench` has not run (it
renders at q80, a few percent smaller)."""
IMAGES_PER_MONTH = 1_000_000
"""The volume the report prices: a million images."""
SECONDS_PER_HOUR = 3600
SECONDS_PER_MONTH = HOURS_PER_MONTH * SECONDS_PER_HOUR
LAMBDA_MB_PER_VCPU = 1769
"""Lambda allocates CPU in proportion to memory; 1,769 MB is one full vCPU. The image core is single-threaded."""
INIT_CHECKS = (
    (
        re.compile(r"^\(d\) INIT (?P<entry>[\w.]+) <= .*\((?P<way>[^()]+)\)$"),
        re.compile(r"\((?P<ms>\d+(?:\.\d+)?) vs "),
    ),
    (
        re.compile(r"^\(d\) import (?P<entry>[\w.]+) < \d+ ms \((?P<way>.+)\)$"),
        re.compile(r"^(?P<ms>\d+(?:\.\d+)?) ms$"),
    ),
)
"""`make bench`'s checks that time a handler's import (its name, its measured text): the per-entry-point INIT checks
(bench/init_budget.py), whose figure here is the whole import, boto3's included, as a cold start pays it; and the
older per-module import checks. Read defensively: a check of another shape is skipped."""
INIT_WAYS = ("zip with .pyc", "Python 3.13", "-X importtime", "zip without .pyc", "Lambda-like")
"""Which measurement to prefer when there are several, first first: the zip with the bytecode `pulumi up` ships when
it runs with the runtime's Python (as CI does), then imports with bytecode, then a zip without (compiled on every
cold start)."""


@dataclass(frozen=True)
class HandlerWork:
    """What one run of a handler does to other services, per image (measured under moto, see above)."""

    cpu: tuple[str, ...]
    """The compute it spends, by figure: "validate" (validate_cpu_ms) and/or "render" (render_cpu_ms)."""
    s3_get_class: int
    """GET and HEAD requests (both billed as GET-class)."""
    s3_puts_per_rendition: int
    downloads: int
    """Whole-object downloads of the upload (streamed to /tmp)."""
    dynamodb_calls: int
    dynamodb_write_units: int
    log_bytes: int
    """Powertools INFO/WARNING lines (system log level WARN keeps Lambda's START/END/REPORT lines out)."""


VALIDATE = HandlerWork(("validate",), s3_get_class=1, s3_puts_per_rendition=0, downloads=1, dynamodb_calls=4,
                       dynamodb_write_units=4, log_bytes=850)  # fmt: skip
"""The process handler on an image it hands to Fargate: validation only. 1 GET (it finds the object and downloads
it); idempotency PutItem + UpdateItem, claim and route UpdateItems: four items under 1 KB; one INFO line
and the metrics document."""
PROCESS = HandlerWork(("validate", "render"), s3_get_class=1, s3_puts_per_rendition=1, downloads=1, dynamodb_calls=5,
                      dynamodb_write_units=7, log_bytes=1800)  # fmt: skip
"""The process handler on an image it renders: validation and rendering in one invocation, from one download.
1 GET, one PUT per rendition; idempotency PutItem (1 unit) and UpdateItem (2: the stored result is 1.5 KB),
claim and route UpdateItems (1 each), the COMPLETE UpdateItem on the 1.1 KB record (2); two INFO lines and the
metrics document."""
WORKER = HandlerWork(("render",), s3_get_class=1, s3_puts_per_rendition=1, downloads=1, dynamodb_calls=1,
                     dynamodb_write_units=2, log_bytes=1500)  # fmt: skip
"""The Fargate worker runs the same render without Powertools' idempotency; two log lines."""
REFUSED = VALIDATE
"""What a handler does for an image it refuses, whichever handler it is: one validation (claim, the GET that finds
and downloads it, inspect), with the refusal's FAILED UpdateItem in place of the route's and Powertools' DeleteItem of
its record in place of its UpdateItem (the same four writes) and a WARNING line in place of the INFO line. No
rendering."""


@dataclass(frozen=True)
class Handler:
    """A Lambda handler's work on each route an accepted image takes."""

    lambda_route: HandlerWork
    """For an image rendered in Lambda."""
    fargate_route: HandlerWork | None = None
    """For an image handed to the Fargate worker; None: the same as `lambda_route`."""


HANDLERS = {
    "pipeline.process.handler": Handler(PROCESS, fargate_route=VALIDATE),
}
"""Lambda handler -> its work. A handler missing here stops the cost model with an error naming it. The process
handler only validates an image it hands to Fargate (handlers/pipeline/process.py)."""


class AssumptionError(AppOptionError):
    """Assumptions that cannot hold together; the message names them as `make review` options (which `make review`
    reports as a usage error)."""


def _assume(value: Any, why: str, *, option: bool = False, low: float = 0.0, high: float = 1.0) -> Any:
    """A field whose reason travels with it: the report prints each assumption with its `why`. An `option` is also
    a `make review` option, accepted from `low` to `high`."""
    metadata = {"why": why, "option": option, "low": low, "high": high}
    return field(default=value, metadata=metadata)


@dataclass(frozen=True)
class Assumptions:
    heavy_share: float = _assume(
        0.01,
        "share of uploads too big for the rendering Lambda, sent to Fargate: a stated guess, it depends on what "
        "users upload (and on the Lambda's memory, which sets the route's threshold)",
        option=True,
    )
    refused_share: float = _assume(
        0.01,
        "share of uploads refused (not an image, corrupt, over the limits): a stated guess; each costs one "
        "validation, no rendering, and its original is stored like any other",
        option=True,
    )
    retry_share: float = _assume(
        0.01,
        "share of task attempts that fail with a transient error (throttling, a service error) and are retried "
        "once by the workflow: a stated guess; each retry re-runs the whole step and waits its first interval",
        option=True,
    )
    cold_start_share: float = _assume(
        0.01,
        "share of Lambda invocations that start a new execution environment (INIT): AWS's analysis of production "
        "workloads finds cold starts in under 1% of invocations (AWS Compute Blog, 2025); bursts raise it",
        option=True,
    )
    storage_days: int = _assume(
        30,
        "days of storage priced per image: a month of the original, its renditions and the logs, each shortened "
        "by the stack's expiration or retention where that is shorter",
        option=True,
        high=3650,
    )
    images_per_second: float = _assume(
        IMAGES_PER_MONTH / SECONDS_PER_MONTH,
        "arrival rate an X-Ray sampling rule's reservoir is priced at: a million images a month, evenly spread "
        "(what traces the most: a burst overflows the reservoir into the rule's fixed rate)",
    )
    upload_mb: float = _assume(
        4.0,
        "size of a typical upload: the benchmark's 12 MP JPEG (q90) is 4.0 MB, under "
        "boto3's 8 MB multipart threshold, so one GET downloads it",
    )
    rendition_bytes: int = _assume(MEASURED_RENDITION_BYTES, "bytes of the three renditions of one typical upload")
    rendition_bytes_source: str = _assume(
        "measured with bench/peers/ours.py at the pipeline's defaults (1024/512/128 px, JPEG q82)",
        "where rendition_bytes comes from",
    )
    render_cpu_ms: float = _assume(README_RENDER_MS, "render compute for a 12 MP photo on one full core")
    render_cpu_source: str = _assume(
        "README's benchmark table (run `make bench` to measure this machine)", "where render_cpu_ms comes from"
    )
    validate_cpu_ms: float = _assume(
        README_VALIDATE_MS,
        "validate compute for a 12 MP photo on one full core, warm: its header and metadata (the render figure "
        "times an inspect_image too, about 3 ms, so that part is counted twice: an upper bound)",
    )
    validate_cpu_source: str = _assume(
        "`make bench` (bench/validation.py) on 2026-12-04, 2 vCPU x86_64 (run `make bench` to measure this machine)",
        "where validate_cpu_ms comes from",
    )
    init_ms: float = _assume(
        README_IMPORT_MS,
        "INIT duration of a handler that `make bench` has not measured: the cold import of its module (the runtime's "
        "own start, before the import, is not measured and not counted)",
    )
    init_source: str = _assume(
        "README's INIT of pipeline.process.handler, from the zip with bytecode (run `make bench` to measure this "
        "machine)",
        "where init_ms comes from",
    )
    init_ms_measured: tuple[tuple[str, float], ...] = _assume(
        (), "INIT duration per handler module or entry point, from `make bench` when it measured them"
    )
    request_ms: float = _assume(15.0, "latency of one S3 or DynamoDB request from Lambda in-region (typical)")
    s3_mb_per_second: float = _assume(80.0, "single-stream S3 GET throughput in Lambda (typical)")
    state_overhead_ms: float = _assume(10.0, "Step Functions' own time per state entered (typical)")
    api_call_ms: float = _assume(50.0, "a direct service integration call from a workflow (startExecution)")
    data_api_ms: float = _assume(100.0, "one Data API insert on a running (not paused) cluster")
    express_memory_gb: float = _assume(64 / 1024, "Express bills memory in 64 MB steps; a few KB of state is one")
    log_event_bytes: int = _assume(
        1600,
        "one execution-history event with execution data: the state grows from 0.6 KB (the S3 event) to "
        "2.1 KB (measured), plus the envelope",
    )
    log_event_bytes_without_data: int = _assume(
        400,
        "one execution-history event without execution data: its type, ids and time, the execution's ARN (an "
        "Express one holds the state machine's name and two UUIDs) and the state's name or the task's resource; "
        "360-430 bytes in the log format Step Functions documents (tests/program/test_assumptions.py builds them)",
    )
    fargate_task_seconds: int = _assume(
        30,
        "seconds a heavy-path task runs, from its image pull to its end (what Fargate bills, before its "
        "one-minute minimum): a stated guess for pulling the slim worker image, starting it and rendering one "
        "large image",
    )
    insert_acu: float = _assume(0.5, "capacity the insert runs at: Aurora Serverless v2's smallest step above 0")
    bucket_key_reduction: float = _assume(0.99, "share of per-object KMS calls S3 Bucket Keys avoid (AWS: up to 99%)")

    def __post_init__(self) -> None:
        for option in options():
            value = getattr(self, option.name)
            if not option.metadata["low"] <= value <= option.metadata["high"]:
                raise AssumptionError(f"{option_name(option.name)} {value:g}: {expected(option)}")
        if self.heavy_share + self.refused_share > 1:
            raise AssumptionError(
                f"{option_name('heavy_share')} {self.heavy_share:g} and {option_name('refused_share')} "
                f"{self.refused_share:g}: together more than every upload; their sum must be at most 1"
            )

    def init_ms_of(self, handler: str) -> tuple[float, str]:
        """The INIT duration of `handler` ("pipeline.process.handler") and where it comes from: `make bench`'s
        figure for the entry point or its module when measured, else `init_ms`."""
        measured = dict(self.init_ms_measured)
        for name in (handler, handler.rpartition(".")[0]):
            if name in measured:
                return measured[name], f"`make bench`: {name}"
        return self.init_ms, self.init_source


def options() -> list[dataclasses.Field]:
    """The assumptions a `make review` option may set."""
    return [f for f in dataclasses.fields(Assumptions) if f.metadata.get("option")]


def option_name(name: str) -> str:
    """An assumption's option: `cold_start_share` -> `--cold-start-share`."""
    return "--" + name.replace("_", "-")


def expected(option: dataclasses.Field) -> str:
    """What `option` accepts, in words."""
    kind = "a whole number of days" if option.type is int else "a share"
    return f"expected {kind} from {option.metadata['low']:g} to {option.metadata['high']:g}"


def with_benchmark(assumptions: Assumptions, results: Path = BENCH_RESULTS) -> Assumptions:
    """The same assumptions with what `make bench` measured on this machine, when it has run: the render time, the
    validation time, the renditions' bytes and the handlers' INIT durations. Each is read on its own, so a figure the
    results lack (or hold in another shape) keeps its stated value."""
    try:
        document = json.loads(results.read_text())
    except (OSError, ValueError):
        return assumptions
    if not isinstance(document, dict):
        return assumptions
    source = f"`make bench` on this machine: {_shown(results)}"
    changes: dict[str, Any] = {}
    ours = _dig(document, "peers", TYPICAL_IMAGE, "ours")
    render_ms = _render_cpu_ms(ours)
    if render_ms is not None:
        changes |= {"render_cpu_ms": round(render_ms, 1),
                    "render_cpu_source": f"{source} ({TYPICAL_IMAGE}, ours, CPU time where recorded)"}  # fmt: skip
    validate_ms = _number(_dig(document, "validation", TYPICAL_IMAGE, "median_cpu_ms"))
    if validate_ms is not None:
        changes |= {"validate_cpu_ms": round(validate_ms, 1),
                    "validate_cpu_source": f"{source} ({TYPICAL_IMAGE}, bench/validation.py, CPU time)"}  # fmt: skip
    rendition_bytes = _rendition_bytes(_dig(ours, "renditions"))
    if rendition_bytes is not None:
        changes |= {"rendition_bytes": rendition_bytes, "rendition_bytes_source": f"{source} ({TYPICAL_IMAGE}, ours)"}
    measured = _init_measured(document)
    if measured:
        changes["init_ms_measured"] = measured
    return dataclasses.replace(assumptions, **changes)


def _dig(document: Any, *keys: str) -> Any:
    for key in keys:
        document = document.get(key) if isinstance(document, Mapping) else None
    return document


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else None


def _render_cpu_ms(ours: Any) -> float | None:
    """The median CPU time of the benchmark's renders when its rounds hold them, else its median wall time: on a
    machine busy with other work the wall time grows with whatever shared the core, the CPU time much less, and a
    Lambda's vCPU is its own."""
    rounds = _dig(ours, "rounds")
    timings = [_number(t) for r in rounds for t in _dig(r, "cpu_timings_ms") or []] if isinstance(rounds, list) else []
    measured = [timing for timing in timings if timing is not None]
    return statistics.median(measured) if measured else _number(_dig(ours, "median_ms"))


def _rendition_bytes(renditions: Any) -> int | None:
    """The renditions' bytes in all; None unless each rendition states its own."""
    if not isinstance(renditions, list):
        return None
    sizes = [size for rendition in renditions if (size := _number(_dig(rendition, "bytes"))) is not None]
    return int(sum(sizes)) if sizes and len(sizes) == len(renditions) else None


def _init_measured(document: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    """The INIT duration of each entry point or module the benchmark timed, in the preferred way it was timed."""
    found: dict[str, tuple[int, float]] = {}
    checks = document.get("checks")
    for check in checks if isinstance(checks, list) else []:
        for entry, way, ms in _init_figures(str(_dig(check, "name")), str(_dig(check, "measured"))):
            rank = next((i for i, known in enumerate(INIT_WAYS) if way.startswith(known)), len(INIT_WAYS))
            if entry not in found or rank < found[entry][0]:
                found[entry] = (rank, ms)
    return tuple(sorted((entry, ms) for entry, (_, ms) in found.items()))


def _init_figures(name: str, measured: str) -> Iterator[tuple[str, str, float]]:
    for name_pattern, measured_pattern in INIT_CHECKS:
        named, figure = name_pattern.match(name), measured_pattern.search(measured)
        if named and figure:
            yield named["entry"], named["way"], float(figure["ms"])


def _shown(path: Path) -> str:
    """A path as a reader of the report knows it: relative to the project, never the machine's absolute path."""
    try:
        return path.resolve().relative_to(PROJECT_DIR).as_posix()
    except ValueError:
        return path.name
