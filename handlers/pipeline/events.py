"""The workflow's input: S3's "Object Created" event as EventBridge delivers it, validated with pydantic.

These few models replace Powertools' `S3EventNotificationEventBridgeModel` (same fields, same pydantic v2
validation) because importing Powertools' parser models package loads every one of its ~70 event models, which
costs about 100 ms of each cold start; the pipeline reads only these fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class S3Bucket(_Event):
    name: str = Field(min_length=3)


class S3Object(_Event):
    key: str = Field(min_length=1)
    size: int = Field(ge=0)
    etag: str
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str = Field(pattern=r"^[0-9A-Fa-f]+$")


class ObjectCreatedDetail(_Event):
    bucket: S3Bucket
    object: S3Object
    reason: str | None = None


class ObjectCreatedEvent(_Event):
    id: str
    source: Literal["aws.s3"]
    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    time: datetime
    detail: ObjectCreatedDetail
