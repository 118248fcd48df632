"""The business metrics of a run through the deployed pipeline: what the Lambdas and the worker printed in embedded
metric format, as the emulator extracts it (CloudWatch's way), counts what the images table holds.

The `service` dimension is left out of the comparison: Powertools reads POWERTOOLS_SERVICE_NAME when a handler
module is imported, and a test module of this directory imports `pipeline.render` at collection, before any local
cloud sets it (tests/handlers/test_metrics.py checks the exact dimension sets, the service's included)."""

from __future__ import annotations

from collections import Counter

from handlers.pipeline.contract import (
    COMPLETE,
    ERROR,
    FAILED,
    IMAGES_COMPLETED,
    IMAGES_FAILED,
    IMAGES_REFUSED,
    IMAGES_ROUTED,
    METRIC_SERVICE_DIMENSION,
    METRICS_NAMESPACE,
    PUBLISHED_METRICS,
    REASON_DIMENSION,
    ROUTE,
    ROUTE_DIMENSION,
    ROUTE_FARGATE,
    ROUTE_LAMBDA,
    STATUS,
)
from tests.e2e.conftest import unique
from tests.handlers import images


def test_the_metrics_count_per_route_and_per_reason_what_the_images_table_holds(cloud, big_png):
    uploads = [
        cloud.upload(unique("photo.jpg"), images.jpeg(images.photo(800, 600)), "image/jpeg"),
        cloud.upload(unique("drawing.png"), images.png(), "image/png"),
        cloud.upload(unique(big_png.name), big_png.data, big_png.content_type),
        cloud.upload(unique("notes.gif"), images.gif(), "image/gif"),
        cloud.upload(unique("truncated.jpg"), images.truncated_jpeg(), "image/jpeg"),
    ]
    cloud.wait(uploads, timeout=120)

    records = cloud.records()
    routed = Counter(r[ROUTE] for r in records if ROUTE in r)
    completed = Counter(r[ROUTE] for r in records if r[STATUS] == COMPLETE)
    refused = Counter(r[ERROR] for r in records if r[STATUS] == FAILED)
    assert set(completed) == {ROUTE_LAMBDA, ROUTE_FARGATE}, records
    assert set(refused) == {"UnsupportedFormat", "CorruptImage"}, records
    summaries = cloud.metric_summaries(METRICS_NAMESPACE)

    def by(metric: str, dimension: str | None) -> Counter[str | None]:
        """The metric's sum per value of `dimension`, checking that it has no other (but the service)."""
        sums: Counter[str | None] = Counter()
        for summary in (s for s in summaries if s.name == metric):
            others = set(summary.dimensions) - {METRIC_SERVICE_DIMENSION}
            assert others == ({dimension} if dimension else set()), summary
            sums[summary.dimensions.get(dimension or "")] += int(summary.sum)
        return sums

    assert by(IMAGES_ROUTED, ROUTE_DIMENSION) == routed
    assert by(IMAGES_COMPLETED, ROUTE_DIMENSION) == completed
    assert by(IMAGES_REFUSED, REASON_DIMENSION) == refused
    assert by(IMAGES_FAILED, None) == {None: refused.total()}
    assert cloud.invalid_metrics == []
    # The review prices a custom metric per entry of PUBLISHED_METRICS: a run that publishes another is unpriced.
    published = {(s.name, tuple(sorted((k, v) for k, v in s.dimensions.items() if k != METRIC_SERVICE_DIMENSION)))
                 for s in summaries}  # fmt: skip
    assert published <= set(PUBLISHED_METRICS), published - set(PUBLISHED_METRICS)
