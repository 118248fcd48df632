"""The local cloud's metrics: the embedded metric format (EMF) lines that functions and containers print, extracted as
CloudWatch extracts them (emulator/metrics.py), refused as CloudWatch refuses them, and kept apart per invocation
however many run at once in the one process (emulator/sandbox.py). With a made-up application, not the sample."""

from __future__ import annotations

import builtins
import json
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.cloud import LocalCloud
from emulator.metrics import EmfError, MetricDatum, MetricStore, parse_emf, summarize
from emulator.sandbox import POWERTOOLS_METRIC_STATE, HandlerOutput
from synth.program import Synthesis
from tests.emulator.test_application_code import ROLE, TRUST, resource

REGION = "eu-west-1"
STAMP = 1_700_000_000_000


def emf(**changes: Any) -> dict[str, Any]:
    """A valid document, as Powertools prints it, with `changes` applied to its root."""
    document = {
        "_aws": {
            "Timestamp": STAMP,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Orders",
                    "Dimensions": [["route", "service"]],
                    "Metrics": [{"Name": "Placed", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}],
                }
            ],
        },
        "route": "web",
        "service": "orders",
        "Placed": [1.0],
        "Latency": 12.5,
        "requestId": "not a dimension",
    }
    return document | changes


def directive(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`document` with `changes` applied to its (single) metric directive."""
    [first] = document["_aws"]["CloudWatchMetrics"]
    return document | {"_aws": document["_aws"] | {"CloudWatchMetrics": [first | changes]}}


# --- parsing, as CloudWatch reads a log event -----------------------------------------------------------------------


def test_a_document_gives_a_datapoint_per_value_of_each_metric_under_each_dimension_set():
    document = directive(emf(Placed=[1, 2, 3]), Dimensions=[["route", "service"], ["service"], []])

    data = parse_emf(json.dumps(document), "orders-create")

    at = datetime.fromtimestamp(STAMP / 1000, UTC)
    by_route, by_service, none = {"route": "web", "service": "orders"}, {"service": "orders"}, {}
    assert data == [
        *[MetricDatum("Orders", "Placed", by_route, v, "Count", "orders-create", at) for v in (1, 2, 3)],
        MetricDatum("Orders", "Latency", by_route, 12.5, "Milliseconds", "orders-create", at),
        *[MetricDatum("Orders", "Placed", by_service, v, "Count", "orders-create", at) for v in (1, 2, 3)],
        MetricDatum("Orders", "Latency", by_service, 12.5, "Milliseconds", "orders-create", at),
        *[MetricDatum("Orders", "Placed", none, v, "Count", "orders-create", at) for v in (1, 2, 3)],
        MetricDatum("Orders", "Latency", none, 12.5, "Milliseconds", "orders-create", at),
    ]


def test_a_metric_without_a_unit_is_in_unit_none():
    document = directive(emf(), Metrics=[{"Name": "Placed"}])
    assert [d.unit for d in parse_emf(json.dumps(document), "f") or []] == ["None"]


@pytest.mark.parametrize(
    "line",
    ["plain text", '{"level": "INFO", "message": "no _aws here"}', "[1, 2]", '"_aws"', "", "null"],
    ids=["text", "json-log", "array", "string", "empty", "null"],
)
def test_other_lines_are_ordinary_log_lines(line):
    assert parse_emf(line, "f") is None


MALFORMED = {
    "metric-without-value": (
        directive(emf(), Metrics=[{"Name": "Shipped", "Unit": "Count"}]),
        "'Shipped' has no value",
    ),
    "empty-value-array": (emf(Placed=[]), "'Placed' has no value"),
    "dimension-not-in-document": (directive(emf(), Dimensions=[["route", "region"]]), "'region' is not a member"),
    "dimension-not-a-string": (emf(route=7), "'route' must have a string value"),
    "31-dimensions": (
        directive(emf(**{f"d{i}": "x" for i in range(31)}), Dimensions=[[f"d{i}" for i in range(31)]]),
        "31 dimension keys; at most 30",
    ),
    "101-metrics": (
        directive(emf(**{f"m{i}": 1 for i in range(101)}), Metrics=[{"Name": f"m{i}"} for i in range(101)]),
        "101 definitions; at most 100",
    ),
    "101-values": (emf(Placed=[1] * 101), "101 values; at most 100"),
    "value-not-a-number": (emf(Placed="one"), "must be a number or an array of numbers"),
    "boolean-value": (emf(Placed=True), "must be a number or an array of numbers"),
    "unknown-unit": (directive(emf(), Metrics=[{"Name": "Placed", "Unit": "Orders"}]), "not a CloudWatch unit"),
    "resolution": (directive(emf(), Metrics=[{"Name": "Placed", "StorageResolution": 5}]), "StorageResolution"),
    "no-namespace": (directive(emf(), Namespace=""), "Namespace must be a string"),
    "no-dimension-set": (directive(emf(), Dimensions=[]), "at least one dimension set"),
    "no-timestamp": (emf(_aws={"CloudWatchMetrics": []}), "Timestamp must be a number"),
    "directives-not-an-array": (emf(_aws={"Timestamp": STAMP, "CloudWatchMetrics": {}}), "must be an array"),
    "metadata-not-an-object": (emf(_aws=[]), "_aws must be an object"),
}


@pytest.mark.parametrize(("document", "rule"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_documents_are_refused_naming_the_rule(document, rule):
    with pytest.raises(EmfError, match=rule):
        parse_emf(json.dumps(document), "f")


@pytest.mark.parametrize(
    "line",
    ['{"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "x": NaN}', '{"_aws": {"Timestamp": 1,'],
    ids=["nan", "truncated"],
)
def test_an_emf_line_that_is_not_json_is_refused(line):
    with pytest.raises(EmfError, match="not a JSON object"):
        parse_emf(line, "f")


def test_the_store_keeps_refused_lines_with_their_reason_and_no_datapoint_of_them():
    store = MetricStore()
    store.extract("orders-create", json.dumps(emf()))
    store.extract("orders-create", "Order placed")
    bad = json.dumps(directive(emf(), Dimensions=[["region"]]))
    store.extract("orders-cancel", bad)

    assert [(d.name, d.source) for d in store.data] == [("Placed", "orders-create"), ("Latency", "orders-create")]
    [invalid] = store.invalid
    assert (invalid.source, invalid.line) == ("orders-cancel", bad)
    assert "'region' is not a member of the document" in invalid.reason


def test_summaries_are_per_metric_dimension_set_and_unit():
    store = MetricStore()
    for route, latency in (("web", 10), ("web", 30), ("app", 5)):
        store.extract("f", json.dumps(emf(route=route, Latency=latency)))
    summaries = {(s.name, s.dimensions["route"]): s for s in summarize(store.data)}

    web = summaries["Latency", "web"]
    assert (web.count, web.sum, web.average, web.maximum, web.minimum, web.unit) == (2, 40, 20, 30, 10, "Milliseconds")
    assert (summaries["Placed", "web"].count, summaries["Placed", "web"].sum) == (2, 2)
    assert summaries["Latency", "app"].sum == 5
    assert list(summaries) == sorted(summaries, key=lambda key: (key[0], key[1]))


# --- capture: what a handler's thread prints, as its log ------------------------------------------------------------


def test_each_threads_lines_go_to_its_own_source_whole_and_other_threads_print_as_usual(capsys):
    names = threading.local()
    log: list[str] = []
    lines: list[tuple[str, str]] = []
    output = HandlerOutput(lambda: getattr(names, "running", None), _ListStream(log), lambda *s: lines.append(s))
    both_started = threading.Barrier(2, timeout=5)

    def handler(name: str) -> None:
        names.running = name
        print(f"{name}: first", end="")  # a line in several prints, interleaved with the other thread's
        both_started.wait()
        print(" half", f"{name}-second", sep=" and ")
        both_started.wait()
        print(f"{name}: unfinished", end="")
        output.finish()

    python_print = builtins.print
    output.install()
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(handler, ["orders-a", "orders-b"]))
        print("the test's own line")
    finally:
        output.uninstall()

    assert builtins.print is python_print
    assert sorted(lines) == [
        ("orders-a", "orders-a: first half and orders-a-second"),
        ("orders-a", "orders-a: unfinished"),
        ("orders-b", "orders-b: first half and orders-b-second"),
        ("orders-b", "orders-b: unfinished"),
    ]
    assert sorted(log) == sorted(f"{line}\n" for _, line in lines)
    assert capsys.readouterr().out == "the test's own line\n"


def test_what_an_invocation_prints_after_its_timeout_is_dropped():
    """Lambda stops the runtime at the timeout: a later print (a `log_metrics` flush, say) never reaches the log."""
    timed_out = threading.Event()
    log: list[str] = []
    lines: list[tuple[str, str]] = []
    output = HandlerOutput(lambda: "orders-web", _ListStream(log), lambda *s: lines.append(s), timed_out.is_set)
    output.install()
    try:
        print("before the timeout")
        timed_out.set()
        print(json.dumps(emf()))
    finally:
        output.uninstall()

    assert lines == [("orders-web", "before the timeout")]
    assert log == ["before the timeout\n"]


class _ListStream:
    def __init__(self, into: list[str]) -> None:
        self._into = into

    def write(self, text: str) -> int:
        self._into.append(text)
        return len(text)


# --- end to end: Powertools Metrics in two concurrent invocations ---------------------------------------------------


def powertools_metrics() -> Any:
    """Powertools' metrics package: the application's dependency, not the platform's (a fork may drop it)."""
    return pytest.importorskip("aws_lambda_powertools.metrics", reason="the made-up application uses Powertools")


def test_powertools_keeps_an_invocations_metrics_where_the_sandbox_makes_them_per_thread():
    """emulator/sandbox.py relies on Powertools' internals: fail here, naming them, when an upgrade moves them."""
    metrics = powertools_metrics().Metrics(namespace="Orders")
    for owner in (metrics, metrics.provider):
        [(module, attributes)] = [(m, a) for m, (c, a) in POWERTOOLS_METRIC_STATE.items() if type(owner).__name__ == c]
        assert type(owner).__module__ == module
        assert set(attributes) <= set(vars(owner)), f"{module}: instance attributes are now {sorted(vars(owner))}"
    assert metrics.provider.metric_set is metrics.metric_set is type(metrics)._metrics, "shared by every instance"


HANDLER = """
import threading

from aws_lambda_powertools.metrics import Metrics, MetricUnit

metrics = Metrics(namespace="Orders")
both_counting = threading.Barrier(2, timeout=10)


@metrics.log_metrics
def handler(event, context):
    print(f"placing {event['order']}")
    metrics.add_dimension(name="function", value=context.function_name)
    both_counting.wait()  # both invocations hold a dimension, neither has flushed
    metrics.add_metric(name="Placed", unit=MetricUnit.Count, value=event["items"])
    both_counting.wait()
    return {"order": event["order"]}
"""


def two_functions() -> Synthesis:
    trust = {"name": "orders-create-role", "assumeRolePolicy": json.dumps(TRUST)}
    role = resource("aws:iam/role:Role", "role", trust, {"arn": ROLE})
    variables = {"POWERTOOLS_SERVICE_NAME": "orders"}
    functions = [
        resource("aws:lambda/function:Function", f"{name}-function", {
            "name": name, "runtime": "python3.13", "role": ROLE, "handler": "storefront.place.handler", "timeout": 20,
            "memorySize": 256, "environment": {"variables": variables},
        })
        for name in ("orders-web", "orders-app")
    ]  # fmt: skip
    return Synthesis(stack="unit", preview=False, resources=[role, *functions], outputs={})


@pytest.fixture
def storefront(tmp_path: Path) -> Iterator[Path]:
    """The made-up application's code root (its package named apart from other tests' made-up ones: one process
    imports a package name once), forgotten afterwards."""
    code = tmp_path / "code" / "storefront"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("")
    (code / "place.py").write_text(HANDLER)
    yield code.parent
    for name in [name for name in sys.modules if name.split(".")[0] == "storefront"]:
        del sys.modules[name]


def test_two_concurrent_invocations_print_and_count_apart(tmp_path: Path, storefront: Path, capsys):
    powertools_metrics()
    patched = [getattr(__import__(module, fromlist=[cls]), cls) for module, (cls, _) in POWERTOOLS_METRIC_STATE.items()]
    python_print = builtins.print
    with LocalCloud(two_functions(), region=REGION, workdir=tmp_path / "cloud", code_roots=[storefront]) as cloud:
        assert not cloud.deployment.failed, cloud.deployment.failed
        invoke = cloud.client("lambda").invoke
        calls = [("orders-web", {"order": "w1", "items": 2}), ("orders-app", {"order": "a1", "items": 5})]
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda c: invoke(FunctionName=c[0], Payload=json.dumps(c[1])), calls))
        assert all("FunctionError" not in a for a in answers), [a["Payload"].read() for a in answers]
        counted = sorted((d.source, d.name, dict(d.dimensions), d.value) for d in cloud.metrics)
        assert cloud.invalid_metrics == []
    log = (tmp_path / "cloud" / "handlers.log").read_text()

    assert counted == [
        ("orders-app", "Placed", {"function": "orders-app", "service": "orders"}, 5.0),
        ("orders-web", "Placed", {"function": "orders-web", "service": "orders"}, 2.0),
    ]
    assert "placing w1\n" in log, "what a handler prints is its log"
    assert "placing a1\n" in log
    assert log.count('"_aws"') == 2
    assert capsys.readouterr().out == "", "nothing a handler printed reached the terminal"
    assert builtins.print is python_print, "print is Python's again once the cloud is closed"
    assert not [name for cls in patched for name in vars(cls) if name in ("metric_set", "dimension_set")], (
        "Powertools' classes are as they were"
    )
