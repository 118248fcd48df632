"""The local cloud as the image pipeline uses it (the demo, `bench/e2e.py` and the end-to-end tests): the platform's
emulator (emulator/cloud.py) told where the handlers' code is and how their packages take their clients, plus what
only this application knows: where uploads go, and what an upload's outcome is (its record in the images table and
its renditions).

    with PipelineCloud(synthesis, region="eu-west-1", workdir=Path(".build/demo")) as cloud:
        upload = cloud.upload("cat.jpg", data, "image/jpeg")   # into the uploads bucket, under the upload prefix
        [outcome] = cloud.wait([upload])                        # every execution it started, ended
        outcome.status, outcome.route, outcome.renditions
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from app.code import LAMBDA_CODE
from emulator.cloud import LocalCloud, Settled, Upload
from emulator.runtime import Injection
from handlers.pipeline.contract import OBJECT_KEY, RENDITIONS, ROUTE, STATUS
from synth.program import Synthesis

__all__ = ["INJECTIONS", "NOT_RECORDED", "Outcome", "PipelineCloud"]

NOT_RECORDED = "NOT RECORDED"
"""The status of an upload that left no record in the images table."""

_deserializer = TypeDeserializer()


def _pipeline_dependencies(environ: Mapping[str, str], session: boto3.Session) -> object:
    from pipeline.context import Dependencies

    return Dependencies.from_environment(environ, session)


def _catalog_data_api(environ: Mapping[str, str], session: boto3.Session) -> object:
    from catalog.dataapi import DataApi

    return DataApi.from_environment(environ, session)


def _catalog_logins(environ: Mapping[str, str], session: boto3.Session) -> object:
    from catalog.logins import Logins

    return Logins.from_environment(environ, session)


INJECTIONS = (
    Injection("pipeline.context:set_dependencies", _pipeline_dependencies),
    Injection("catalog.dataapi:set_data_api", _catalog_data_api),
    Injection("catalog.logins:set_logins", _catalog_logins),
)
"""The handler packages that keep their clients in module-level singletons, and how each takes the function's."""


@dataclass(frozen=True)
class Outcome(Settled):
    """Where one upload ended: its executions, its record in the images table, and its renditions."""

    record: dict[str, Any] | None

    @property
    def status(self) -> str:
        return str(self.record.get(STATUS)) if self.record else NOT_RECORDED

    @property
    def route(self) -> str:
        return str(self.record.get(ROUTE, "")) if self.record else ""

    @property
    def renditions(self) -> list[dict[str, Any]]:
        return list(self.record.get(RENDITIONS, [])) if self.record else []


class PipelineCloud(LocalCloud):
    """The stack deployed into the emulator with the handlers' code (app/code.py) and their injections; uploads
    and outcomes as the pipeline defines them, read through the stack's outputs."""

    def __init__(self, synthesis: Synthesis, *, region: str, workdir: Path) -> None:
        super().__init__(
            synthesis, region=region, workdir=workdir, code_roots=[LAMBDA_CODE.root], injections=INJECTIONS
        )

    @property
    def uploads_bucket(self) -> str:
        return str(self.deployment.output("uploadsBucket"))

    @property
    def upload_prefix(self) -> str:
        return str(self.deployment.output("uploadPrefix"))

    @property
    def results_bucket(self) -> str:
        return str(self.deployment.output("resultsBucket"))

    @property
    def images_table(self) -> str:
        return str(self.deployment.output("imagesTable"))

    def upload(self, name: str, body: bytes, content_type: str = "application/octet-stream") -> Upload:
        """PutObject into the uploads bucket under the upload prefix; returns the upload with the event S3 sent."""
        key = name if name.startswith(self.upload_prefix) else f"{self.upload_prefix}{name}"
        return self.put_object(self.uploads_bucket, key, body, content_type)

    def wait(self, uploads: Iterable[Upload], timeout: float = 60.0) -> list[Outcome]:
        """Every execution each upload started, ended (`LocalCloud.settle`), and the record it left."""
        return [
            Outcome(settled.upload, settled.executions, settled.settled_at, self.record(settled.upload.key))
            for settled in self.settle(uploads, timeout)
        ]

    def record(self, key: str) -> dict[str, Any] | None:
        item = self.client("dynamodb").get_item(TableName=self.images_table, Key={OBJECT_KEY: {"S": key}})
        if "Item" not in item:
            return None
        return {name: _deserializer.deserialize(value) for name, value in item["Item"].items()}

    def records(self) -> list[dict[str, Any]]:
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.images_table)
        return [{n: _deserializer.deserialize(v) for n, v in item.items()} for page in pages for item in page["Items"]]

    def rendition(self, key: str) -> bytes:
        return self.client("s3").get_object(Bucket=self.results_bucket, Key=key)["Body"].read()

    def rendition_keys(self) -> list[str]:
        pages = self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.results_bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
