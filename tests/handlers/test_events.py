"""The workflow's input read without pydantic: the fields the pipeline uses, and every invalid one named at once."""

from __future__ import annotations

import json

import pytest
from pipeline.events import ObjectCreatedEvent, S3Object, ValidationError
from pipeline.objects import UploadEvent


def test_an_eventbridge_event_gives_the_upload_it_names(make_event):
    event = make_event("uploads", "uploads/cat.jpg", version_id="v1", size=7, etag="abc", sequencer="0A1b")

    assert UploadEvent.parse(event) == UploadEvent(
        bucket="uploads", key="uploads/cat.jpg", version_id="v1", etag="abc", sequencer="0A1b",
        event_time="2021-11-12T00:00:00+00:00",
    )  # fmt: skip


def test_an_unversioned_upload_has_no_version_and_other_fields_are_ignored(make_event):
    event = make_event("uploads", "uploads/cat.jpg")
    event["detail"]["object"]["version-id"] = None
    event["detail"]["object"]["unknown"] = {"any": "thing"}

    assert ObjectCreatedEvent.parse(event).object.version_id is None
    del event["detail"]["object"]["version-id"]
    assert ObjectCreatedEvent.parse(event).object.version_id is None


def test_every_invalid_field_is_named_under_its_location(make_event):
    event = make_event("ab", "", size=-1, etag=5, sequencer="zz", version_id=3)

    with pytest.raises(ValidationError) as raised:
        ObjectCreatedEvent.parse(event)

    assert raised.value.problems == {
        "detail.bucket.name": "String should have at least 3 characters",
        "detail.object.key": "String should have at least 1 character",
        "detail.object.size": "Input should be greater than or equal to 0",
        "detail.object.etag": "Input should be a valid string",
        "detail.object.sequencer": "String should match pattern '[0-9A-Fa-f]+'",
        "detail.object.version-id": "Input should be a valid string",
    }
    lines = str(raised.value).splitlines()
    assert lines[:3] == ["6 validation errors for ObjectCreatedEvent", "detail.bucket.name", "  String should have at "
                         "least 3 characters"]  # fmt: skip


def test_another_kind_of_event_is_refused_on_its_source_type_id_and_time(make_event):
    event = make_event("uploads", "uploads/cat.jpg") | {"id": 1, "source": "aws.ec2", "detail-type": "Object Deleted",
                                                        "time": "yesterday"}  # fmt: skip

    with pytest.raises(ValidationError) as raised:
        ObjectCreatedEvent.parse(event)

    assert raised.value.problems == {
        "id": "Input should be a valid string",
        "source": "Input should be 'aws.s3'",
        "detail-type": "Input should be 'Object Created'",
        "time": "Input should be a valid datetime (ISO 8601)",
    }


@pytest.mark.parametrize(
    ("detail", "problems"),
    [
        (None, {"detail": "Field required"}),
        ([], {"detail": "Input should be an object"}),
        ({"bucket": "uploads"}, {"detail.bucket": "Input should be an object", "detail.object": "Field required"}),
    ],
    ids=["missing", "a-list", "a-string-bucket-and-no-object"],
)
def test_a_missing_or_malformed_parent_is_one_problem_not_one_per_field(make_event, detail, problems):
    event = make_event("uploads", "uploads/cat.jpg")
    event.pop("detail")
    if detail is not None:
        event["detail"] = detail

    with pytest.raises(ValidationError) as raised:
        ObjectCreatedEvent.parse(event)

    assert raised.value.problems == problems


def test_the_error_is_a_value_error_that_lambda_reports_as_validation_error():
    """Lambda's errorType is the class name: the one pydantic's error had, so alarms and logs read the same."""
    with pytest.raises(ValueError, match="1 validation error for S3Object\nsequencer\n  Field required") as raised:
        S3Object.parse({"key": "uploads/a.jpg", "size": 1, "etag": "e"})
    assert type(raised.value).__name__ == "ValidationError"


@pytest.mark.parametrize("size", [True, 1.5, "5"], ids=["bool", "float", "string"])
def test_a_size_is_a_whole_number(size):
    with pytest.raises(ValidationError, match="size\n  Input should be a valid integer"):
        S3Object.parse({"key": "k", "size": size, "etag": "e", "sequencer": "01"})


def test_the_workers_reference_reads_as_the_events_own_object(make_event):
    event = make_event("uploads", "uploads/cat.jpg", version_id="v1")

    assert S3Object.parse(json.loads(json.dumps(event["detail"]["object"]))) == ObjectCreatedEvent.parse(event).object
