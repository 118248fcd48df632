"""The cost model's assumptions: `make bench`'s measurements replace the stated figures when they are there (in
whichever shape the benchmark's results hold them), and the `make review` options set the workload's shares,
refusing a value that cannot be a share or days with the option's name."""

import argparse
import json
import statistics
import uuid

import pytest

from app.review.assumptions import (
    README_IMPORT_MS,
    README_RENDER_MS,
    README_VALIDATE_MS,
    AssumptionError,
    Assumptions,
    options,
    with_benchmark,
)
from app.review.options import add_arguments, assumptions_from
from app.review.workload import entry_machines
from tests.conftest import synthesized

PROCESS_HANDLER = "pipeline.process.handler"


def results(tmp_path, document):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document))
    return path


def test_the_render_time_and_the_renditions_bytes_come_from_the_benchmark_when_it_has_run(tmp_path):
    renditions = [{"size": 1024, "bytes": 100_000}, {"size": 512, "bytes": 40_000}, {"size": 128, "bytes": 5_000}]
    path = results(tmp_path, {"peers": {"12MP": {"ours": {"median_ms": 80.04, "renditions": renditions}}}})
    measured = with_benchmark(Assumptions(), path)
    assert measured.render_cpu_ms == 80.0
    assert measured.rendition_bytes == 145_000
    assert "make bench" in measured.render_cpu_source
    assert "make bench" in measured.rendition_bytes_source


def test_the_render_time_is_the_cpu_time_when_the_benchmark_recorded_it(tmp_path):
    """A busy machine stretches the wall time of a render, much less its CPU time: the core a Lambda has is its own."""
    rounds = [{"cpu_timings_ms": [70.0, 72.0]}, {"cpu_timings_ms": [71.0]}]
    path = results(tmp_path, {"peers": {"12MP": {"ours": {"median_ms": 227.0, "rounds": rounds}}}})
    assert with_benchmark(Assumptions(), path).render_cpu_ms == 71.0


def test_the_validation_time_comes_from_the_benchmark_when_it_has_run(tmp_path):
    """bench/validation.py's median CPU time of the validation step on the typical image; another image's is not it."""
    validation = {"12MP": {"median_cpu_ms": 7.04, "iterations": 255}, "24MP": {"median_cpu_ms": 12.0}}
    measured = with_benchmark(Assumptions(), results(tmp_path, {"validation": validation}))
    assert measured.validate_cpu_ms == 7.0
    assert "make bench" in measured.validate_cpu_source
    assert "bench/validation.py" in measured.validate_cpu_source
    assert measured.render_cpu_ms == README_RENDER_MS, "a figure the results lack keeps its stated value"


def test_without_the_benchmark_the_validation_time_is_the_stated_measurement():
    stated = Assumptions()
    assert stated.validate_cpu_ms == README_VALIDATE_MS
    assert "bench/validation.py" in stated.validate_cpu_source


def test_the_init_duration_comes_from_the_benchmarks_import_checks_preferring_the_runtimes_python(tmp_path):
    checks = [
        {"name": "(d) import pipeline.process < 300 ms (-X importtime, __pycache__ warm)", "measured": "250 ms"},
        {"name": "(d) import pipeline.process < 300 ms (Lambda-like, zip code without .pyc)", "measured": "480 ms"},
        {"name": "(d) import pipeline.process < 300 ms (Python 3.13, the deployed zip with bytecode)",
         "measured": "210 ms"},
        {"name": "(e) Lambda package zipped <= 50 MB", "measured": "10.0 MB"},
    ]  # fmt: skip
    measured = with_benchmark(Assumptions(), results(tmp_path, {"checks": checks}))
    assert measured.init_ms_of(PROCESS_HANDLER) == (210.0, "`make bench`: pipeline.process")
    assert measured.init_ms_of("pipeline.other.handler") == (README_IMPORT_MS, measured.init_source)


def test_the_per_entry_point_init_checks_give_the_whole_import_preferring_the_shipped_bytecode(tmp_path):
    """bench/init_budget.py's checks: the figure a cold start pays is the whole import (boto3's included), not the
    delta over boto3 the budget is on."""
    checks = [
        {"name": f"(d) INIT {PROCESS_HANDLER} <= 80 ms over boto3 (zip without .pyc)",
         "measured": "+150 ms CPU, 2.00x boto3 (300 vs 150 ms; rounds +140 to +160 ms; wall time +152 ms)"},
        {"name": f"(d) INIT {PROCESS_HANDLER} <= 80 ms over boto3 (zip with .pyc)",
         "measured": "+45 ms CPU, 1.30x boto3 (195 vs 150 ms; rounds +40 to +50 ms; wall time +47 ms)"},
        {"name": "(d) INIT pipeline.broken.handler imports", "measured": "ModuleNotFoundError: No module named 'x'"},
        {"name": "(d) import pipeline.process < 300 ms (-X importtime, __pycache__ warm)", "measured": "250 ms"},
    ]  # fmt: skip
    measured = with_benchmark(Assumptions(), results(tmp_path, {"checks": checks}))
    assert measured.init_ms_of(PROCESS_HANDLER) == (195.0, f"`make bench`: {PROCESS_HANDLER}")
    assert measured.init_ms_of("pipeline.broken.handler")[0] == README_IMPORT_MS


@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"peers": {"12MP": {"ours": {"median_ms": "fast"}}}, "init": [1]}),
        json.dumps({"validation": {"12MP": {"median_cpu_ms": "fast"}, "24MP": {"median_cpu_ms": 12.0}}}),
        json.dumps({"validation": {"12MP": {"median_cpu_ms": -1.0}}}),
        json.dumps({"validation": {"12MP": 6.8}}),
        json.dumps({"validation": [6.8]}),
    ],
)
def test_results_in_another_shape_keep_the_stated_figures(tmp_path, document):
    path = tmp_path / "results.json"
    path.write_text(document)
    assert with_benchmark(Assumptions(), path) == Assumptions()
    assert with_benchmark(Assumptions(), tmp_path / "absent.json") == Assumptions()


def test_every_share_and_the_storage_days_are_options_checked_against_their_range():
    assert [option.name for option in options()] == [
        "heavy_share", "refused_share", "retry_share", "cold_start_share", "storage_days",
    ]  # fmt: skip
    with pytest.raises(AssumptionError, match=r"--retry-share 1\.5: expected a share from 0 to 1"):
        Assumptions(retry_share=1.5)
    with pytest.raises(AssumptionError, match=r"--heavy-share 0\.6 and --refused-share 0\.5"):
        Assumptions(heavy_share=0.6, refused_share=0.5)


def parser() -> argparse.ArgumentParser:
    built = argparse.ArgumentParser(prog="review", exit_on_error=False)
    add_arguments(built.add_argument_group("app"))
    return built


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--cold-start-share", "2"], r"argument --cold-start-share: '2' is out of range; expected a share from 0"),
        (["--refused-share", "a lot"], r"argument --refused-share: 'a lot' is not a number"),
        (["--storage-days", "7.5"], r"argument --storage-days: '7\.5' is not a number; expected a whole number"),
    ],
)
def test_a_bad_option_value_is_refused_with_the_options_name(argv, error):
    with pytest.raises(argparse.ArgumentError, match=error):
        parser().parse_args(argv)


def test_the_options_given_replace_the_stated_assumptions_and_the_others_keep_theirs():
    given = vars(parser().parse_args(["--cold-start-share", "0.05", "--storage-days", "7"]))
    chosen = assumptions_from(given)
    assert (chosen.cold_start_share, chosen.storage_days) == (0.05, 7)
    assert chosen.refused_share == Assumptions().refused_share
    assert assumptions_from(None) == assumptions_from({})


def test_an_execution_history_event_without_data_is_the_size_assumed():
    """The events prod's upload workflow logs for a Lambda task, in the format Step Functions documents for its log
    group (CloudWatch Logs bills their bytes), with the Express execution ARN of prod's own state machine: the
    details keep names and resources, and lose the input, output and parameters."""
    (machine,) = entry_machines(synthesized("prod"))
    arn = (f"arn:aws:states:eu-west-1:444455556666:express:{machine.inputs['name']}:{uuid.uuid4()}:"
           f"{uuid.uuid4()}")  # fmt: skip
    without_data = {"input": "", "inputDetails": {"truncated": False}}
    task = {"resourceType": "lambda", "resource": "invoke"}
    details = {
        "ExecutionStarted": {**without_data, "roleArn": f"arn:aws:iam::444455556666:role/{machine.inputs['name']}"},
        "TaskStateEntered": {**without_data, "name": "Process"},
        "TaskScheduled": {**task, "region": "eu-west-1", "parameters": "", "timeoutInSeconds": 30},
        "TaskStarted": task,
        "TaskSucceeded": {**task, "output": "", "outputDetails": {"truncated": False}},
        "TaskStateExited": {"name": "Process", "output": "", "outputDetails": {"truncated": False}},
        "ExecutionSucceeded": {"output": "", "outputDetails": {"truncated": False}},
    }
    sizes = [len(json.dumps({"id": "12", "type": kind, "details": detail, "previous_event_id": "11",
                             "event_timestamp": "1757000000000", "execution_arn": arn, "redrive_count": "0"},
                            separators=(",", ":")))
             for kind, detail in details.items()]  # fmt: skip
    assert statistics.mean(sizes) == pytest.approx(Assumptions().log_event_bytes_without_data, rel=0.1), sizes
