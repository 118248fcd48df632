"""Duplicates and ordering through the deployed wiring: EventBridge delivers at least once, so the same event may
start the workflow twice (even while the first run is still going); a new upload of a key replaces its
renditions; and an older upload's event arriving late changes nothing."""

from __future__ import annotations

from app.demo.cloud import Outcome, PipelineCloud
from emulator.cloud import Upload
from tests.e2e.conftest import unique, why_not_succeeded
from tests.handlers import images


def renditions_of(cloud: PipelineCloud, upload: Upload) -> dict[str, bytes]:
    folder = upload.key.removeprefix(cloud.upload_prefix)
    return {key: cloud.rendition(key) for key in cloud.rendition_keys() if key.startswith(f"renditions/{folder}/")}


def records_of(cloud: PipelineCloud, upload: Upload) -> list[dict]:
    return [record for record in cloud.records() if record["objectKey"] == upload.key]


def lambda_failures(cloud: PipelineCloud, outcome: Outcome) -> dict[str, str]:
    """Every error a Lambda task of the outcome's executions reported (a retried one included), with its cause."""
    return {event["lambdaFunctionFailedEventDetails"]["error"]: event["lambdaFunctionFailedEventDetails"]["cause"]
            for execution in outcome.executions for event in cloud.history(execution.arn)
            if event["type"] == "LambdaFunctionFailed"}  # fmt: skip


def upload_runs(outcome: Outcome) -> list[str]:
    return [e.status for e in outcome.executions if e.state_machine.endswith("process-upload")]


def test_the_same_event_delivered_twice_gives_one_record_and_the_same_renditions(cloud):
    upload = cloud.upload(unique("twice.jpg"), images.jpeg(), "image/jpeg")
    cloud.deliver_again(upload)  # while the first run is still going: the duplicate waits for it, then replays
    [first] = cloud.wait([upload])
    renditions, [record] = renditions_of(cloud, upload), records_of(cloud, upload)

    cloud.deliver_again(upload)  # once it has finished
    [second] = cloud.wait([upload])

    assert upload_runs(first) == ["SUCCEEDED", "SUCCEEDED"]
    assert upload_runs(second) == ["SUCCEEDED"] * 3
    failures = lambda_failures(cloud, first)
    assert failures.keys() <= {"IdempotencyAlreadyInProgressError"}, f"a duplicate only waits: {failures}"
    assert records_of(cloud, upload) == [record], "one record, not rewritten"
    assert record["status"] == "COMPLETE"
    assert renditions_of(cloud, upload) == renditions
    assert sorted(renditions) == sorted(r["key"] for r in record["renditions"])


def test_a_new_upload_of_a_key_replaces_its_renditions(cloud):
    key = unique("dog.jpg")
    older = cloud.upload(key, images.jpeg(images.photo(300, 200)), "image/jpeg")
    cloud.wait([older])
    old_renditions = renditions_of(cloud, older)

    newer = cloud.upload(key, images.jpeg(images.photo(200, 300)), "image/jpeg")
    [outcome] = cloud.wait([newer])

    assert (outcome.status, outcome.record["versionTag"]) == ("COMPLETE", newer.etag)
    now = renditions_of(cloud, newer)
    assert now.keys().isdisjoint(old_renditions), "the superseded renditions are deleted"
    assert sorted(now) == sorted(r["key"] for r in outcome.record["renditions"])
    assert all(f"/{newer.etag}/" in rendition for rendition in now)
    assert outcome.record["renditions"][0]["height"] == 300


def test_an_older_event_arriving_late_changes_nothing(cloud):
    key = unique("cat.jpg")
    older = cloud.upload(key, images.jpeg(images.photo(300, 200)), "image/jpeg")
    cloud.wait([older])
    newer = cloud.upload(key, images.jpeg(images.photo(200, 300)), "image/jpeg")
    cloud.wait([newer])
    renditions, [record] = renditions_of(cloud, newer), records_of(cloud, newer)

    cloud.deliver_again(older)
    [late] = cloud.wait([older])

    assert all(e.status == "SUCCEEDED" for e in late.executions), why_not_succeeded(cloud, late.executions)
    assert records_of(cloud, newer) == [record]
    assert record["versionTag"] == newer.etag
    assert renditions_of(cloud, newer) == renditions, "the older upload's renditions do not come back"
