"""The validation step's CPU time in `make bench`: what `pipeline.validate.validate_upload` computes on the run's local
copy of an upload, its header (`inspect_image`) and its metadata record (`describe(...).to_record()`), on the
typical 12 MP photo. The rest of the step (the DynamoDB writes, the log line, the metric) is priced on lines of its
own by the cost model, which reads this figure as `validate_cpu_ms` (app/review/assumptions.py).

`ROUNDS` fresh processes pinned to the benchmark's core, as the peers are, each with one untimed warm-up call (the
first pays the image core's lazy imports, Pillow's JPEG plugin among them, 20-30 ms: a cold start's first invocation
pays them once), then `ITERATIONS` timed calls on the file, as the handler calls them on its copy in /tmp. The figure
is the median CPU time of every timed call (`time.process_time`: a Lambda's vCPU is its own, whatever else shares
this machine's core); several processes, because one process's median moved between 6.7 and 9.5 ms from run to run
here (2 vCPU x86_64), the pooled median of five between 6.5 and 7.0. `make bench` stores it in
`.build/bench/results.json` as

    "validation": {"12MP": {"median_cpu_ms": 6.8, "iterations": 255, "round_medians_cpu_ms": [6.6, ...],
                            "warmup_cpu_ms": [21.2, ...], "image": "photo-4243x2828-q90-o6-v1.jpg"}}

    venv/bin/python bench/validation.py          # this measurement alone; `make bench` runs it after the peers
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import images

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "handlers"
BUILD = ROOT / ".build" / "bench"
IMAGE = "12MP"
"""The benchmark image a typical upload is taken to be (the cost model's `TYPICAL_IMAGE`)."""
ITERATIONS = 51
"""Timed calls per process after the warm-up: about half a second on a 12 MP photo."""
ROUNDS = 5
"""Fresh processes, their timings pooled."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", type=int, default=min(os.sched_getaffinity(0)), help="the CPU to pin the run to")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="fresh processes")
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help="timed calls per process")
    parser.add_argument("--timed", type=Path, help=argparse.SUPPRESS)  # the pinned process that measures
    args = parser.parse_args()
    if args.timed:
        print(json.dumps(timed(args.timed, args.iterations)))
        return
    image = images.generate(BUILD)[IMAGE]
    report(measure(image, args.core, args.rounds, args.iterations))


def measure(image: Path, core: int, rounds: int = ROUNDS, iterations: int = ITERATIONS) -> dict[str, Any]:
    """The validation of `image`, timed in `rounds` fresh processes pinned to `core`, pooled as shown above."""
    runs = [_run(image, core, iterations) for _ in range(rounds)]
    return {
        "median_cpu_ms": statistics.median(timing for run in runs for timing in run["cpu_timings_ms"]),
        "iterations": sum(run["iterations"] for run in runs),
        "round_medians_cpu_ms": [statistics.median(run["cpu_timings_ms"]) for run in runs],
        "warmup_cpu_ms": [run["warmup_cpu_ms"] for run in runs],
        "image": image.name,
    }


def _run(image: Path, core: int, iterations: int) -> dict[str, Any]:
    command = ["taskset", "--cpu-list", str(core), sys.executable, __file__, "--timed", str(image),
               "--iterations", str(iterations)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"validation of {image.name} failed (exit {result.returncode}):\n{result.stderr.strip()}")
    return json.loads(result.stdout)


def timed(image: Path, iterations: int) -> dict[str, Any]:
    """CPU milliseconds of one warm-up validation of `image` and of `iterations` more, with the image core's
    defaults (the handler's unless its environment sets limits or keeps personal EXIF)."""
    if str(HANDLERS) not in sys.path:
        sys.path.insert(0, str(HANDLERS))
    from imaging import ImagingSettings, describe, inspect_image

    settings = ImagingSettings()

    def validate() -> float:
        started = time.process_time_ns()
        header = inspect_image(image, settings.limits)
        describe(image, header, keep_personal_exif=settings.keep_personal_exif).to_record()
        return (time.process_time_ns() - started) / 1e6

    warmup = validate()
    timings = [validate() for _ in range(iterations)]
    return {"iterations": iterations, "warmup_cpu_ms": warmup, "cpu_timings_ms": timings}


def report(result: dict[str, Any]) -> None:
    """One line: the figure, each round's median and the warm-ups."""
    rounds, warmups = result["round_medians_cpu_ms"], result["warmup_cpu_ms"]
    print(f"\nvalidation ({IMAGE}, {result['image']}): inspect_image + describe().to_record(), "
          f"{result['median_cpu_ms']:.1f} ms CPU (median of {result['iterations']}; rounds "
          f"{min(rounds):.1f}-{max(rounds):.1f}; warm-up {min(warmups):.0f}-{max(warmups):.0f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
