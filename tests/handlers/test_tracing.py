"""The lazy tracer: no X-Ray SDK until an invocation is sampled, then Powertools' subsegments as before.

Each case runs a handler in a fresh interpreter with Lambda's environment, so that what it imports is its own (this
process has the SDK loaded by other tests) and what it sends goes to a UDP socket standing in for the X-Ray daemon.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipeline.tracing import sampled

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
HANDLER = """
import json, sys
from pipeline.tracing import tracer

@tracer.capture_lambda_handler
def handler(event, context):
    tracer.put_annotation(key="objectKey", value=event["key"])
    with tracer.in_subsegment("render_renditions"):
        if event.get("fail"):
            raise RuntimeError("no renditions")
    return {"rendered": event["key"]}

try:
    result = handler({"key": "uploads/a.jpg", "fail": %(fail)s}, None)
except RuntimeError as error:
    result = {"raised": str(error)}
print(json.dumps({"result": result, "sdk_imported": "aws_xray_sdk" in sys.modules}))
"""


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    """A UDP socket where the X-Ray SDK sends its documents, as it would to the daemon in Lambda."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        yield sock


def invoke(daemon: socket.socket, trace_header: str | None, *, fail: bool = False) -> tuple[dict[str, Any], list]:
    """Run the handler once as a Lambda invocation with `trace_header`; its output and the documents it sent."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(HANDLERS),
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "image-pipeline-test",
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "pipeline-test",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        **({"_X_AMZN_TRACE_ID": trace_header} if trace_header is not None else {}),
    }
    script = HANDLER % {"fail": fail}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    documents = []
    try:
        while True:
            header, _, body = daemon.recv(65536).decode().partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            documents.append(json.loads(body))
    except TimeoutError:
        pass
    return json.loads(run.stdout), documents


@pytest.mark.parametrize(
    "trace_header",
    [None, f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=0"],
    ids=["untraced", "not-sampled"],
)
def test_an_invocation_that_is_not_sampled_imports_no_sdk_and_sends_nothing(daemon, trace_header):
    output, documents = invoke(daemon, trace_header)

    assert output == {"result": {"rendered": "uploads/a.jpg"}, "sdk_imported": False}
    assert documents == []


def test_a_sampled_invocation_sends_the_handlers_subsegment_annotated_with_the_nested_one(daemon):
    output, documents = invoke(daemon, f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0")

    assert output == {"result": {"rendered": "uploads/a.jpg"}, "sdk_imported": True}
    by_name = {document["name"]: document for document in documents}
    assert sorted(by_name) == ["## handler", "render_renditions"]
    handler, nested = by_name["## handler"], by_name["render_renditions"]
    assert handler["trace_id"] == nested["trace_id"] == TRACE_ID
    assert handler["parent_id"] == "53995c3f42cd8ad8", "under the invocation's own segment"
    assert nested["parent_id"] == handler["id"]
    assert handler["annotations"] == {"objectKey": "uploads/a.jpg", "ColdStart": True, "Service": "pipeline-test"}
    assert handler["metadata"]["pipeline-test"]["handler response"] == {"rendered": "uploads/a.jpg"}


def test_a_sampled_invocation_that_raises_records_the_error_and_raises_it(daemon):
    output, documents = invoke(daemon, f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1", fail=True)

    assert output["result"] == {"raised": "no renditions"}
    by_name = {document["name"]: document for document in documents}
    handler, nested = by_name["## handler"], by_name["render_renditions"]
    assert handler["fault"] is nested["fault"] is True
    [exception] = nested["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("RuntimeError", "no renditions")
    assert handler["cause"] == exception["id"], "the handler's subsegment refers to the exception where it was raised"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1", True),
        (f"Root={TRACE_ID}; Sampled=1; Lineage=a87bd80c:0", True),
        (f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=0", False),
        (f"Root={TRACE_ID};Parent=53995c3f42cd8ad8", False),
        ("Root=1-abc;Sampled=10", False),
        ("", False),
    ],
)
def test_sampled_reads_the_trace_headers_decision(header, expected):
    assert sampled(header) is expected
