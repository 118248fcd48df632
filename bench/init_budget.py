"""The INIT budget of `make bench`: what importing each Lambda entry point costs a cold start over `import boto3`.

The entry points are the handlers of the Lambda functions the program declares (every stack, synthesized under
mocks), so a function added, renamed or merged is measured without touching this file. Each is imported from the
zip that `pulumi up` deploys (app/code.py's LAMBDA_CODE, built for this machine's architecture) beside the SDK the
runtime provides, by an interpreter of the runtime's Python version with Lambda's environment variables, each import
in a fresh process pinned to one core (bench/cold_import.py), alternating with `import boto3`, which every handler
needs anyway and the runtime provides: the budget is on the import's median CPU time over boto3's, in the same run.

Two variants of the same zip: without bytecode, as `pulumi up` ships it when the interpreter running it is not of the
runtime's version (each cold start compiles every module of the zip it imports, /var/task being read-only), and
with the unchecked-hash .pyc files components/packaging.py adds when it has such an interpreter.

    venv/bin/python bench/init_budget.py          # this section alone; `make bench` runs it after the peers
"""

import argparse
import glob
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BUILD = ROOT / ".build" / "bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: the program's packages, for the entry points and the zip

from app.code import LAMBDA_CODE  # noqa: E402
from components.function import PYTHON_VERSION  # noqa: E402
from components.packaging import BYTECODE_PYTHON_ENV, CodeSource, build_package, bytecode_compiler  # noqa: E402

BUDGET_MS = 80
"""Each entry point's import, over `import boto3`, on this machine."""
RUNS = 21
"""Fresh interpreters per import and variant."""
BASELINE = "boto3"
LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": f"AWS_Lambda_python{PYTHON_VERSION}",
    "AWS_LAMBDA_FUNCTION_NAME": "image-pipeline-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "LAMBDA_TASK_ROOT": "/var/task",
}
"""What Lambda sets before INIT, and nothing of this shell's (a POWERTOOLS_TRACE_DISABLED here would change what a
handler imports). Not `_X_AMZN_TRACE_ID`: Lambda sets it per invocation, after INIT."""
RUNTIME_SDK = ROOT / "handlers" / "worker" / "requirements.txt"
"""Its own pins (after the `-r` of the handlers' lock) are what the Lambda runtime provides: boto3 and its kin."""


@dataclass(frozen=True)
class Variant:
    label: str
    bytecode: bool
    budgeted: bool
    """Whether the budget applies: to the zip CI deploys (with bytecode); the other is printed for comparison, since
    no handler that imports Pillow and Powertools compiles from source within 80 ms."""


VARIANTS = (Variant("zip without .pyc", bytecode=False, budgeted=False),
            Variant("zip with .pyc", bytecode=True, budgeted=True))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="fresh interpreters per import and variant")
    parser.add_argument("--core", type=int, default=min(os.sched_getaffinity(0)), help="the CPU to pin imports to")
    args = parser.parse_args()
    for check in checks(args.core, args.runs):
        print(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['name']}: {check['measured']}")


def checks(core: int, runs: int) -> list[dict[str, Any]]:
    """Measure and print the INIT table; one PASS/FAIL check per entry point and variant. Without an interpreter of
    the runtime's version, one line says so and nothing is measured (bytecode of another version would not load)."""
    shipped = "with" if bytecode_compiler(PYTHON_VERSION) else "without"  # before runtime_python() sets the variable
    python = runtime_python()
    if python is None:
        print(f"\nINIT: no Python {PYTHON_VERSION} here (set ${BYTECODE_PYTHON_ENV}): the imports are not measured")
        return []
    handlers = entry_points()
    task, source_only = unpacked(LAMBDA_CODE, python)
    runtime = runtime_sdk(python)
    timings, failed = measure(python, handlers, [str(task), str(runtime)], source_only, core, runs)
    version = timings[VARIANTS[0].label][BASELINE][0]["python"]
    print(f"\nINIT: each Lambda entry point's import over `import {BASELINE}` (budget {BUDGET_MS} ms): Python "
          f"{version} on {platform.machine()}, the zip of app/code.py beside the runtime's SDK; median of {runs} "
          f"fresh interpreters each, alternating, on CPU {core}; `pulumi up` here ships the zip {shipped} "
          ".pyc")  # fmt: skip
    return report(handlers, timings, failed)


def entry_points() -> list[str]:
    """The handler (`module.function`) of every Lambda function the program declares, in any stack."""
    from synth.program import close_runtime, stack_names, synthesize

    handlers = {
        function.inputs["handler"]
        for stack in stack_names()
        for function in synthesize(stack, preview=True).of_type("aws:lambda/function:Function")
    }
    close_runtime()
    return sorted(handlers)


def runtime_python() -> str | None:
    """An interpreter of the runtime's version: the packager's own lookup, or else pyenv's, which is then exported
    for the packager too, so that the zip gets the bytecode the second variant measures."""
    pyenv = sorted(glob.glob(str(Path.home() / f".pyenv/versions/{PYTHON_VERSION}.*/bin/python3")))
    if pyenv:
        os.environ.setdefault(BYTECODE_PYTHON_ENV, pyenv[-1])
    return bytecode_compiler(PYTHON_VERSION)


def unpacked(source: CodeSource, python: str) -> tuple[Path, list[str]]:
    """The zip of `source` with bytecode, for this machine's architecture, unpacked under .build/bench; and the
    top-level names it holds, which the variant without bytecode compiles from source."""
    architecture = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    package = build_package(source, python_version=PYTHON_VERSION, architecture=architecture,
                            build_dir=ROOT / ".build" / "lambda")  # fmt: skip
    with zipfile.ZipFile(package.path) as archive:
        names = sorted({name.split("/")[0].removesuffix(".py") for name in archive.namelist()})
        if not any(name.endswith(".pyc") for name in archive.namelist()):
            sys.exit(f"{package.path} holds no bytecode although {python} is at hand")
        task = BUILD / "var-task" / package.path.stem
        if not task.is_dir():
            archive.extractall(task)
    return task, names


def runtime_sdk(python: str) -> Path:
    """The SDK the runtime provides, at the pinned versions, installed once with its bytecode (as the runtime has)."""
    pins = [line.split("#")[0].strip() for line in RUNTIME_SDK.read_text().splitlines()]
    pins = [pin for pin in pins if pin and not pin.startswith("-")]
    target = BUILD / f"var-runtime-{hashlib.sha256(json.dumps([PYTHON_VERSION, pins]).encode()).hexdigest()[:12]}"
    if not target.is_dir():
        pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
               "--root-user-action=ignore", "--target", str(target), *pins]  # fmt: skip
        subprocess.run(pip, check=True)
        subprocess.run([python, "-m", "compileall", "-q", str(target)], check=True)
    return target


class ImportFailed(Exception):
    """An entry point that does not import: the message is the last line of its traceback."""


Timings = dict[str, dict[str, list[dict[str, Any]]]]
"""Variant label -> import (the baseline, or a handler) -> one cold_import.py result per round."""


def measure(
    python: str, handlers: list[str], paths: list[str], source_only: list[str], core: int, runs: int
) -> tuple[Timings, dict[str, str]]:
    """Every import (the baseline's and each handler's), per variant, over `runs` rounds: in each round every
    variant imports the baseline and each handler once, so that load on the machine hits all alike. Also why each
    handler that does not import failed; it is not tried again."""
    targets = [BASELINE, *handlers]
    timings: Timings = {variant.label: {target: [] for target in targets} for variant in VARIANTS}
    failed: dict[str, str] = {}
    for _ in range(runs):
        for variant in VARIANTS:
            for target in (target for target in targets if target not in failed):
                module, _, attribute = target.rpartition(".") if target != BASELINE else (BASELINE, "", "")
                request = {"module": module, "attribute": attribute, "paths": paths,
                           "source_only": [] if variant.bytecode else source_only}  # fmt: skip
                try:
                    timings[variant.label][target].append(_import(python, request, core))
                except ImportFailed as error:
                    failed[target] = str(error)
    if BASELINE in failed:
        sys.exit(f"import {BASELINE} failed: {failed[BASELINE]}")
    return timings, failed


def report(handlers: list[str], timings: Timings, failed: dict[str, str]) -> list[dict[str, Any]]:
    """Print one row per import: its CPU milliseconds, over the baseline's and as a multiple of them, per variant.
    "Over" is the median of each round's difference (the import and the baseline's in the same round, so that a
    slow moment of the machine weighs on both), steadier than the difference of the two medians.
    CPU time, not wall time: on a machine busy with other work, the wall time of an import grows with whatever
    shared its core, its CPU time much less (the wall-time difference is in each check's line). One check per entry
    point on the budgeted variant, or one failed check for an entry point that does not import."""
    print(_ROW.format("import", *(f"{v.label}: CPU ms, over {BASELINE}, x {BASELINE}" for v in VARIANTS)))
    results = []
    for target in [BASELINE, *handlers]:
        if target in failed:
            print(_ROW.format(target, "does not import", ""))
            results.append(check_line(f"(d) INIT {target} imports", False, failed[target]))
            continue
        cells = []
        for variant in VARIANTS:
            runs, baseline = timings[variant.label][target], timings[variant.label][BASELINE]
            cpu, base = _median(runs, "cpu_ms"), _median(baseline, "cpu_ms")
            rounds = [run["cpu_ms"] - base_run["cpu_ms"] for run, base_run in zip(runs, baseline, strict=True)]
            delta, ratio, wall = statistics.median(rounds), cpu / base, _median(runs, "ms") - _median(baseline, "ms")
            cells.append(f"{cpu:6.0f} {delta:+8.0f} {ratio:8.2f}x")
            if target != BASELINE and variant.budgeted:
                results.append(check_line(
                    f"(d) INIT {target} <= {BUDGET_MS} ms over {BASELINE} ({variant.label})", delta <= BUDGET_MS,
                    f"{delta:+.0f} ms CPU, {ratio:.2f}x {BASELINE} ({cpu:.0f} vs {base:.0f} ms; rounds "
                    f"{min(rounds):+.0f} to {max(rounds):+.0f} ms; wall time {wall:+.0f} ms)",
                ))  # fmt: skip
        print(_ROW.format(target, *cells))
    return results


_ROW = "  {:<28} {:>38} {:>38}"


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _import(python: str, request: dict[str, Any], core: int) -> dict[str, Any]:
    command = ["taskset", "--cpu-list", str(core), python, "-I", str(BENCH / "cold_import.py"), json.dumps(request)]
    env = {"PATH": os.environ.get("PATH", ""), **LAMBDA_ENV}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImportFailed((result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1])
    return json.loads(result.stdout)


def check_line(name: str, passed: bool, measured: str) -> dict[str, Any]:
    """One PASS/FAIL line of `make bench`'s targets, as bench/run.py prints them and writes them to results.json."""
    return {"name": name, "passed": passed, "measured": measured}


if __name__ == "__main__":
    main()
