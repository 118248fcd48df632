"""`make bench`: the image core against naive Pillow and sharp, plus the handler's import time and package size.

Every peer makes the same renditions of the same generated photos, each in a fresh process per image (so that a
peak RSS belongs to one peer and one image size) pinned to one core (so that no library's threads buy it a speed
that a Lambda of up to 1,769 MB, which has at most one vCPU, would not have). The peers take turns over `ROUNDS`
rounds, so that a burst of other load on the machine slows every peer a little rather than one peer a lot.

The tables and the PASS/FAIL lines check the issue's targets; the same numbers go to `.build/bench/results.json`
for the README. Not part of `make test`: it takes a minute or two and its numbers depend on the machine.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import images

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "handlers"
BENCH = ROOT / "bench"
BUILD = ROOT / ".build" / "bench"
sys.path[:0] = [str(ROOT), str(HANDLERS)]  # `components.packaging` for the package size, and the handler modules

SIZES = (1024, 512, 128)
"""Longest side of each rendition, as the pipeline's defaults."""
QUALITY = 80
TARGET_SECONDS = 2.0
"""Timed time per cell (peer x image); the iteration count follows from the warm-up."""
MIN_ITERATIONS = 3
ROUNDS = 3
"""Fresh processes per cell; a cell's median is over the timings of all its rounds, its peak RSS the highest."""
IMPORT_RUNS = 5
LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "image-pipeline-bench-render",
}
"""Set in every Lambda. The X-Ray SDK reads LAMBDA_TASK_ROOT at import: outside Lambda it builds two botocore
clients for centralized sampling (~100 ms) that it never builds in Lambda, so leaving it out would time the wrong
import. The shell's own values win."""
MODULES = ("imaging", "pipeline.render")
"""Handler modules whose cold import is timed; the ones that do not import (yet) are reported as skipped."""
PEERS: dict[str, list[str]] = {
    "ours": [sys.executable, str(BENCH / "peers" / "ours.py")],
    "naive": [sys.executable, str(BENCH / "peers" / "naive.py")],
    "sharp": ["node", str(BENCH / "peers" / "sharp.mjs")],
}
BUSY_SHARE = 0.9
"""Under this share of CPU time in wall time, another process ran on the pinned core during the measurement."""
ONE_THREAD_ENV = {"UV_THREADPOOL_SIZE": "1", "VIPS_CONCURRENCY": "1"}
"""For sharp only: the Python peers decode on one thread anyway (Pillow does not thread a decode or a resize)."""

THROUGHPUT_TARGET = 2.0
"""(a) ours >= 2x sharp's images/s at 12 and 24 MP."""
MEMORY_TARGET = 0.5
"""(b) ours peak RSS <= 0.5x sharp's at 12 and 24 MP."""
RSS_LIMIT_MB = 96
"""(c) ours peak RSS under 96 MB at 24 MP: fits a small Lambda with room for the handler."""
IMPORT_LIMIT_MS = 300
"""(d) cold import of a handler module under 300 ms."""
TARGET_IMAGES = ("12MP", "24MP")


def main() -> None:
    """Run every peer on every image, then the import and package checks; print the report and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="*", default=MODULES, help="handler modules whose import time to measure")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="fresh processes per peer and image")
    parser.add_argument("--core", type=int, default=min(os.sched_getaffinity(0)), help="the CPU to pin peers to")
    args = parser.parse_args()

    print(f"pinned to CPU {args.core}; {TARGET_SECONDS:g} s per cell; renditions {SIZES} as JPEG q{QUALITY}")
    paths = images.generate(BUILD)
    peers = measure(paths, args.core, args.rounds)
    for label, results in peers.items():
        print_table(label, paths[label], results)
    package_checks, package_names = build_lambda_package()
    checks = [*target_checks(peers), *import_checks(args.modules, package_names), *runtime_import_checks(args.modules),
              *package_checks]  # fmt: skip
    print("\ntargets")
    for check in checks:
        print(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['name']}: {check['measured']}")
    write_results(peers, checks, paths)


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
    command = [*PEERS[name], str(image), "--sizes", ",".join(map(str, SIZES)), "--quality", str(QUALITY),
               "--target-seconds", str(TARGET_SECONDS), "--min-iterations", str(MIN_ITERATIONS)]  # fmt: skip
    env = {**os.environ, **(ONE_THREAD_ENV if name == "sharp" else {}), "PYTHONPATH": _python_path()}
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
    if len(set(map(tuple, sizes.values()))) != 1:
        print(f"  WARNING: the peers made renditions of different sizes: {sizes}")


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
            _check(f"(a) {label} ours throughput >= {THROUGHPUT_TARGET:g}x sharp", speed >= THROUGHPUT_TARGET,
                   f"{speed:.2f}x ({times})"),
            _check(f"(b) {label} ours peak RSS <= {MEMORY_TARGET:g}x sharp", memory <= MEMORY_TARGET,
                   f"{memory:.2f}x ({peaks})"),
        ]  # fmt: skip
    rss_mb = peers["24MP"]["ours"]["max_rss_kb"] / 1024
    checks.append(_check(f"(c) 24MP ours peak RSS < {RSS_LIMIT_MB} MB", rss_mb < RSS_LIMIT_MB, f"{rss_mb:.1f} MB"))
    return checks


def import_checks(modules: list[str], package_names: frozenset[str]) -> list[dict[str, Any]]:
    """(d) Cold import of each handler module, median of `IMPORT_RUNS` fresh interpreters, measured two ways.

    As the issue states it, `python -X importtime -c "import MODULE"`, which reads the .pyc files a developer's
    machine has cached; and as a Lambda cold start runs it, where the zip's own modules (`package_names`) have no .pyc
    and compile on every cold start (bench/cold_import.py). Each is a PASS/FAIL line of its own.
    """
    checks = []
    for module in modules:
        ways = {
            "-X importtime, __pycache__ warm": [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            "Lambda-like, zip code without .pyc": [sys.executable, "-P", "-X", "importtime",
                                                   str(BENCH / "cold_import.py"), module, *sorted(package_names)],
        }  # fmt: skip
        for way, command in ways.items():
            name = f"(d) import {module} < {IMPORT_LIMIT_MS} ms ({way})"
            try:
                milliseconds = import_time_ms(command, module)
            except ImportFailed as error:
                checks.append(_check(name, False, f"does not import: {error}"))
                continue
            if milliseconds is None:
                print(f"\n(d) {module}: no such module yet, skipped")
                break
            checks.append(_check(name, milliseconds < IMPORT_LIMIT_MS, f"{milliseconds:.0f} ms"))
    return checks


class ImportFailed(Exception):
    """The module exists but raised while importing; the message is the last line of its traceback."""


def import_time_ms(command: list[str], module: str) -> float | None:
    """Median over `IMPORT_RUNS` runs of `command` of the cumulative import time of `module`'s top-level entries
    (the module and its parent packages); None when there is no such module.

    An untimed first run may write .pyc files (even where PYTHONDONTWRITEBYTECODE is set), so that "warm" means warm;
    cold_import.py still compiles the zip's modules from source."""
    env = {**LAMBDA_ENV, **os.environ, "PYTHONPATH": _python_path()}
    may_write_bytecode = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    runs = []
    for run_env in [may_write_bytecode] + [env] * IMPORT_RUNS:
        result = subprocess.run(command, env=run_env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            error = result.stderr.strip().splitlines()[-1]
            if error in {f"ModuleNotFoundError: No module named '{name}'" for name in _module_and_parents(module)}:
                return None
            raise ImportFailed(error)
        runs.append(_top_level_import_us(result.stderr, module) / 1000)
    return statistics.median(runs[1:])


def _top_level_import_us(importtime: str, module: str) -> int:
    """Sum the cumulative µs of the unindented `-X importtime` lines that name `module` or one of its parents."""
    names = _module_and_parents(module)
    total = 0
    for line in importtime.splitlines():
        match = re.fullmatch(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)", line)
        if match and match[2] in names:
            total += int(match[1])
    return total


def _module_and_parents(module: str) -> set[str]:
    """The names that `import a.b.c` may time at the top level: "a", "a.b" and "a.b.c"."""
    parts = module.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def build_lambda_package() -> tuple[list[dict[str, Any]], frozenset[str]]:
    """(e) The Lambda zip of the handler packages, built as `__main__.py` deploys them: its size checks, and the
    top-level names it holds (the modules a cold start compiles from source)."""
    from components.packaging import (  # here: needs the sys.path above, and pulumi
        LAMBDA_UNZIPPED_LIMIT_BYTES,
        LAMBDA_ZIPPED_LIMIT_BYTES,
        CodeSource,
        PackagingError,
        build_package,
    )

    source = CodeSource(HANDLERS, packages=_handler_packages(), requirements=HANDLERS / "requirements.txt")
    try:
        package = build_package(source, python_version="3.13", architecture="arm64", build_dir=ROOT / ".build/lambda")
    except PackagingError as error:
        return [_check("(e) Lambda package", False, str(error))], frozenset(source.packages)
    with zipfile.ZipFile(package.path) as archive:
        names = frozenset(name.split("/")[0].removesuffix(".py") for name in archive.namelist())
    contents = f"{', '.join(source.packages)} + handlers/requirements.txt, {'with' if 'PIL' in names else 'NO'} Pillow"
    checks = [
        _check(f"(e) Lambda package {kind} <= {limit / 2**20:.0f} MB", size <= limit, f"{size / 2**20:.1f} MB")
        for kind, size, limit in (
            ("zipped", package.zipped_bytes, LAMBDA_ZIPPED_LIMIT_BYTES),
            ("unzipped", package.unzipped_bytes, LAMBDA_UNZIPPED_LIMIT_BYTES),
        )
    ]
    print(f"\n(e) {package.path.relative_to(ROOT)}: {contents}")
    return checks, names


RUNTIME_PYTHON = "3.13"
RUNTIME_SDK = ("boto3==1.44.5", "botocore==1.44.8", "s3transfer==0.19.3", "jmespath==1.1.0", "urllib3==2.8.0",
               "python-dateutil==2.9.0.post0", "six==1.17.0")  # fmt: skip
"""What the Lambda Python runtime provides beside the zip (the versions handlers/worker/requirements.txt pins)."""


def runtime_import_checks(modules: list[str]) -> list[dict[str, Any]]:
    """(d) The closest this machine gets to a real cold start: Python 3.13 (Lambda's runtime version) importing
    the handler from the zip exactly as `pulumi up` builds it with a 3.13 interpreter at hand (bytecode included),
    next to the SDK the runtime provides, with Lambda's environment. Only the architecture differs (x86_64 wheels).
    Skipped, with a line saying so, when no Python 3.13 can be found."""
    from components.packaging import BYTECODE_PYTHON_ENV, CodeSource, build_package, bytecode_compiler

    pyenv = Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python3.13"
    if pyenv.is_file():
        os.environ.setdefault(BYTECODE_PYTHON_ENV, str(pyenv))
    python = bytecode_compiler(RUNTIME_PYTHON)
    if python is None:
        print(f"\n(d) no Python {RUNTIME_PYTHON} here: the runtime-version import is not measured")
        return []
    architecture = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    source = CodeSource(HANDLERS, packages=_handler_packages(), requirements=HANDLERS / "requirements.txt")
    package = build_package(source, python_version=RUNTIME_PYTHON, architecture=architecture,
                            build_dir=ROOT / ".build" / "lambda")  # fmt: skip
    task, runtime = BUILD / "var-task" / package.path.stem, BUILD / "var-runtime"
    if not task.is_dir():
        with zipfile.ZipFile(package.path) as archive:
            archive.extractall(task)
    if not runtime.is_dir():
        pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--root-user-action=ignore"]
        subprocess.run([*pip, "--target", str(runtime), *RUNTIME_SDK], check=True)
        subprocess.run([python, "-m", "compileall", "-q", str(runtime)], check=True)
    checks = []
    for module in modules:
        command = [python, "-I", "-X", "importtime", "-c",
                   f"import sys; sys.path[:0] = [{str(task)!r}, {str(runtime)!r}]; import {module}"]  # fmt: skip
        milliseconds = import_time_ms(command, module)
        name = f"(d) import {module} < {IMPORT_LIMIT_MS} ms (Python {RUNTIME_PYTHON}, the deployed zip with bytecode)"
        checks.append(
            _check(name, milliseconds is not None and milliseconds < IMPORT_LIMIT_MS, f"{milliseconds:.0f} ms")
        )
    return checks


def write_results(peers: dict[str, Any], checks: list[dict[str, Any]], paths: dict[str, Path]) -> None:
    """Everything printed, as JSON, so that the README's numbers can be regenerated from one run."""
    output = BUILD / "results.json"
    results = {
        "machine": {"cpu": _cpu_model(), "python": platform.python_version(), "node": _node_version()},
        "parameters": {
            "sizes": SIZES,
            "quality": QUALITY,
            "target_seconds": TARGET_SECONDS,
            "min_iterations": MIN_ITERATIONS,
            "images": {label: path.name for label, path in paths.items()},
            "handler_packages": list(_handler_packages()),
        },
        "peers": peers,
        "checks": checks,
    }
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {output.relative_to(ROOT)}")


def _handler_packages() -> tuple[str, ...]:
    """The Python packages under handlers/ that the Lambda zip holds: all but the Fargate worker's."""
    return tuple(sorted(p.name for p in HANDLERS.iterdir() if (p / "__init__.py").is_file() and p.name != "worker"))


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def _check(name: str, passed: bool, measured: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "measured": measured}


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
