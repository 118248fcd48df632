"""The timing loop that both Python peers share, so that they are measured exactly alike (and like sharp.mjs).

A peer is one fresh process per image, pinned to one core by `bench/run.py`. It reads the file into new memory
before every iteration (as a Lambda does from S3, and so that no library can reuse a previous call's input), runs
one untimed warm-up, then enough timed iterations to fill about `target_seconds`, and prints one JSON object.
"""

import argparse
import json
import math
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple


class Output(NamedTuple):
    """One rendition as measured: enough to check that the peers made the same thing."""

    size: int
    width: int
    height: int
    bytes: int


Render = Callable[[bytes, tuple[int, ...], int], list[Output]]
"""(JPEG bytes, longest sides, JPEG quality) -> one Output per size, in the order given."""

MAX_ITERATIONS = 200


def main(peer: str, render: Render, versions: dict[str, str]) -> None:
    """Parse the arguments every peer takes, measure `render` on the image and print the result as JSON."""
    parser = argparse.ArgumentParser(description=f"Time the {peer} peer on one image.")
    parser.add_argument("image", type=Path)
    parser.add_argument("--sizes", type=lambda text: tuple(int(size) for size in text.split(",")), required=True)
    parser.add_argument("--quality", type=int, required=True)
    parser.add_argument("--target-seconds", type=float, required=True)
    parser.add_argument("--min-iterations", type=int, required=True)
    args = parser.parse_args()

    baseline_kb = peak_rss_kb()  # the runtime and the imports, before any image is touched
    warmup_ms, _, outputs = _timed(render, args.image, args.sizes, args.quality)
    count = iterations(warmup_ms, args.target_seconds, args.min_iterations)
    timings, cpu_timings = [], []
    for _ in range(count):
        wall_ms, cpu_ms, _ = _timed(render, args.image, args.sizes, args.quality)
        timings.append(wall_ms)
        cpu_timings.append(cpu_ms)
    print(json.dumps({
        "peer": peer,
        "versions": versions,
        "iterations": count,
        "warmup_ms": warmup_ms,
        "median_ms": statistics.median(timings),
        "timings_ms": timings,
        "cpu_timings_ms": cpu_timings,
        "baseline_rss_kb": baseline_kb,
        "max_rss_kb": peak_rss_kb(),
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "renditions": [output._asdict() for output in outputs],
    }))  # fmt: skip


def iterations(warmup_ms: float, target_seconds: float, minimum: int) -> int:
    """How many timed iterations fill `target_seconds`, judged from the warm-up; sharp.mjs uses the same rule."""
    return max(minimum, min(MAX_ITERATIONS, math.ceil(target_seconds * 1000 / max(warmup_ms, 0.001))))


def _timed(render: Render, image: Path, sizes: tuple[int, ...], quality: int) -> tuple[float, float, list[Output]]:
    """Wall and CPU milliseconds of one call, and its outputs. CPU time (all threads) falls short of wall time when
    something else ran on the pinned core: run.py reports the share, to flag a busy machine."""
    data = image.read_bytes()  # untimed: reading is the same for every peer and not what is compared
    start, cpu_start = time.perf_counter_ns(), time.process_time_ns()
    outputs = render(data, sizes, quality)
    return (time.perf_counter_ns() - start) / 1e6, (time.process_time_ns() - cpu_start) / 1e6, outputs


def peak_rss_kb() -> int:
    """This process's own peak resident set size in KiB: VmHWM, the high-water mark of its address space.

    Not `ru_maxrss`: Linux carries the spawning process's peak across exec into `ru_maxrss`, so a peer started by
    bench/run.py (which has held 24 MP images) would report the parent's peak, not its own. For a process started
    from a small shell the two agree; both are in the JSON. sharp.mjs reads the same line.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status: the benchmark measures memory on Linux only")
