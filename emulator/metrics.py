"""Metrics as CloudWatch extracts them from the logs: each line a function or a container prints to stdout is a log
event, and one that is an embedded metric format (EMF) document becomes datapoints, with no API call.

    cloud.metrics                    # every datapoint: namespace, name, dimensions, value, unit, source, time
    summarize(cloud.metrics)         # count, sum, average, maximum per metric, dimension set and unit
    cloud.invalid_metrics            # the EMF documents CloudWatch would have refused, and why

The rules are the specification's (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html): a log event that is a JSON object with an `_aws` member is an
EMF document; each of its `_aws.CloudWatchMetrics` directives gives a namespace, dimension sets (arrays of keys of
the document, whose values are strings) and metric definitions (names of members of the document, whose values are
a number or an array of numbers, with an optional unit). Every dimension set makes its own metric of each value.
CloudWatch extracts nothing from a document that breaks a rule and only counts it (`EMFValidationErrors` in the
`AWS/Logs` namespace); here the document is kept with the rule it broke, so that a test sees why a metric is
missing instead of missing it silently. Any other line is an ordinary log line.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["InvalidEmf", "MetricDatum", "MetricStore", "MetricSummary", "parse_emf", "summarize"]

MAX_METRICS = 100
"""Metric definitions per directive, and values per metric array."""
MAX_DIMENSIONS = 30
"""Keys per dimension set."""
MAX_NAME = 255
"""Characters of a namespace, a metric name or a dimension key."""
UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
    "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
    "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})  # fmt: skip
"""CloudWatch's units (MetricDatum.Unit); a definition without one is `None`."""
RESOLUTIONS = (1, 60)
"""StorageResolution: high resolution (1 s) or standard (60 s, the default)."""


class EmfError(ValueError):
    """The rule of the specification an EMF document breaks: CloudWatch extracts no metric from it."""


@dataclass(frozen=True)
class MetricDatum:
    """One value of one metric under one dimension set, as CloudWatch would store it."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]
    """The dimension set's keys and the document's values for them; empty for a metric without dimensions."""
    value: float
    unit: str
    source: str
    """What printed it: a function's name, or `container:<entrypoint module>`."""
    timestamp: datetime
    """`_aws.Timestamp`, in UTC."""


@dataclass(frozen=True)
class InvalidEmf:
    """A line with an `_aws` member that is no valid EMF document: nothing was extracted from it."""

    source: str
    line: str
    reason: str


@dataclass(frozen=True)
class MetricSummary:
    """CloudWatch's statistics of one metric (namespace, name, dimension set with its values, unit) over the run."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]
    unit: str
    count: int
    """SampleCount: how many values (an array counts each of its values)."""
    sum: float
    maximum: float
    minimum: float

    @property
    def average(self) -> float:
        return self.sum / self.count


def parse_emf(line: str, source: str) -> list[MetricDatum] | None:
    """The datapoints of one log line; None when it is an ordinary log line (no JSON object with `_aws`). Raises
    EmfError, naming the rule, for an EMF document CloudWatch would refuse."""
    try:
        document = json.loads(line, parse_constant=_not_a_number)
    except ValueError as error:
        if '"_aws"' in line:
            raise EmfError(f"not a JSON object: {error}") from error
        return None
    if not isinstance(document, dict) or "_aws" not in document:
        return None
    metadata = document["_aws"]
    if not isinstance(metadata, dict):
        raise EmfError("_aws must be an object")
    stamp, directives = metadata.get("Timestamp"), metadata.get("CloudWatchMetrics")
    if not _is_number(stamp):
        raise EmfError("_aws.Timestamp must be a number: milliseconds since the epoch")
    if not isinstance(directives, list):
        raise EmfError("_aws.CloudWatchMetrics must be an array of metric directives")
    timestamp = datetime.fromtimestamp(stamp / 1000, UTC)
    return [
        MetricDatum(namespace, name, dimensions, value, unit, source, timestamp)
        for index, directive in enumerate(directives)
        for namespace, dimension_sets, definitions in [_directive(document, directive, f"CloudWatchMetrics[{index}]")]
        for dimensions in dimension_sets
        for name, unit, values in definitions
        for value in values
    ]


def _directive(
    document: dict[str, Any], directive: object, where: str
) -> tuple[str, list[dict[str, str]], list[tuple[str, str, list[float]]]]:
    if not isinstance(directive, dict):
        raise EmfError(f"{where} must be an object")
    namespace, dimension_sets, definitions = (directive.get(key) for key in ("Namespace", "Dimensions", "Metrics"))
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= MAX_NAME:
        raise EmfError(f"{where}.Namespace must be a string of 1 to {MAX_NAME} characters")
    if not isinstance(dimension_sets, list) or not dimension_sets:
        raise EmfError(f"{where}.Dimensions must be an array of at least one dimension set (which may be empty)")
    if not isinstance(definitions, list):
        raise EmfError(f"{where}.Metrics must be an array of metric definitions")
    if len(definitions) > MAX_METRICS:
        raise EmfError(f"{where}.Metrics has {len(definitions)} definitions; at most {MAX_METRICS} are allowed")
    return (
        namespace,
        [_dimensions(document, keys, f"{where}.Dimensions[{i}]") for i, keys in enumerate(dimension_sets)],
        [_definition(document, definition, f"{where}.Metrics[{i}]") for i, definition in enumerate(definitions)],
    )


def _dimensions(document: dict[str, Any], keys: object, where: str) -> dict[str, str]:
    if not isinstance(keys, list) or not all(isinstance(key, str) and 1 <= len(key) <= MAX_NAME for key in keys):
        raise EmfError(f"{where} must be an array of dimension keys (strings of 1 to {MAX_NAME} characters)")
    if len(keys) > MAX_DIMENSIONS:
        raise EmfError(f"{where} has {len(keys)} dimension keys; at most {MAX_DIMENSIONS} are allowed")
    for key in keys:
        if key not in document:
            raise EmfError(f"{where}: dimension {key!r} is not a member of the document")
        if not isinstance(document[key], str):
            raise EmfError(f"{where}: dimension {key!r} must have a string value, not {document[key]!r}")
    return {key: document[key] for key in keys}


def _definition(document: dict[str, Any], definition: object, where: str) -> tuple[str, str, list[float]]:
    if not isinstance(definition, dict):
        raise EmfError(f"{where} must be an object")
    name, unit = definition.get("Name"), definition.get("Unit", "None")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise EmfError(f"{where}.Name must be a string of 1 to {MAX_NAME} characters")
    if unit not in UNITS:
        raise EmfError(f"{where}: metric {name!r} has unit {unit!r}, which is not a CloudWatch unit")
    if definition.get("StorageResolution", 60) not in RESOLUTIONS:
        raise EmfError(f"{where}: metric {name!r} has a StorageResolution other than 1 or 60")
    value = document.get(name)
    values = value if isinstance(value, list) else [value]
    if name not in document or not values:
        raise EmfError(f"{where}: metric {name!r} has no value (no member {name!r} in the document)")
    if len(values) > MAX_METRICS:
        raise EmfError(f"{where}: metric {name!r} has {len(values)} values; at most {MAX_METRICS} are allowed")
    if not all(_is_number(v) for v in values):
        raise EmfError(f"{where}: metric {name!r} must be a number or an array of numbers, not {value!r}")
    return name, unit, [float(v) for v in values]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _not_a_number(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")


class MetricStore:
    """What CloudWatch holds of the run's metrics: fed one log line at a time, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: list[MetricDatum] = []
        self._invalid: list[InvalidEmf] = []

    def extract(self, source: str, line: str) -> None:
        """Keep the datapoints of `line`, printed by `source`, or the line and why, when it is invalid EMF."""
        try:
            data = parse_emf(line, source)
        except EmfError as error:
            with self._lock:
                self._invalid.append(InvalidEmf(source, line, str(error)))
            return
        if data:
            with self._lock:
                self._data.extend(data)

    @property
    def data(self) -> list[MetricDatum]:
        with self._lock:
            return list(self._data)

    @property
    def invalid(self) -> list[InvalidEmf]:
        with self._lock:
            return list(self._invalid)


def summarize(data: Iterable[MetricDatum]) -> list[MetricSummary]:
    """Count, sum, maximum and minimum (and so the average) per namespace, metric name, dimension set with its
    values, and unit, sorted by those: the statistics CloudWatch would give over the whole run. The unit is part of
    the key, as CloudWatch keeps values of different units apart."""
    groups: dict[tuple[str, str, tuple[tuple[str, str], ...], str], list[float]] = {}
    for datum in data:
        key = (datum.namespace, datum.name, tuple(sorted(datum.dimensions.items())), datum.unit)
        groups.setdefault(key, []).append(datum.value)
    return [
        MetricSummary(namespace, name, dict(dimensions), unit, len(values), sum(values), max(values), min(values))
        for (namespace, name, dimensions, unit), values in sorted(groups.items())
    ]
