"""The pipeline's own operations: its business metrics on top of the stack's dashboard, and the alarm on images
that end FAILED (the components' alarms come from the components themselves, components/operations.py).

The handlers and the worker publish these metrics as CloudWatch Embedded Metric Format lines (Powertools
Metrics): CloudWatch extracts them from the logs, with no API call on the data path.
"""

from app.environment import SERVICE_NAME
from app.settings import PipelineSettings
from components.monitoring import AlarmArgs, MetricArgs, alarm, metric
from handlers.pipeline.contract import (
    IMAGES_COMPLETED,
    IMAGES_FAILED,
    IMAGES_REFUSED,
    MEGAPIXELS,
    METRIC_SERVICE_DIMENSION,
    METRICS_NAMESPACE,
    REASON_DIMENSION,
    REFUSALS,
    RENDER_TIME,
    ROUTE_DIMENSION,
    ROUTE_FARGATE,
    ROUTE_LAMBDA,
)

HOUR_SECONDS = 3600
SERVICE = {METRIC_SERVICE_DIMENSION: SERVICE_NAME}


def pipeline_alarms(settings: PipelineSettings) -> list[AlarmArgs]:
    return [
        alarm(
            "images-failed",
            f"More than {settings.failed_images_per_hour} images ended FAILED within an hour: the images table's "
            "error and cause say why, per image.",
            metric(METRICS_NAMESPACE, IMAGES_FAILED, SERVICE),
            settings.failed_images_per_hour,
            period_seconds=HOUR_SECONDS,
        )
    ]


def pipeline_metrics() -> list[MetricArgs]:
    """Per route: images completed, render time (p90) and megapixels (average); images failed in all, and refused
    by reason."""
    by_route = [{**SERVICE, ROUTE_DIMENSION: route} for route in (ROUTE_LAMBDA, ROUTE_FARGATE)]
    return [
        *(metric(METRICS_NAMESPACE, IMAGES_COMPLETED, dimensions) for dimensions in by_route),
        metric(METRICS_NAMESPACE, IMAGES_FAILED, SERVICE),
        *(metric(METRICS_NAMESPACE, IMAGES_REFUSED, {**SERVICE, REASON_DIMENSION: reason}) for reason in REFUSALS),
        *(metric(METRICS_NAMESPACE, RENDER_TIME, dimensions, "p90") for dimensions in by_route),
        *(metric(METRICS_NAMESPACE, MEGAPIXELS, dimensions, "Average") for dimensions in by_route),
    ]
