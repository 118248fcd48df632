"""The end-to-end figure: uploads per second and latency per image through the local cloud (`python -m app.demo`'s
in-process deployment of a stack: S3 -> EventBridge -> Step Functions -> the Lambda handlers -> DynamoDB, S3 and
the Data API), with the rendition benchmark's 2 MP photo (bench/images.py).

Two runs of 200 uploads each, after one warm-up upload (handler imports, first parse of each definition):

* burst: all uploads as fast as PutObject returns; images per second = uploads / (first upload to last execution
  end). Latency here is mostly waiting behind the others.
* paced: uploads arrive evenly at 60 % of the burst's rate; the latency is an image's own, upload to the end of
  its last execution.

Everything runs in one Python process (moto, the interpreter's threads, every handler), so the figure measures the
pipeline's code and wiring on this machine's cores, not AWS; Lambda would run each invocation on its own vCPU.
Not part of `make test`. Results go to `.build/bench/e2e.json` as well.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BUILD = ROOT / ".build" / "bench"
sys.path[:0] = [str(ROOT), str(BENCH)]

import images  # noqa: E402  (bench/images.py, the rendition benchmark's photos)

from app.demo.cloud import Outcome, PipelineCloud  # noqa: E402
from emulator.adaptations import MOTO_VERSION  # noqa: E402
from emulator.cloud import Upload  # noqa: E402
from emulator.stack import parse_overrides, synthesize_stack  # noqa: E402
from synth.program import close_runtime  # noqa: E402

BURST_STRETCH = 20
"""A burst puts every upload in flight in one interpreter; its timeouts are stretched (see
`LocalCloud.stretched_timeouts`) so that it measures throughput, not the emulator's queueing against AWS's limits."""
PACED_SHARE = 0.6
"""Paced arrivals at this share of the burst's throughput: below capacity, so images do not queue."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    photo = images.generate(BUILD)[args.image].read_bytes()  # the cache `make bench` uses
    program = synthesize_stack(args.stack, parse_overrides(args.set))
    with PipelineCloud(program.synthesis, region=program.region, workdir=BUILD / "e2e") as cloud:
        cloud.wait([cloud.upload("bench/warm-up.jpg", photo, "image/jpeg")])
        with cloud.stretched_timeouts(BURST_STRETCH):
            burst_seconds, burst = _burst(cloud, photo, args.uploads)
        throughput = args.uploads / burst_seconds
        paced = _paced(cloud, photo, args.uploads, PACED_SHARE * throughput)
    close_runtime()
    results = {
        "stack": program.stack,
        "overrides": dict(program.overrides),
        "image": f"{args.image} JPEG, {len(photo):,} bytes",
        "uploads": args.uploads,
        "images_per_second": round(throughput, 2),
        "burst_latency_seconds": _percentiles(burst),
        "paced_rate_per_second": round(PACED_SHARE * throughput, 2),
        "paced_latency_seconds": _percentiles(paced),
        "machine": f"{os.cpu_count()} CPU {platform.machine()}, Python {platform.python_version()}, "
        f"moto {MOTO_VERSION}",
    }
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "e2e.json").write_text(json.dumps(results, indent=2) + "\n")
    _print(results)
    return 0 if all(o.status == "COMPLETE" for o in [*burst, *paced]) else 1


def _burst(cloud: PipelineCloud, photo: bytes, count: int) -> tuple[float, list[Outcome]]:
    started = time.time()
    uploads = [cloud.upload(f"bench/burst/{index:04d}.jpg", photo, "image/jpeg") for index in range(count)]
    outcomes = cloud.wait(uploads, timeout=count * 5.0)
    ended = max(e.stopped.timestamp() for o in outcomes for e in o.executions if e.stopped)
    return ended - started, outcomes


def _paced(cloud: PipelineCloud, photo: bytes, count: int, rate: float) -> list[Outcome]:
    uploads: list[Upload] = []
    start = time.monotonic()
    for index in range(count):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        uploads.append(cloud.upload(f"bench/paced/{index:04d}.jpg", photo, "image/jpeg"))
    return cloud.wait(uploads, timeout=count * 5.0)


def _percentiles(outcomes: list[Outcome]) -> dict[str, float]:
    seconds = sorted(o.seconds for o in outcomes)
    return {
        "median": round(statistics.median(seconds), 3),
        "p95": round(statistics.quantiles(seconds, n=20)[18], 3),
        "max": round(seconds[-1], 3),
    }


def _print(results: dict) -> None:
    print(f"{results['uploads']} uploads of a {results['image']} through stack {results['stack']} "
          f"({results['machine']})")  # fmt: skip
    burst, paced = results["burst_latency_seconds"], results["paced_latency_seconds"]
    print(f"  throughput (burst):            {results['images_per_second']:.2f} images/s")
    print(f"  latency, burst:                median {burst['median']:.2f} s, p95 {burst['p95']:.2f} s")
    print(f"  latency, paced at {results['paced_rate_per_second']:.2f}/s:    "
          f"median {paced['median']:.2f} s, p95 {paced['p95']:.2f} s")  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a profile override")
    parser.add_argument("--image", default="2MP", choices=sorted(images.SIZES))
    return parser


if __name__ == "__main__":
    sys.exit(main())
