"""`make bench`: the image core against naive Pillow, pyvips and sharp, the validation step's CPU time, plus the
handlers' INIT and package size.

Every peer makes the same renditions of the same generated photos, each in a fresh process per image (so that a
peak RSS belongs to one peer and one image size) pinned to one core (so that no library's threads buy it a speed
that a Lambda of up to 1,769 MB, which has at most one vCPU, would not have). The peers take turns over `ROUNDS`
rounds, so that a burst of other load on the machine slows every peer a little rather than one peer a lot.

The tables and the PASS/FAIL lines check the issue's targets; the same numbers go to `.build/bench/results.json`
for the README. Not part of `make test`: it takes a few minutes and its numbers depend on the machine.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import images
import init_budget
import validation
from init_budget import check_line

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "handlers"
BENCH = ROOT / "bench"
BUILD = ROOT / ".build" / "bench"
sys.path[:0] = [str(ROOT), str(HANDLERS)]  # `components.packaging` for the package size, and the handler modules

from app.code import LAMBDA_CODE  # noqa: E402
from components.function import PYTHON_VERSION  # noqa: E402
from components.packaging import (  # noqa: E402
    LAMBDA_UNZIPPED_LIMIT_BYTES,
    LAMBDA_ZIPPED_LIMIT_BYTES,
    PackagingError,
    build_package,
)

SIZES = (1024, 512, 128)
"""Longest side of each rendition, as the pipeline's defaults."""
QUALITY = 80
TARGET_SECONDS = 2.0
"""Timed time per cell (peer x image); the iteration count follows from the warm-up."""
MIN_ITERATIONS = 3
ROUNDS = 3
"""Fresh processes per cell; a cell's median is over the timings of all its rounds, its peak RSS the highest."""
ONE_THREAD_ENV = {"UV_THREADPOOL_SIZE": "1", "VIPS_CONCURRENCY": "1"}
"""For the libvips peers: the Pillow peers decode on one thread anyway (Pillow does not thread a decode or a resize)."""


@dataclass(frozen=True)
class Peer:
    command: list[str]
    single_decode: bool
    """Decodes each image once for all its renditions; sharp's idiomatic pipelines decode it once per rendition."""
    env: dict[str, str] = field(default_factory=dict)


PEERS: dict[str, Peer] = {
    "ours": Peer([sys.executable, str(BENCH / "peers" / "ours.py")], single_decode=True),
    "naive": Peer([sys.executable, str(BENCH / "peers" / "naive.py")], single_decode=True),
    "pyvips": Peer([sys.executable, str(BENCH / "peers" / "vips.py")], single_decode=True, env=ONE_THREAD_ENV),
    "sharp": Peer(["node", str(BENCH / "peers" / "sharp.mjs")], single_decode=False, env=ONE_THREAD_ENV),
}
BUSY_SHARE = 0.9
"""Under this share of CPU time in wall time, another process ran on the pinned core during the measurement."""

THROUGHPUT_TARGET = 2.0
"""(a) ours >= 2x sharp's images/s at 12 and 24 MP."""
MEMORY_TARGET = 0.5
"""(b) ours peak RSS <= 0.5x sharp's at 12 and 24 MP."""
RSS_LIMIT_MB = 96
"""(c) ours peak RSS under 96 MB at 24 MP: fits a small Lambda with room for the handler."""
SINGLE_DECODE_MARGIN = 0.10
"""(f) ours at most 10 % slower than the fastest other single-decode peer at 12 and 24 MP."""
TARGET_IMAGES = ("12MP", "24MP")


def main() -> None:
    """Run every peer on every image, then the import and package checks; print the report and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="fresh processes per peer and image")
    parser.add_argument("--import-runs", type=int, default=init_budget.RUNS, help="fresh interpreters per import")
    parser.add_argument("--core", type=int, default=min(os.sched_getaffinity(0)), help="the CPU to pin peers to")
    args = parser.parse_args()

    print(f"pinned to CPU {args.core}; {TARGET_SECONDS:g} s per cell; renditions {SIZES} as JPEG q{QUALITY}")
    paths = images.generate(BUILD)
    peers = measure(paths, args.core, args.rounds)
    for label, results in peers.items():
        print_table(label, paths[label], results)
    validated = {validation.IMAGE: validation.measure(paths[validation.IMAGE], args.core)}
    validation.report(validated[validation.IMAGE])
    checks = [*target_checks(peers), *init_budget.checks(args.core, args.import_runs), *build_lambda_package(),
              *single_decode_checks(peers)]  # fmt: skip
    print("\ntargets")
    for check in checks:
        print(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['name']}: {check['measured']}")
    write_results(peers, validated, checks, paths)


def measure(paths: dict[str, Path], core: int, rounds: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Every peer on every image, `rounds` times, the peers' order rotating each round; pooled per image and peer."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {label: {name: [] for name in PEERS} for label in paths}
    for round_number in range(rounds):
        order = list(PEERS)[round_number % len(PEERS) :] + list(PEERS)[: round_number % len(PEERS)]
        for label, path in paths.items():
            for name in order:
                runs[label][name].append(run_peer(name, path, core))
    return {label: {name: pooled(results) for name, results in by_peer.items()} for label, by_peer in runs.items()}


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One peer on one image over all rounds: the median of every timed iteration, the highest peak RSS."""
    timings = [timing for run in runs for timing in run["timings_ms"]]
    cpu_timings = [timing for run in runs for timing in run["cpu_timings_ms"]]
    return {
        "peer": runs[0]["peer"],
        "versions": runs[0]["versions"],
        "renditions": runs[0]["renditions"],  # the same in every round: the peers are deterministic
        "median_ms": statistics.median(timings),
        "round_medians_ms": [run["median_ms"] for run in runs],
        "cpu_share": sum(cpu_timings) / sum(timings),
        "iterations": len(timings),
        "max_rss_kb": max(run["max_rss_kb"] for run in runs),
        "baseline_rss_kb": max(run["baseline_rss_kb"] for run in runs),
        "rounds": runs,
    }


def run_peer(name: str, image: Path, core: int) -> dict[str, Any]:
    """One fresh process of peer `name` on `image`, pinned to `core`; its JSON result."""
    command = [*PEERS[name].command, str(image), "--sizes", ",".join(map(str, SIZES)), "--quality", str(QUALITY),
               "--target-seconds", str(TARGET_SECONDS), "--min-iterations", str(MIN_ITERATIONS)]  # fmt: skip
    env = {**os.environ, **PEERS[name].env, "PYTHONPATH": _python_path()}
    pinned = ["taskset", "--cpu-list", str(core), *command]
    result = subprocess.run(pinned, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"peer {name} failed on {image.name} (exit {result.returncode}):\n{result.stderr.strip()}")
    return json.loads(result.stdout)


def print_table(label: str, image: Path, results: dict[str, dict[str, Any]]) -> None:
    """One table per image size, with each peer's ratios against sharp."""
    sharp = results["sharp"]
    print(f"\n{label}: {image.name} ({image.stat().st_size / 2**20:.1f} MB)")
    print(_ROW.format("peer", "ms/image", "rounds ms", "CPU %", "images/s", "peak RSS MB", "base RSS MB",
                      "thr x sharp", "mem x sharp", "iters", "renditions (w x h, KB)"))  # fmt: skip
    for name, result in results.items():
        print(_ROW.format(
            name,
            f"{result['median_ms']:.1f}",
            f"{min(result['round_medians_ms']):.0f}-{max(result['round_medians_ms']):.0f}",
            f"{result['cpu_share']:.0%}",
            f"{1000 / result['median_ms']:.2f}",
            f"{result['max_rss_kb'] / 1024:.1f}",
            f"{result['baseline_rss_kb'] / 1024:.1f}",
            f"{throughput_ratio(result, sharp):.2f}",
            f"{memory_ratio(result, sharp):.2f}",
            result["iterations"],
            ", ".join(f"{r['width']}x{r['height']} {r['bytes'] / 1024:.0f}" for r in result["renditions"]),
        ))  # fmt: skip
    if min(result["cpu_share"] for result in results.values()) < BUSY_SHARE:
        print(f"  WARNING: a peer got under {BUSY_SHARE:.0%} of its core (CPU %): other load shared it, so its times "
              "are inflated; rerun on an idle machine")  # fmt: skip
    sizes = {name: [(r["width"], r["height"]) for r in result["renditions"]] for name, result in results.items()}
    # A cascade rounds a side it halves from an odd one (683 -> 341.5 -> 342), a resize of the original may not.
    by_rendition = zip(*sizes.values(), strict=True)  # each rendition: every peer's (width, height)
    if any(max(sides) - min(sides) > 1 for rendition in by_rendition for sides in zip(*rendition, strict=True)):
        print(f"  WARNING: the peers made renditions of different sizes (beyond a pixel of rounding): {sizes}")


_ROW = "  {:<6} {:>9} {:>10} {:>6} {:>9} {:>12} {:>12} {:>12} {:>12} {:>6}  {}"


def throughput_ratio(result: dict[str, Any], sharp: dict[str, Any]) -> float:
    """Images/s of `result` over sharp's: the ratio of median times, inverted."""
    return sharp["median_ms"] / result["median_ms"]


def memory_ratio(result: dict[str, Any], sharp: dict[str, Any]) -> float:
    return result["max_rss_kb"] / sharp["max_rss_kb"]


def target_checks(peers: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """(a), (b), (c): the image core against sharp and against the memory budget."""
    checks = []
    for label in TARGET_IMAGES:
        ours, sharp = peers[label]["ours"], peers[label]["sharp"]
        speed, memory = throughput_ratio(ours, sharp), memory_ratio(ours, sharp)
        by_round = [s / o for o, s in zip(ours["round_medians_ms"], sharp["round_medians_ms"], strict=True)]
        times = f"{ours['median_ms']:.1f} vs {sharp['median_ms']:.1f} ms/image; rounds {_span(by_round)}x"
        peaks = f"{ours['max_rss_kb'] / 1024:.1f} vs {sharp['max_rss_kb'] / 1024:.1f} MB"
        checks += [
            check_line(f"(a) {label} ours throughput >= {THROUGHPUT_TARGET:g}x sharp", speed >= THROUGHPUT_TARGET,
                   f"{speed:.2f}x ({times})"),
            check_line(f"(b) {label} ours peak RSS <= {MEMORY_TARGET:g}x sharp", memory <= MEMORY_TARGET,
                   f"{memory:.2f}x ({peaks})"),
        ]  # fmt: skip
    rss_mb = peers["24MP"]["ours"]["max_rss_kb"] / 1024
    checks.append(check_line(f"(c) 24MP ours peak RSS < {RSS_LIMIT_MB} MB", rss_mb < RSS_LIMIT_MB, f"{rss_mb:.1f} MB"))
    return checks


def single_decode_checks(peers: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """(f) The image core against the fastest other peer that decodes once (pyvips' cascade, or naive Pillow): what
    the same design gets from another library, where sharp's idiomatic use decodes once per rendition."""
    checks = []
    for label in TARGET_IMAGES:
        ours = peers[label]["ours"]
        others = [name for name in peers[label] if name != "ours" and PEERS[name].single_decode]
        name = min(others, key=lambda other: peers[label][other]["median_ms"])
        fastest = peers[label][name]
        slower = ours["median_ms"] / fastest["median_ms"]
        by_round = [o / f for o, f in zip(ours["round_medians_ms"], fastest["round_medians_ms"], strict=True)]
        checks.append(check_line(
            f"(f) {label} ours within {SINGLE_DECODE_MARGIN:.0%} of the fastest single-decode peer",
            slower <= 1 + SINGLE_DECODE_MARGIN,
            f"{slower:.2f}x {name}'s time ({ours['median_ms']:.1f} vs {fastest['median_ms']:.1f} ms/image; "
            f"rounds {_span(by_round)}x)",
        ))  # fmt: skip
    return checks


def build_lambda_package() -> list[dict[str, Any]]:
    """(e) The size checks of the Lambda zip as `__main__.py` deploys it (app/code.py, arm64)."""
    try:
        package = build_package(LAMBDA_CODE, python_version=PYTHON_VERSION, architecture="arm64",
                                build_dir=ROOT / ".build/lambda")  # fmt: skip
    except PackagingError as error:
        return [check_line("(e) Lambda package", False, str(error))]
    print(f"\n(e) {package.path.relative_to(ROOT)}: {', '.join(LAMBDA_CODE.packages)} + handlers/requirements.txt")
    return [
        check_line(f"(e) Lambda package {kind} <= {limit / 2**20:.0f} MB", size <= limit, f"{size / 2**20:.1f} MB")
        for kind, size, limit in (
            ("zipped", package.zipped_bytes, LAMBDA_ZIPPED_LIMIT_BYTES),
            ("unzipped", package.unzipped_bytes, LAMBDA_UNZIPPED_LIMIT_BYTES),
        )
    ]


def write_results(
    peers: dict[str, Any], validated: dict[str, Any], checks: list[dict[str, Any]], paths: dict[str, Path]
) -> None:
    """Everything printed, as JSON, so that the README's numbers can be regenerated from one run; `validation` holds
    the validation step's CPU time by image (bench/validation.py), which the cost model reads."""
    output = BUILD / "results.json"
    results = {
        "machine": {"cpu": _cpu_model(), "python": platform.python_version(), "node": _node_version()},
        "parameters": {
            "sizes": SIZES,
            "quality": QUALITY,
            "target_seconds": TARGET_SECONDS,
            "min_iterations": MIN_ITERATIONS,
            "images": {label: path.name for label, path in paths.items()},
            "handler_packages": list(LAMBDA_CODE.packages),
        },
        "peers": peers,
        "validation": validated,
        "checks": checks,
    }
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {output.relative_to(ROOT)}")


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def _python_path() -> str:
    return os.pathsep.join(filter(None, [str(HANDLERS), str(ROOT), os.environ.get("PYTHONPATH")]))


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    main()
