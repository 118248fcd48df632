"""The uploaded object: which one the event names, where it really is, and a local copy to work on."""

import shutil
import tempfile
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
    """The object as it is stored now, which may be under the event's key URL-decoded (see `resolve`)."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size_bytes: int
    content_type: str


def resolve(s3: BaseClient, upload: UploadEvent) -> StoredObject:
    """Head the object under the key as delivered, then under its URL-decoded form; the one the event announced wins.

    EventBridge delivers the key as it is, S3's classic notifications URL-encode it (a space as '+', a '+' as
    '%2B'), and a key may itself contain '+' or '%': 'a+b.jpg' is its own name and also the encoded 'a b.jpg'.
    So the literal key is tried first, and the decoded one when the literal one does not exist or holds something
    else than the event announced (another ETag). When neither matches the ETag (the object was overwritten since
    the event), the first that exists is the one the event named.
    """
    decoded = unquote_plus(upload.key)
    keys = (upload.key,) if decoded == upload.key else (upload.key, decoded)
    found: StoredObject | None = None
    for candidate in keys:
        head = _head_or_none(s3, upload.bucket, candidate, upload.version_id)
        if head is not None:
            stored = _stored(upload, candidate, head)
            if stored.etag == upload.etag:
                return stored
            found = found or stored
    if found is None:
        raise ObjectNotFound(bucket=upload.bucket, keys=keys, version_id=upload.version_id)
    return found


def download(s3: BaseClient, stored: StoredObject, max_bytes: int, directory: Path | None = None) -> Path:
    """Stream the object to a local file (constant memory), refusing it first if it is over the size limit.

    One GetObject: boto3's transfer manager (`download_fileobj`) heads the object first to size its parts, a request
    `resolve` has already made, billed on every image."""
    if stored.size_bytes > max_bytes:
        raise ImageTooLarge(f"the file is {stored.size_bytes:,} bytes; the limit is {max_bytes:,} bytes")
    version = {"VersionId": stored.version_id} if stored.version_id else {}
    handle, name = tempfile.mkstemp(prefix="upload-", dir=directory)
    path = Path(name)
    try:
        with open(handle, "wb") as file:
            body = s3.get_object(Bucket=stored.bucket, Key=stored.key, **version)["Body"]
            shutil.copyfileobj(body, file, CHUNK_BYTES)
    except ClientError as error:
        path.unlink()
        if _status(error) == 404 or error.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion"):
            raise ObjectNotFound(bucket=stored.bucket, keys=(stored.key,), version_id=stored.version_id) from error
        raise
    return path


def _stored(upload: UploadEvent, key: str, head: dict[str, Any]) -> StoredObject:
    return StoredObject(
        bucket=upload.bucket,
        key=key,
        version_id=head.get("VersionId") or upload.version_id,
        etag=head["ETag"].strip('"'),
        size_bytes=int(head["ContentLength"]),
        content_type=head.get("ContentType") or "binary/octet-stream",
    )


def _head_or_none(s3: BaseClient, bucket: str, key: str, version_id: str | None) -> dict[str, Any] | None:
    params = {"Bucket": bucket, "Key": key} | ({"VersionId": version_id} if version_id else {})
    try:
        return s3.head_object(**params)
    except ClientError as error:
        # A HEAD response has no body, so the status code is the only reliable signal.
        if _status(error) == 404:
            return None
        raise


def _status(error: ClientError) -> int | None:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
