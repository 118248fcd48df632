"""Load: 200 uploads in one run (a few of them bad), all in flight at once. Every upload must end in a terminal,
recorded state: none lost (a record, and an execution, for each), none duplicated (one of each per upload, and
exactly its own renditions)."""

from __future__ import annotations

import pytest

from app.demo.cloud import Outcome, PipelineCloud
from app.demo.samples import encode, scene
from emulator.cloud import TERMINAL
from tests.e2e.conftest import unique

pytestmark = pytest.mark.longest

UPLOADS = 200
BAD_EVERY = 20
"""Every 20th upload is a text file named like an image: refused, and recorded."""
STRETCH = 20
"""200 executions in one interpreter: each call waits its turn for the GIL, where on AWS each invocation has a
sandbox of its own. The timeouts are stretched for this run so that what is measured is loss and duplication."""


@pytest.fixture(scope="module")
def outcomes(cloud: PipelineCloud) -> list[Outcome]:
    folder = unique("load")
    bodies = [
        b"not an image\n" if index % BAD_EVERY == 0 else encode(scene(96, 72, seed=index), "JPEG", quality=80)
        for index in range(UPLOADS)
    ]
    with cloud.stretched_timeouts(STRETCH):
        uploads = [cloud.upload(f"{folder}/{index:03d}.jpg", body, "image/jpeg") for index, body in enumerate(bodies)]
        return cloud.wait(uploads, timeout=300)


def test_every_upload_ends_in_a_terminal_recorded_state(outcomes):
    assert len(outcomes) == UPLOADS
    assert all(e.status in TERMINAL for o in outcomes for e in o.executions)
    statuses = [o.status for o in outcomes]
    assert statuses.count("COMPLETE") == UPLOADS - UPLOADS // BAD_EVERY
    assert statuses.count("FAILED") == UPLOADS // BAD_EVERY
    assert {o.record["error"] for o in outcomes if o.status == "FAILED"} == {"UnsupportedFormat"}


def test_none_is_lost_and_none_is_duplicated(cloud, outcomes):
    keys = {o.upload.key for o in outcomes}
    assert len(keys) == UPLOADS
    records = [r for r in cloud.records() if r["objectKey"] in keys]
    assert sorted(r["objectKey"] for r in records) == sorted(keys), "exactly one record per upload"
    assert all(len([e for e in o.executions if e.state_machine.endswith("process-upload")]) == 1 for o in outcomes)
    deliveries = [d for d in cloud.deliveries() if d.event["detail"]["object"]["key"] in keys]
    assert len(deliveries) == UPLOADS
    assert not [d for d in deliveries if d.error]
    folder = next(iter(keys)).removeprefix(cloud.upload_prefix).rsplit("/", 1)[0]
    stored = [key for key in cloud.rendition_keys() if key.startswith(f"renditions/{folder}/")]
    listed = [r["key"] for o in outcomes for r in o.renditions]
    assert sorted(stored) == sorted(listed), "exactly the renditions the records list"
    assert len(listed) == 3 * (UPLOADS - UPLOADS // BAD_EVERY)


def test_nothing_was_dead_lettered(cloud):
    sqs = cloud.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=cloud.synthesis.outputs["deadLetterQueueUrl"],
                                          AttributeNames=["ApproximateNumberOfMessages"])  # fmt: skip
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
