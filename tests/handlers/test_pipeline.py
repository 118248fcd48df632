"""The process Lambda end to end against moto, called as the workflow calls it: one invocation per upload, which
validates it and, on the Lambda route, renders it from the same download.

Every accepted format goes through to a COMPLETE record and its renditions; every refused input ends in a FAILED
record with a human-readable reason and the typed error, with no renditions and the original untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from imaging import (
    CorruptImage,
    ImageTooLarge,
    ImagingLimits,
    ImagingSettings,
    TooManyPixels,
    UnsupportedFormat,
    inspect_image,
)
from PIL import Image
from pipeline import context, process, render
from pipeline.errors import ConfigurationError, ObjectNotFound, StaleEvent
from pipeline.events import ValidationError
from pipeline.objects import UploadEvent, open_upload
from pipeline.records import ImageRecords
from pipeline.render import render_upload
from pipeline.validate import Validation, validate_upload

from app.review.assumptions import PROCESS, VALIDATE
from tests.handlers import images
from tests.handlers.conftest import make_dependencies

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.handlers.conftest import Pipeline

_deserializer = TypeDeserializer()


class Harness:
    """Uploads an object and runs the handler the way the workflow does, recording the S3 and DynamoDB calls of the
    last run (operation, and the table or the object key)."""

    def __init__(self, resources: Pipeline, make_event: Callable[..., dict[str, Any]], lambda_context: Any) -> None:
        self.resources = resources
        self.make_event = make_event
        self.context = lambda_context
        self.bucket = resources.uploads_bucket
        self.calls: list[tuple[str, str]] = []
        for client in (resources.s3, resources.dynamodb):
            client.meta.events.register("before-parameter-build", self._record)

    def _record(self, model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        self.calls.append((model.name, params.get("TableName") or params.get("Key", "")))

    def upload(self, key: str, body: bytes, bucket: str | None = None) -> dict[str, Any]:
        bucket = bucket or self.bucket
        put = self.resources.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/jpeg")
        return self.make_event(
            bucket, key, version_id=put.get("VersionId"), etag=put["ETag"].strip('"'), size=len(body),
            sequencer=f"{len(self.resources.s3.list_object_versions(Bucket=bucket).get('Versions', [])):016X}",
        )  # fmt: skip

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        self.calls = []
        return process.handler(event, self.context)

    def record(self, key: str) -> dict[str, Any]:
        item = self.resources.dynamodb.get_item(TableName=self.resources.table_name, Key={"objectKey": {"S": key}})
        return {name: _deserializer.deserialize(value) for name, value in item["Item"].items()}

    def results(self) -> dict[str, bytes]:
        listing = self.resources.s3.list_objects_v2(Bucket=self.resources.results_bucket).get("Contents", [])
        s3 = self.resources.s3
        return {o["Key"]: s3.get_object(Bucket=self.resources.results_bucket, Key=o["Key"])["Body"].read()
                for o in listing}  # fmt: skip

    def original(self, key: str) -> bytes:
        return self.resources.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture
def harness(dependencies, pipeline_resources, make_event, lambda_context) -> Harness:
    return Harness(pipeline_resources, make_event, lambda_context)


@pytest.mark.parametrize(
    ("make", "rendition_format", "size"),
    [
        (images.jpeg, "JPEG", (640, 480)),
        (images.png, "JPEG", (640, 480)),
        (images.webp, "JPEG", (640, 480)),
        (lambda: images.jpeg(images.photo(800, 400), orientation=6), "JPEG", (400, 800)),
        (images.grayscale_jpeg, "JPEG", (640, 480)),
        (images.cmyk_jpeg, "JPEG", (640, 480)),
        (images.png_with_alpha, "WEBP", (640, 480)),
    ],
    ids=["jpeg", "png", "webp", "portrait-exif", "grayscale", "cmyk", "alpha"],
)
def test_accepted_images_complete_with_renditions(harness, make, rendition_format, size):
    data = make()
    event = harness.upload("uploads/photo.img", data)
    result = harness.run(event)
    record = harness.record("uploads/photo.img")
    assert result["rendered"]["status"] == record["status"] == "COMPLETE"
    assert record["route"] == "lambda"
    assert record["metadata"]["sha256"]
    assert record["metadata"]["sizeBytes"] == len(data)
    stored = harness.results()
    assert sorted(stored) == sorted(r["key"] for r in record["renditions"])
    largest = record["renditions"][0]
    image = Image.open(__import__("io").BytesIO(stored[largest["key"]]))
    assert (image.format, image.size) == (rendition_format, size)
    version = event["detail"]["object"]["version-id"]
    assert largest["key"] == f"renditions/photo.img/{version}/1024.{image.format.lower().replace('jpeg', 'jpg')}"
    assert harness.original("uploads/photo.img") == data


@pytest.mark.parametrize(
    ("data", "error", "reason", "settings"),
    [
        (images.gif(), UnsupportedFormat, "GIF is not accepted", None),
        (images.text_named_like_an_image(), UnsupportedFormat, "match no image format", None),
        (images.jpeg(), ImageTooLarge, "the limit is 1,000 bytes", ImagingSettings(ImagingLimits(max_bytes=1000))),
        (images.png_bomb(), TooManyPixels, "too many pixels", None),
        (images.truncated_jpeg(), CorruptImage, "the JPEG is truncated", None),
        (images.corrupt_png(), CorruptImage, "cannot be decoded", None),
        (b"", CorruptImage, "the file is empty", None),
    ],
    ids=["gif", "text", "too-large", "bomb", "truncated", "corrupt", "empty"],
)
def test_refused_inputs_end_failed_with_the_reason_and_nothing_written(
    harness, pipeline_resources, data, error, reason, settings
):
    if settings:
        context.set_dependencies(make_dependencies(pipeline_resources, settings))
    event = harness.upload("uploads/bad.jpg", data)
    with pytest.raises(error, match=reason):
        harness.run(event)
    record = harness.record("uploads/bad.jpg")
    assert record["status"] == "FAILED"
    assert record["error"] == error.__name__
    assert reason in record["cause"]
    assert harness.results() == {}, "no renditions for a refused image"
    assert harness.original("uploads/bad.jpg") == data, "the original is untouched"


def test_a_missing_object_is_recorded_failed(harness, make_event):
    event = make_event(harness.bucket, "uploads/gone.jpg", version_id="nope", sequencer="01")
    with pytest.raises(ObjectNotFound):
        harness.run(event)
    record = harness.record("uploads/gone.jpg")
    assert (record["status"], record["error"]) == ("FAILED", "ObjectNotFound")


def claimed_copy(harness: Harness, key: str, data: bytes, directory: Path) -> tuple[UploadEvent, Path]:
    """An uploaded, claimed object and a local copy of it, as the steps get them from the process Lambda."""
    upload = UploadEvent.parse(harness.upload(key, data))
    ImageRecords(harness.resources.dynamodb, harness.resources.table_name).claim(upload)
    local = directory / "copy"
    local.write_bytes(data)
    return upload, local


def test_validation_reads_the_local_copy_and_records_the_route(harness, dependencies, tmp_path):
    upload, local = claimed_copy(harness, "uploads/step.jpg", images.jpeg(), tmp_path)
    with open_upload(harness.resources.s3, upload) as opened:
        stored = opened.stored
    harness.calls = []

    validated = validate_upload(upload, stored, local, dependencies)

    assert harness.calls == [("UpdateItem", harness.resources.table_name)], "no S3 call: it reads the copy"
    assert (validated.output["header"], validated.output["route"]) == (validated.header._asdict(), validated.route)
    assert (validated.route, validated.output["object"]["etag"]) == ("lambda", stored.etag)
    assert harness.record("uploads/step.jpg")["route"] == "lambda"


def test_rendering_reads_the_local_copy_stores_and_completes(harness, dependencies, tmp_path):
    data = images.jpeg()
    upload, local = claimed_copy(harness, "uploads/step.jpg", data, tmp_path)
    header = inspect_image(local, dependencies.imaging.limits)
    harness.calls = []

    result = render_upload(upload, local, header, dependencies)

    assert [operation for operation, _ in harness.calls] == ["PutObject"] * 3 + ["UpdateItem"], "no download"
    assert result["status"] == harness.record("uploads/step.jpg")["status"] == "COMPLETE"
    assert sorted(harness.results()) == sorted(r["key"] for r in result["renditions"])
    assert local.read_bytes() == data, "the copy is the caller's to remove"


def test_a_malformed_event_is_refused_before_anything_is_written(harness, make_event):
    event = make_event(harness.bucket, "uploads/x.jpg")
    del event["detail"]["object"]
    with pytest.raises(ValidationError):
        process.handler(event, harness.context)
    assert harness.resources.dynamodb.scan(TableName=harness.resources.table_name)["Count"] == 0


def test_the_same_event_twice_gives_one_record_and_the_same_renditions(harness, monkeypatch):
    event = harness.upload("uploads/twice.jpg", images.jpeg())
    first = harness.run(event)
    first_record, first_results = harness.record("uploads/twice.jpg"), harness.results()
    calls = []
    monkeypatch.setattr(render, "render_renditions", lambda *args: calls.append(args) or [])
    second = harness.run(event)
    assert second == first
    assert calls == [], "the duplicate was answered from the idempotency store, not rendered again"
    assert [call for call in harness.calls if call[1] != harness.resources.idempotency_table] == [], (
        "nor downloaded, claimed or validated again"
    )
    assert harness.record("uploads/twice.jpg")["renditions"] == first_record["renditions"]
    assert harness.results() == first_results
    assert harness.resources.dynamodb.scan(TableName=harness.resources.table_name)["Count"] == 1


def test_a_lambda_route_image_is_downloaded_once_and_claimed_once(harness):
    """One invocation validates and renders: one GetObject of the upload, one idempotency record."""
    event = harness.upload("uploads/once.jpg", images.jpeg())

    result = harness.run(event)

    assert (result["route"], result["rendered"]["status"]) == ("lambda", "COMPLETE")
    assert set(Validation.__annotations__) <= set(result), "the validation's shape, which the workflow reads"
    assert [call for call in harness.calls if call[0] in ("GetObject", "HeadObject")] == [
        ("GetObject", "uploads/once.jpg")], "the GET that finds the upload downloads it"  # fmt: skip
    assert [operation for operation, table in harness.calls if table == harness.resources.idempotency_table] == [
        "PutItem", "UpdateItem"]  # fmt: skip
    assert harness.resources.dynamodb.scan(TableName=harness.resources.idempotency_table)["Count"] == 1
    assert len([call for call in harness.calls if call[0] == "PutObject"]) == len(result["rendered"]["renditions"]) == 3


def test_an_older_event_arriving_late_does_not_overwrite_the_newer_result(harness):
    older = harness.upload("uploads/cat.jpg", images.jpeg(images.photo(300, 200)))
    newer = harness.upload("uploads/cat.jpg", images.jpeg(images.photo(200, 300)))
    harness.run(newer)
    with pytest.raises(StaleEvent, match="belongs to a newer upload"):
        harness.run(older)
    record = harness.record("uploads/cat.jpg")
    assert record["status"] == "COMPLETE"
    assert record["versionId"] == newer["detail"]["object"]["version-id"]
    assert record["renditions"][0]["height"] == 300


def test_a_new_version_replaces_the_renditions(harness):
    first = harness.upload("uploads/dog.jpg", images.jpeg(images.photo(300, 200)))
    harness.run(first)
    old_keys = set(harness.results())
    second = harness.upload("uploads/dog.jpg", images.jpeg(images.photo(200, 300)))
    harness.run(second)
    new_keys = set(harness.results())
    assert old_keys.isdisjoint(new_keys), "superseded renditions are deleted"
    assert all(second["detail"]["object"]["version-id"] in key for key in new_keys)


def test_unversioned_uploads_use_the_etag_as_version(harness, pipeline_resources):
    event = harness.upload("uploads/plain.jpg", images.jpeg(), bucket=pipeline_resources.unversioned_bucket)
    harness.bucket = pipeline_resources.unversioned_bucket
    harness.run(event)
    etag = event["detail"]["object"]["etag"]
    assert all(f"/{etag}/" in key for key in harness.results())


def test_url_encoded_keys_resolve_to_the_stored_object(harness):
    event = harness.upload("uploads/my cat.jpg", images.jpeg())
    event["detail"]["object"]["key"] = "uploads/my+cat.jpg"
    harness.run(event)
    assert harness.record("uploads/my+cat.jpg")["status"] == "COMPLETE"


def test_images_too_big_for_the_lambda_leave_it_validated_and_routed_to_fargate(harness, pipeline_resources,
                                                                               monkeypatch):  # fmt: skip
    context.set_dependencies(make_dependencies(pipeline_resources, memory_mb=128))
    rendered = []
    monkeypatch.setattr(render, "render_renditions", lambda *args: rendered.append(args) or [])
    result = harness.run(harness.upload("uploads/huge.png", images.png()))
    assert result["route"] == "fargate"
    assert "rendered" not in result, "the heavy path renders it, not this invocation"
    assert rendered == []
    assert [call for call in harness.calls if call[0] in ("PutObject", "DeleteObjects")] == []
    record = harness.record("uploads/huge.png")
    assert (record["status"], record["route"]) == ("PROCESSING", "fargate")
    assert "does not fit the Lambda" in record["routeReason"]


@pytest.mark.parametrize(("memory_mb", "work"), [(1024, PROCESS), (128, VALIDATE)], ids=["lambda", "fargate"])
def test_the_cost_model_counts_the_calls_the_handler_makes(harness, pipeline_resources, memory_mb, work):
    """app/review/assumptions.py prices each route from these counts: they are what the handler does."""
    context.set_dependencies(make_dependencies(pipeline_resources, memory_mb=memory_mb))
    result = harness.run(harness.upload("uploads/counted.png", images.png()))
    operations = [operation for operation, _ in harness.calls]
    tables = {pipeline_resources.table_name, pipeline_resources.idempotency_table}
    renditions = len(result.get("rendered", {}).get("renditions", [])) or 1
    assert operations.count("GetObject") == work.downloads
    assert operations.count("GetObject") + operations.count("HeadObject") == work.s3_get_class
    assert operations.count("PutObject") == work.s3_puts_per_rendition * renditions
    assert len([call for call in harness.calls if call[1] in tables]) == work.dynamodb_calls


def test_logs_are_json_with_the_event_id_as_correlation_id(harness, log_lines):
    harness.run(harness.upload("uploads/log.jpg", images.jpeg()))
    validated = next(line for line in log_lines() if line["message"] == "Upload validated")
    assert validated["correlation_id"] == "17793124-05d4-b198-2fde-7ededc63b103"
    assert validated["objectKey"] == "uploads/log.jpg"


def test_a_missing_setting_is_named():
    with pytest.raises(ConfigurationError, match="IDEMPOTENCY_TABLE"):
        context.Dependencies.from_environment({"TABLE_NAME": "t", "RESULTS_BUCKET": "b"})


def mark_catalog_failed(harness: Harness, key: str) -> None:
    """What the workflow's RecordCatalogFailure leaves on a record (app/catalog.py)."""
    harness.resources.dynamodb.update_item(
        TableName=harness.resources.table_name,
        Key={"objectKey": {"S": key}},
        UpdateExpression="SET #catalog = :failed, catalogError = :cause",
        ExpressionAttributeNames={"#catalog": "catalog"},
        ExpressionAttributeValues={":failed": {"S": "FAILED"}, ":cause": {"S": "the cluster is resuming"}},
    )


def test_a_run_after_a_failed_one_claims_again_and_keeps_nothing_of_the_failure(harness, monkeypatch):
    """Attempt 1 fails while rendering, after validation; its idempotency claim is released, and the workflow
    records the failure. The same event again (a redelivery) claims, validates and renders afresh: the COMPLETE
    record must not explain the old failure."""
    event = harness.upload("uploads/retry.jpg", images.jpeg())
    real_render = render.render_renditions

    def fail_once(*args: Any) -> Any:
        monkeypatch.setattr(render, "render_renditions", real_render)
        raise MemoryError("the decoder ran out of memory")

    monkeypatch.setattr(render, "render_renditions", fail_once)
    with pytest.raises(MemoryError):
        harness.run(event)
    assert harness.resources.dynamodb.scan(TableName=harness.resources.idempotency_table)["Count"] == 0
    ImageRecords(harness.resources.dynamodb, harness.resources.table_name).fail(
        UploadEvent.parse(event), "Runtime.OutOfMemory", "the workflow's RecordFailure"
    )
    mark_catalog_failed(harness, "uploads/retry.jpg")

    assert harness.run(event)["rendered"]["status"] == "COMPLETE"

    record = harness.record("uploads/retry.jpg")
    assert record["status"] == "COMPLETE"
    assert not {"error", "cause", "catalog", "catalogError"} & set(record), record


def test_a_failure_never_turns_a_completed_upload_into_failed(harness):
    """EventBridge delivers at least once: a second run of an upload that completed can still fail (the object was
    deleted since, say). Its failure is not recorded over the COMPLETE one."""
    event = harness.upload("uploads/done.jpg", images.jpeg())
    harness.run(event)
    records = ImageRecords(harness.resources.dynamodb, harness.resources.table_name)

    assert records.fail(UploadEvent.parse(event), "ObjectNotFound", "deleted since") is False

    record = harness.record("uploads/done.jpg")
    assert record["status"] == "COMPLETE"
    assert "error" not in record


def test_a_newer_upload_claims_the_record_without_the_catalog_failure_of_the_older(harness, pipeline_resources):
    older = harness.upload("uploads/cat.png", images.png())
    harness.run(older)
    mark_catalog_failed(harness, "uploads/cat.png")
    newer = harness.upload("uploads/cat.png", images.png())
    context.set_dependencies(make_dependencies(pipeline_resources, memory_mb=128))  # Fargate: the claim is the end

    harness.run(newer)

    record = harness.record("uploads/cat.png")
    assert (record["status"], record["versionId"]) == ("PROCESSING", newer["detail"]["object"]["version-id"])
    assert not {"catalog", "catalogError"} & set(record), record
