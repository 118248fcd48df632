"""The pipeline's business metrics, as CloudWatch embedded metric format lines on stdout (Powertools Metrics): no
API call, CloudWatch extracts them from the log events. Names and dimensions are in `pipeline.contract`."""

import warnings

from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

from .contract import IMAGES_FAILED, IMAGES_REFUSED, METRICS_NAMESPACE, REASON_DIMENSION

metrics = Metrics(namespace=METRICS_NAMESPACE)
"""Service dimension from ``POWERTOOLS_SERVICE_NAME``. The Lambda flushes it when an invocation ends
(`log_metrics`), the worker when it exits."""

# A run with nothing to count (a replay, a superseded upload) is no problem to warn about on stderr.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning, r"aws_lambda_powertools\.")


def count_refusal(error: str) -> None:
    """ImagesRefused by reason and ImagesFailed, each in a document of its own: their dimension sets are not the
    run's, and ImagesFailed's must stay [service] whatever the run counted before (the process Lambda files its
    metrics by route once the image is routed, and decoding can still refuse it afterwards)."""
    with single_metric(name=IMAGES_REFUSED, unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE) as refused:
        refused.add_dimension(name=REASON_DIMENSION, value=error)
    with single_metric(name=IMAGES_FAILED, unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE):
        pass  # the service dimension, which Powertools adds to every document, is its only one
