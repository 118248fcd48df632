"""The business metrics: what the process Lambda and the Fargate worker print to stdout in CloudWatch's
embedded metric format (Powertools Metrics), read back from stdout as CloudWatch reads it (emulator/metrics.py's
parser, which refuses what CloudWatch would): names, units, values and, above all, the exact dimension set of each,
since an alarm or a dashboard names one (ImagesFailed's must stay [service])."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imaging import CorruptImage, TooManyPixels, UnsupportedFormat
from pipeline import context, process
from pipeline.contract import (
    IMAGES_COMPLETED,
    IMAGES_FAILED,
    IMAGES_REFUSED,
    IMAGES_ROUTED,
    MEGAPIXELS,
    METRIC_SERVICE_DIMENSION,
    METRICS_NAMESPACE,
    REASON_DIMENSION,
    RENDER_TIME,
    ROUTE_DIMENSION,
    ROUTE_FARGATE,
    ROUTE_LAMBDA,
)
from pipeline.errors import ObjectNotFound, StaleEvent
from worker import main as worker

from emulator.metrics import parse_emf
from tests.handlers import images
from tests.handlers.conftest import Pipeline, make_dependencies
from tests.handlers.test_worker import HANDLERS, corrupt_jpeg, references, upload

SERVICE = process.metrics.service
"""POWERTOOLS_SERVICE_NAME as the handlers' `Metrics` read it at import (tests/handlers/conftest.py sets it)."""

Counted = tuple[str, str, tuple[tuple[str, str], ...], float]
"""(metric, unit, dimension set with its values, value): one datapoint as CloudWatch would extract it."""


@pytest.fixture(autouse=True)
def no_metrics_left() -> Iterator[None]:
    """Powertools keeps metrics in process-wide state: none from an earlier test's direct calls (no flush) here."""
    process.metrics.clear_metrics()
    yield
    process.metrics.clear_metrics()


def documents(out: str) -> list[dict[str, Any]]:
    """The EMF documents among the lines printed, parsed."""
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]


def counted(out: str) -> list[Counted]:
    """Every datapoint of the EMF lines printed, each document checked as CloudWatch would, sorted."""
    points = []
    for document in documents(out):
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == METRICS_NAMESPACE
        assert len(directive["Dimensions"]) == 1, f"one dimension set per document: {directive['Dimensions']}"
        data = parse_emf(json.dumps(document), "test")
        assert data is not None
        points += [(d.name, d.unit, tuple(sorted(d.dimensions.items())), d.value) for d in data]
    return sorted(points)


def by_route(route: str) -> tuple[tuple[str, str], ...]:
    return ((ROUTE_DIMENSION, route), (METRIC_SERVICE_DIMENSION, SERVICE))


def refused(reason: str) -> list[Counted]:
    """A refusal recorded FAILED: ImagesRefused by reason and ImagesFailed with the service dimension alone."""
    return [
        (IMAGES_FAILED, "Count", ((METRIC_SERVICE_DIMENSION, SERVICE),), 1.0),
        (IMAGES_REFUSED, "Count", ((REASON_DIMENSION, reason), (METRIC_SERVICE_DIMENSION, SERVICE)), 1.0),
    ]


def upload_event(resources: Pipeline, make_event: Any, key: str, body: bytes) -> dict[str, Any]:
    put = resources.s3.put_object(Bucket=resources.uploads_bucket, Key=key, Body=body)
    return make_event(resources.uploads_bucket, key, version_id=put["VersionId"], etag=put["ETag"].strip('"'),
                      size=len(body))  # fmt: skip


# --- the process Lambda -------------------------------------------------------------------------------------------


def test_a_fargate_route_upload_counts_its_route_and_nothing_else(
    dependencies, pipeline_resources, make_event, lambda_context, capsys
):
    context.set_dependencies(make_dependencies(pipeline_resources, memory_mb=128))
    event = upload_event(pipeline_resources, make_event, "uploads/routed.png", images.png())

    assert process.handler(event, lambda_context)["route"] == ROUTE_FARGATE

    out = capsys.readouterr().out
    assert counted(out) == [(IMAGES_ROUTED, "Count", by_route(ROUTE_FARGATE), 1.0)]
    assert len(documents(out)) == 1, "one document for the invocation, flushed when it ends"


def test_a_lambda_route_upload_counts_routed_completed_render_time_and_megapixels_in_one_document(
    dependencies, pipeline_resources, make_event, lambda_context, capsys
):
    event = upload_event(pipeline_resources, make_event, "uploads/photo.jpg", images.jpeg(images.photo(800, 600)))

    assert process.handler(event, lambda_context)["rendered"]["status"] == "COMPLETE"

    out = capsys.readouterr().out
    [document] = documents(out)
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[ROUTE_DIMENSION, METRIC_SERVICE_DIMENSION]]
    points = {(name, unit, dimensions): value for name, unit, dimensions, value in counted(out)}
    assert set(points) == {
        (IMAGES_ROUTED, "Count", by_route(ROUTE_LAMBDA)),
        (IMAGES_COMPLETED, "Count", by_route(ROUTE_LAMBDA)),
        (RENDER_TIME, "Milliseconds", by_route(ROUTE_LAMBDA)),
        (MEGAPIXELS, "None", by_route(ROUTE_LAMBDA)),
    }
    assert points[IMAGES_ROUTED, "Count", by_route(ROUTE_LAMBDA)] == 1
    assert points[IMAGES_COMPLETED, "Count", by_route(ROUTE_LAMBDA)] == 1
    assert points[MEGAPIXELS, "None", by_route(ROUTE_LAMBDA)] == 800 * 600 / 1_000_000
    assert 0 < points[RENDER_TIME, "Milliseconds", by_route(ROUTE_LAMBDA)] < 60_000


def assert_failed_by_service_alone(out: str) -> None:
    [failed] = [d for d in documents(out) if IMAGES_FAILED in d]
    assert failed["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[METRIC_SERVICE_DIMENSION]], (
        "the alarm on images FAILED per hour watches ImagesFailed with exactly [service]"
    )


@pytest.mark.parametrize(
    ("body", "error"), [(images.gif(), UnsupportedFormat), (images.png_bomb(), TooManyPixels)], ids=["gif", "bomb"]
)
def test_a_refusal_in_validation_counts_refused_by_reason_and_failed_by_service_alone(
    dependencies, pipeline_resources, make_event, lambda_context, capsys, body, error
):
    event = upload_event(pipeline_resources, make_event, "uploads/refused.img", body)

    with pytest.raises(error):
        process.handler(event, lambda_context)

    out = capsys.readouterr().out
    assert counted(out) == refused(error.__name__)
    assert_failed_by_service_alone(out)


def test_an_image_refused_at_render_counts_its_route_then_refused_and_failed_by_service_alone(
    dependencies, pipeline_resources, make_event, lambda_context, capsys
):
    """The header passes and the image is routed (its metrics filed by route) before decoding fails: ImagesFailed
    must still reach the alarm's dimension set."""
    event = upload_event(pipeline_resources, make_event, "uploads/corrupt.png", images.corrupt_png())

    with pytest.raises(CorruptImage, match="cannot be decoded"):
        process.handler(event, lambda_context)

    out = capsys.readouterr().out
    assert counted(out) == sorted([(IMAGES_ROUTED, "Count", by_route(ROUTE_LAMBDA), 1.0), *refused("CorruptImage")])
    assert_failed_by_service_alone(out)


def test_a_missing_object_counts_as_refused_and_failed(dependencies, pipeline_resources, make_event, lambda_context,
                                                       capsys):  # fmt: skip
    event = make_event(pipeline_resources.uploads_bucket, "uploads/gone.jpg", version_id="nope", sequencer="01")

    with pytest.raises(ObjectNotFound):
        process.handler(event, lambda_context)

    assert counted(capsys.readouterr().out) == refused("ObjectNotFound")


def test_a_delivery_with_nothing_to_count_prints_no_metrics(
    dependencies, pipeline_resources, make_event, lambda_context, capsys
):
    """A repeated delivery is answered from the idempotency store; an older event is stale: nothing happened."""
    key = "uploads/twice.jpg"
    older = upload_event(pipeline_resources, make_event, key, images.jpeg())
    newer = upload_event(pipeline_resources, make_event, key, images.jpeg(images.photo(200, 100)))
    newer["detail"]["object"]["sequencer"] = "617F08299329D190"
    process.handler(newer, lambda_context)
    capsys.readouterr()

    process.handler(newer, lambda_context)
    with pytest.raises(StaleEvent):
        process.handler(older, lambda_context)

    assert capsys.readouterr().out == ""


# --- the Fargate worker -------------------------------------------------------------------------------------------


@pytest.fixture
def work_item(pipeline_resources: Pipeline, tmp_path: Path) -> Any:
    """(environment of the task, event) for an upload processed by a Lambda too small for it: a Fargate work item."""
    settings = {
        "TABLE_NAME": pipeline_resources.table_name,
        "RESULTS_BUCKET": pipeline_resources.results_bucket,
        "IDEMPOTENCY_TABLE": pipeline_resources.idempotency_table,
        "UPLOAD_PREFIX": "uploads/",
        "WORKER_MEMORY_MB": "8192",
        "TMPDIR": str(tmp_path),
    }
    lambda_memory = make_dependencies(pipeline_resources, memory_mb=128)

    def prepare(key: str, body: bytes) -> tuple[dict[str, str], dict[str, Any]]:
        event = upload(pipeline_resources, key, body)
        process.process(event, lambda_memory)  # counts ImagesRouted, never flushed: the worker starts afresh
        return {**settings, **references(event)}, event

    return prepare


def test_the_worker_counts_its_render_under_route_fargate_and_flushes_them_itself(aws, work_item, capsys):
    environ, _ = work_item("uploads/big.png", images.png(images.photo(1200, 900)))
    capsys.readouterr()

    assert worker.main([], environ) == worker.EXIT_OK

    out = capsys.readouterr().out
    assert len(documents(out)) == 1, "one document, flushed by the worker as it ends"
    assert [(name, unit) for name, unit, _, _ in counted(out)] == [
        (IMAGES_COMPLETED, "Count"),
        (MEGAPIXELS, "None"),
        (RENDER_TIME, "Milliseconds"),
    ]
    assert {dimensions for _, _, dimensions, _ in counted(out)} == {by_route(ROUTE_FARGATE)}


def test_the_worker_counts_a_refusal_whatever_the_exit(aws, work_item, capsys):
    environ, _ = work_item("uploads/broken.jpg", corrupt_jpeg())
    capsys.readouterr()

    assert worker.main([], environ) == worker.EXIT_REFUSED

    assert counted(capsys.readouterr().out) == refused("CorruptImage")


def test_the_worker_counts_an_object_gone_since_validation(aws, work_item, pipeline_resources, capsys):
    environ, event = work_item("uploads/gone.jpg", images.jpeg())
    version = event["detail"]["object"]["version-id"]
    pipeline_resources.s3.delete_object(Bucket=pipeline_resources.uploads_bucket, Key="uploads/gone.jpg",
                                        VersionId=version)  # fmt: skip
    capsys.readouterr()

    assert worker.main([], environ) == worker.EXIT_REFUSED

    assert counted(capsys.readouterr().out) == refused("ObjectNotFound")


def test_a_worker_that_cannot_run_counts_nothing(aws_credentials, capsys):
    assert worker.main(["--unexpected"], {}) == worker.EXIT_FAILED
    assert capsys.readouterr().out == ""


def test_an_invocation_with_nothing_to_count_warns_nothing():
    """Powertools warns on stderr when it flushes no metric (a replay, a superseded upload: nothing to count); the
    handler's module silences that warning, as Powertools' docs suggest. In a process of its own: pytest resets the
    warning filters that modules install at import."""
    script = (
        "from pipeline.process import metrics\n"
        "metrics.log_metrics(lambda event, context: None)({}, None)\n"
        "metrics.flush_metrics()\n"
    )
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(HANDLERS), "POWERTOOLS_TRACE_DISABLED": "1"}
    completed = subprocess.run([sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=60)
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "", "")
