"""The demo: deploy a stack into the in-process emulator, upload the sample images (and any given files), wait
for every execution, print a table, the catalog's rows and the business metrics the handlers counted, and write an
HTML report; with `--keep-catalog`, then keep the catalog's PostgreSQL running for a psql shell until Ctrl-C. Run it
as `python -m app.demo` (see app/demo/__main__.py). Exit code 0 when every upload ended in a recorded state
(refusals included), 1 otherwise or when the stack's program refuses its configuration, 2 (one line, before anything
is synthesized) for an unknown stack, a missing file or a malformed `--set`."""

from __future__ import annotations

import argparse
import mimetypes
import os
import time
from collections.abc import Sequence
from pathlib import Path

from app.demo.catalog import CatalogContents, read_catalog
from app.demo.cloud import Outcome, PipelineCloud
from app.demo.report import catalog_table, denial_lines, metric_table, table, write_html
from app.demo.samples import Sample, panorama, standard_samples
from app.demo.shell import keep_catalog
from emulator.stack import OverrideError, Program, parse_overrides, synthesize_stack
from handlers.pipeline.contract import RENDER_MEMORY_ENV
from synth.cli import UsageError, check_stack, run_tool
from synth.program import PROJECT_DIR, SynthesisError, close_runtime

DEFAULT_WORKDIR = PROJECT_DIR / ".build" / "demo"
SAMPLES_FOLDER = "samples/"
FILES_FOLDER = "local/"


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run_tool(lambda: _demo(args))


def _demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    program = _program(args)
    settings = ", ".join(f"{k}={v}" for k, v in program.overrides.items()) or "as in the stack file"
    print(f"stack {program.stack} ({settings}), region {program.region}: synthesized in "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    with PipelineCloud(program.synthesis, region=program.region, workdir=args.workdir) as cloud:
        _print_deployment(cloud)
        samples = _samples(cloud, args.paths)
        uploads = [
            cloud.upload(f"{folder}{sample.name}", sample.data, sample.content_type) for folder, sample in samples
        ]
        outcomes = cloud.wait(uploads, timeout=args.timeout)
        catalog = read_catalog(cloud)
        _print_results(cloud, outcomes, catalog)
        report = args.workdir / "report.html"
        report.write_text(write_html(cloud, outcomes, catalog, f"Local run of stack {program.stack}"), encoding="utf-8")
        print(f"\n{_summary(outcomes)} in {time.monotonic() - started:.1f} s; report: {report}")
        if args.keep_catalog:
            keep_catalog(cloud, args.workdir)
    close_runtime()
    return 0 if all(o.record is not None for o in outcomes) else 1


def _print_deployment(cloud: PipelineCloud) -> None:
    deployment = cloud.deployment
    print(f"deployed {len(deployment.deployed)} resources into the emulator ({len(deployment.skipped)} left out)")
    for failed in deployment.failed:
        print(f"  could not deploy {failed.name} ({failed.type}): {failed.note}")


def _print_results(cloud: PipelineCloud, outcomes: Sequence[Outcome], catalog: CatalogContents | None) -> None:
    """Each upload's outcome, the catalog's rows, IAM's denials and the business metrics."""
    print(f"\n{table(outcomes, cloud.upload_prefix)}")
    print(f"\n{catalog_table(catalog)}")
    denials = denial_lines(cloud)
    print(
        f"\nIAM: {len(denials)} call(s) denied" if denials else "\nIAM: every call allowed by its principal's policies"
    )
    for line in denials:
        print(line)
    print(f"\nBusiness metrics, as CloudWatch would extract them from the handlers' output:\n{metric_table(cloud)}")


def _program(args: argparse.Namespace) -> Program:
    """The stack's program with the overrides, once every argument is known to be usable: a typo in the stack, a
    path or a `--set` costs one line, not a synthesis and a deployment (seconds) followed by a traceback."""
    check_stack(args.stack)
    for path in args.paths:
        _check_image_file(path)
    try:
        return synthesize_stack(args.stack, parse_overrides(args.set))
    except OverrideError as error:
        raise UsageError(f"--set {error}") from error
    except SynthesisError:
        close_runtime()
        raise


def _check_image_file(path: Path) -> None:
    """The files given are read only after the deployment: check now that each one can be."""
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if not path.is_file():
        raise UsageError(f"not a file: {path}")
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot read {path}: permission denied")


def _samples(cloud: PipelineCloud, paths: Sequence[Path]) -> list[tuple[str, Sample]]:
    samples = [(SAMPLES_FOLDER, sample) for sample in standard_samples()]
    environment = _routing_environment(cloud)
    large = panorama(cloud.hooks.runtime.module("imaging"), environment) if environment else None
    if large:
        samples.append((SAMPLES_FOLDER, large))
    else:
        memory = (environment or {}).get(RENDER_MEMORY_ENV, "?")
        print(f"no Fargate sample: with {memory} MB for the Lambda it would be too big to make here; "
              "try --set lambda.memoryMb=256")  # fmt: skip
    for path in paths:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        samples.append((FILES_FOLDER, Sample(path.name, path.read_bytes(), content_type, "given")))
    return samples


def _routing_environment(cloud: PipelineCloud) -> dict[str, str] | None:
    """The environment of a function that routes uploads (it knows the rendering function's memory)."""
    for function in cloud.synthesis.of_type("aws:lambda/function:Function"):
        variables = (function.inputs.get("environment") or {}).get("variables") or {}
        if RENDER_MEMORY_ENV in variables:
            return dict(variables)
    return None


def _summary(outcomes: Sequence[Outcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return f"{len(outcomes)} uploads: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.demo", description=__doc__)
    parser.add_argument("--stack", default="dev", help="the Pulumi.<stack>.yaml to deploy (default: dev)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile setting, e.g. lambda.memoryMb=256 (repeatable)")  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="where the report and logs go")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the executions")
    parser.add_argument("--keep-catalog", action="store_true",
                        help="then keep the catalog's PostgreSQL running for a psql shell, until Ctrl-C")  # fmt: skip
    parser.add_argument("paths", nargs="*", type=Path, help="image files to upload as well")
    return parser
