"""The uploaded object: which one the event names, where it really is, and a local copy to work on."""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Self
from urllib.parse import unquote_plus

from botocore.client import BaseClient
from botocore.exceptions import ClientError
from imaging import ImageTooLarge

from .errors import ObjectNotFound
from .events import ObjectCreatedEvent, S3Object

SEQUENCER_WIDTH = 32
CHUNK_BYTES = 1 << 20
"""How much of the object a download holds in memory at once."""
MISSING = ("NoSuchKey", "NoSuchVersion")
"""GetObject's error codes for an object (or version) that is not there: 404, given s3:ListBucket (else 403)."""


class UploadEvent(NamedTuple):
    """The parts of S3's "Object Created" event the pipeline uses."""

    bucket: str
    key: str
    """As delivered (possibly URL-encoded); it is also the record's key, so the workflow can name it too."""
    version_id: str | None
    etag: str
    sequencer: str
    event_time: str | None = None
    """When S3 sent the event; recorded by the claim, unknown to a worker given only the object's reference."""

    @classmethod
    def parse(cls, event: dict[str, Any]) -> Self:
        """A malformed event raises `pipeline.events.ValidationError`, naming every missing or invalid field."""
        notification = ObjectCreatedEvent.parse(event)
        return cls.of(notification.bucket, notification.object, notification.time.isoformat())

    @classmethod
    def of(cls, bucket: str, obj: S3Object, event_time: str | None = None) -> Self:
        """The upload an event's `detail.object` names (read with `S3Object.parse`, as the event's own is)."""
        return cls(bucket, obj.key, obj.version_id, obj.etag, obj.sequencer, event_time)

    @property
    def order(self) -> str:
        """S3 sequencers compare as hex after left-padding the shorter one with zeros (S3's own rule)."""
        return self.sequencer.upper().zfill(SEQUENCER_WIDTH)

    @property
    def version_tag(self) -> str:
        """What distinguishes this upload from another under the same key: the version, or the ETag."""
        return self.version_id or self.etag


class StoredObject(NamedTuple):
    """The object as it is stored now, which may be under the event's key URL-decoded (see `open_upload`)."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size_bytes: int
    content_type: str


class OpenedObject(NamedTuple):
    """The object an event names, found by the GetObject whose body is still to be read (`download` reads it)."""

    stored: StoredObject
    body: Any
    """botocore's StreamingBody of the response: the bytes of `stored`, unread."""


@contextmanager
def open_upload(s3: BaseClient, upload: UploadEvent) -> Iterator[OpenedObject]:
    """GET the object under the key as delivered, then under its URL-decoded form; the one the event announced wins.
    Every response not kept, and the kept one's body when the caller is done, is closed.

    EventBridge delivers the key as it is, S3's classic notifications URL-encode it (a space as '+', a '+' as
    '%2B'), and a key may itself contain '+' or '%': 'a+b.jpg' is its own name and also the encoded 'a b.jpg'.
    So the literal key is tried first, and the decoded one when the literal one does not exist or holds something
    else than the event announced (another ETag). When neither matches the ETag (the object was overwritten since
    the event), the first that exists is the one the event named.

    The GET that finds the object is the one that downloads it: a HeadObject first (as boto3's transfer manager
    makes too) would be a second request, billed on every image, for headers the GET's response carries.
    """
    decoded = unquote_plus(upload.key)
    keys = (upload.key,) if decoded == upload.key else (upload.key, decoded)
    found: OpenedObject | None = None
    try:
        for opened in filter(None, (_get_or_none(s3, upload, key) for key in keys)):
            if found is None:
                found = opened
            elif opened.stored.etag == upload.etag:
                found.body.close()
                found = opened
            else:
                opened.body.close()
            if found.stored.etag == upload.etag:
                break
        if found is None:
            raise ObjectNotFound(bucket=upload.bucket, keys=keys, version_id=upload.version_id)
        yield found
    finally:
        if found is not None:
            found.body.close()


def download(opened: OpenedObject, max_bytes: int, directory: Path | None = None) -> Path:
    """Stream the opened object to a local file (constant memory), refusing it first, unread, if it is over the size
    limit."""
    stored = opened.stored
    if stored.size_bytes > max_bytes:
        raise ImageTooLarge(f"the file is {stored.size_bytes:,} bytes; the limit is {max_bytes:,} bytes")
    handle, name = tempfile.mkstemp(prefix="upload-", dir=directory)
    path = Path(name)
    try:
        with open(handle, "wb") as file:
            shutil.copyfileobj(opened.body, file, CHUNK_BYTES)
    except BaseException:
        path.unlink()
        raise
    return path


def _stored(upload: UploadEvent, key: str, response: dict[str, Any]) -> StoredObject:
    return StoredObject(
        bucket=upload.bucket,
        key=key,
        version_id=response.get("VersionId") or upload.version_id,
        etag=response["ETag"].strip('"'),
        size_bytes=int(response["ContentLength"]),
        content_type=response.get("ContentType") or "binary/octet-stream",
    )


def _get_or_none(s3: BaseClient, upload: UploadEvent, key: str) -> OpenedObject | None:
    """The object under `key` (the event's version, if it names one), its body unread; None when there is none."""
    params = {"Bucket": upload.bucket, "Key": key} | ({"VersionId": upload.version_id} if upload.version_id else {})
    try:
        response = s3.get_object(**params)
    except ClientError as error:
        if _status(error) == 404 or error.response.get("Error", {}).get("Code") in MISSING:
            return None
        raise
    return OpenedObject(_stored(upload, key, response), response["Body"])


def _status(error: ClientError) -> int | None:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
