"""Uploads as they come from people, through the handlers under moto: a panorama between Pillow's own pixel
threshold and ours, a phone JPEG with a video after it, and keys with spaces, '+', '%' and non-ASCII letters, raw
(as EventBridge delivers them) or URL-encoded (as S3's classic notifications do)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ParamValidationError
from imaging import ImageTooLarge
from pipeline.objects import UploadEvent, download, open_upload
from pipeline.render import decode_metadata, encode_metadata

from tests.handlers import images
from tests.handlers.test_inspect import motion_photo_video
from tests.handlers.test_pipeline import Harness

if TYPE_CHECKING:
    from tests.handlers.conftest import Pipeline

PHOTO_KEY = "uploads/Fotos 2024/Ça été très Ålesund ñ.jpg"


@pytest.fixture
def harness(dependencies, pipeline_resources, make_event, lambda_context) -> Harness:
    return Harness(pipeline_resources, make_event, lambda_context)


def upload_event(bucket: str, key: str, put: dict[str, Any]) -> UploadEvent:
    return UploadEvent(
        bucket=bucket,
        key=key,
        version_id=put.get("VersionId"),
        etag=put["ETag"].strip('"'),
        sequencer="01",
        event_time="2024-01-01T00:00:00+00:00",
    )


def resolved_key(s3: Any, upload: UploadEvent) -> str:
    """The key of the object `open_upload` finds for `upload`."""
    with open_upload(s3, upload) as opened:
        return opened.stored.key


def test_a_panorama_over_pillows_own_threshold_is_accepted_and_sent_to_fargate(harness):
    result = harness.run(harness.upload("uploads/panorama.png", images.png_bomb(19_000, 10_000)))
    assert (result["route"], result["header"]["width"], result["header"]["height"]) == ("fargate", 19_000, 10_000)
    assert harness.record("uploads/panorama.png")["status"] == "PROCESSING"


def test_a_phone_jpeg_with_a_motion_photo_video_completes(harness):
    result = harness.run(harness.upload("uploads/PXL_motion.jpg", images.jpeg() + motion_photo_video()))
    assert result["rendered"]["status"] == "COMPLETE"
    assert result["rendered"]["renditions"][0]["width"] == 640


# Keys in S3 user metadata -------------------------------------------------------------------------------------


def test_a_key_with_spaces_and_accents_is_rendered_and_named_in_the_renditions_metadata(harness, pipeline_resources):
    result = harness.run(harness.upload(PHOTO_KEY, images.jpeg()))
    assert result["rendered"]["status"] == harness.record(PHOTO_KEY)["status"] == "COMPLETE"
    for rendition in result["rendered"]["renditions"]:
        head = pipeline_resources.s3.head_object(Bucket=pipeline_resources.results_bucket, Key=rendition["key"])
        stored = head["Metadata"]["source-key"]
        assert stored.isascii()
        assert decode_metadata(stored) == PHOTO_KEY


def test_botocore_refuses_non_ascii_metadata_which_is_why_it_is_encoded(pipeline_resources):
    with pytest.raises(ParamValidationError, match="Non ascii characters found in S3 metadata"):
        pipeline_resources.s3.put_object(
            Bucket=pipeline_resources.results_bucket, Key="x", Body=b"", Metadata={"source-key": PHOTO_KEY}
        )


@pytest.mark.parametrize(
    "text",
    [PHOTO_KEY, "uploads/c++ 100%.jpg", "uploads/already%20encoded.jpg", " leading and trailing ", "tab\tnew\nline"],
)
def test_metadata_values_are_printable_ascii_and_decode_to_the_original(text):
    value = encode_metadata(text)
    assert all(0x21 <= ord(char) <= 0x7E for char in value), value
    assert decode_metadata(value) == text


def test_ascii_keys_stay_readable_in_metadata():
    assert encode_metadata("uploads/cats/tom-1_(2).jpg") == "uploads/cats/tom-1_(2).jpg"


def test_the_longest_non_ascii_key_fits_s3s_two_kilobytes_of_metadata():
    """S3 keys are up to 1,024 bytes of UTF-8; user metadata is limited to 2 KB, names and values together."""
    key = "uploads/" + "é" * ((1024 - len("uploads/")) // 2)
    assert len(key.encode()) <= 1024
    metadata = {"source-key": encode_metadata(key), "source-version": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"}
    assert sum(len(name) + len(value) for name, value in metadata.items()) <= 2048
    assert decode_metadata(metadata["source-key"]) == key


def test_text_that_looks_encoded_is_encoded_too():
    assert decode_metadata(encode_metadata("=?UTF-8?B?eA==?=")) == "=?UTF-8?B?eA==?="


# Which object an event names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "delivered"),
    [
        ("uploads/my cat.jpg", "uploads/my cat.jpg"),
        ("uploads/my cat.jpg", "uploads/my+cat.jpg"),
        ("uploads/c++.jpg", "uploads/c++.jpg"),
        ("uploads/c++.jpg", "uploads/c%2B%2B.jpg"),
        ("uploads/100%20.jpg", "uploads/100%20.jpg"),
        ("uploads/100%20.jpg", "uploads/100%2520.jpg"),
        ("uploads/100%.jpg", "uploads/100%.jpg"),
        ("uploads/Ålesund ñ.jpg", "uploads/Ålesund ñ.jpg"),
        ("uploads/Ålesund ñ.jpg", quote_plus("uploads/Ålesund ñ.jpg", safe="/")),
    ],
    ids=["space", "space-encoded", "plus", "plus-encoded", "percent20", "percent20-encoded", "percent",
         "non-ascii", "non-ascii-encoded"],
)  # fmt: skip
@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_the_key_resolves_raw_or_url_encoded(pipeline_resources: Pipeline, stored, delivered, versioned):
    bucket = pipeline_resources.uploads_bucket if versioned else pipeline_resources.unversioned_bucket
    put = pipeline_resources.s3.put_object(Bucket=bucket, Key=stored, Body=b"image")
    assert resolved_key(pipeline_resources.s3, upload_event(bucket, delivered, put)) == stored


@pytest.mark.parametrize(
    ("named", "other"),
    [("uploads/a b.jpg", "uploads/a+b.jpg"), ("uploads/a b.jpg", "uploads/a%20b.jpg"),
     ("uploads/a+b.jpg", "uploads/a%2Bb.jpg")],
    ids=["space-or-plus", "space-or-percent20", "plus-or-percent2B"],
)  # fmt: skip
def test_when_the_delivered_key_names_two_objects_the_one_the_event_announced_wins(pipeline_resources, named, other):
    s3, bucket = pipeline_resources.s3, pipeline_resources.unversioned_bucket
    put = s3.put_object(Bucket=bucket, Key=named, Body=b"the announced upload")
    s3.put_object(Bucket=bucket, Key=other, Body=b"another object")
    delivered = other  # the encoded form of `named` is also the literal name of `other`
    assert resolved_key(s3, upload_event(bucket, delivered, put)) == named
    other_put = s3.head_object(Bucket=bucket, Key=other)
    assert resolved_key(s3, upload_event(bucket, delivered, other_put)) == other


def test_an_object_overwritten_since_the_event_still_resolves_to_its_key(pipeline_resources):
    s3, bucket = pipeline_resources.s3, pipeline_resources.unversioned_bucket
    put = s3.put_object(Bucket=bucket, Key="uploads/a+b.jpg", Body=b"first")
    s3.put_object(Bucket=bucket, Key="uploads/a+b.jpg", Body=b"second")
    s3.put_object(Bucket=bucket, Key="uploads/a b.jpg", Body=b"unrelated")
    assert resolved_key(s3, upload_event(bucket, "uploads/a+b.jpg", put)) == "uploads/a+b.jpg"


# One GET per object: the response that finds it is the one that downloads it --------------------------------------


class ClosedBodies:
    """Records each GetObject response body as it is returned, to tell which ones are read and closed."""

    def __init__(self, s3: Any) -> None:
        self.bodies: list[Any] = []
        s3.meta.events.register("after-call.s3.GetObject", self._record)

    def _record(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        if "Body" in parsed:
            self.bodies.append(parsed["Body"])

    def closed(self) -> list[bool]:
        return [body._raw_stream.closed for body in self.bodies]


def test_a_response_not_kept_is_closed_at_once_and_the_kept_one_when_the_caller_is_done(pipeline_resources, tmp_path):
    s3, bucket = pipeline_resources.s3, pipeline_resources.unversioned_bucket
    put = s3.put_object(Bucket=bucket, Key="uploads/a b.jpg", Body=b"the announced upload")
    s3.put_object(Bucket=bucket, Key="uploads/a+b.jpg", Body=b"another object")
    responses = ClosedBodies(s3)

    with open_upload(s3, upload_event(bucket, "uploads/a+b.jpg", put)) as opened:
        assert responses.closed() == [True, False], "the literal key's object is not the announced one"
        assert download(opened, max_bytes=1000, directory=tmp_path).read_bytes() == b"the announced upload"

    assert responses.closed() == [True, True]


def test_an_object_over_the_size_limit_is_refused_without_reading_it(pipeline_resources, tmp_path):
    s3, bucket = pipeline_resources.s3, pipeline_resources.unversioned_bucket
    put = s3.put_object(Bucket=bucket, Key="uploads/big.jpg", Body=b"x" * 2000)
    responses = ClosedBodies(s3)

    with open_upload(s3, upload_event(bucket, "uploads/big.jpg", put)) as opened:
        with pytest.raises(ImageTooLarge, match="the file is 2,000 bytes; the limit is 1,000 bytes"):
            download(opened, max_bytes=1000, directory=tmp_path)
        assert opened.body.tell() == 0, "not a byte read"

    assert responses.closed() == [True]
    assert list(tmp_path.iterdir()) == [], "no partial copy left behind"
