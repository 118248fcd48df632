"""The deployed catalog as a caller sees it: statements through the local cloud's Data API (the same one the
workflows and the migration function reach), as the cluster's master user or as the workflows' writer login."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from app.demo.cloud import Outcome, PipelineCloud
from handlers.catalog.schema import CATALOG_WRITER

CLUSTER = "aws:rds/cluster:Cluster"
DATA_API_TASK = "aws-sdk:rdsdata"
"""The resource type Step Functions' history gives a Data API task's events (the workflows' Catalog task)."""
RESUMING = "DatabaseResumingException"
ROW_SQL = """SELECT object_key, version_tag, sha256, format, width, height, size_bytes, exif::text AS exif, route,
       processed_at
FROM images WHERE object_key = :key"""


class Catalog:
    """The stack's one catalog cluster, queried with the operator's credentials and a login's secret."""

    def __init__(self, cloud: PipelineCloud) -> None:
        cluster = cloud.synthesis.one(CLUSTER)
        self.cloud = cloud
        self.arn = cluster.outputs["arn"]
        self.database = cluster.inputs["databaseName"]
        self.master_secret = cluster.outputs["masterUserSecrets"][0]["secretArn"]
        secrets = cloud.synthesis.of_type("aws:secretsmanager/secret:Secret")
        [writer] = [secret for secret in secrets if secret.parent == cluster.parent]
        self.writer_secret = writer.outputs["arn"]
        """The only login the catalog's component declares: the writer's (handlers' schema.CATALOG_WRITER)."""

    def secret(self, login: str) -> str:
        return self.writer_secret if login == CATALOG_WRITER else self.master_secret

    def execute(self, sql: str, parameters: dict[str, Any] | None = None, *, login: str = "master",
                **options: Any) -> dict[str, Any]:  # fmt: skip
        """One ExecuteStatement; string and integer parameters as the Data API's typed values."""
        typed = [{"name": name, "value": {"longValue": value} if isinstance(value, int) else {"stringValue": value}}
                 for name, value in (parameters or {}).items()]  # fmt: skip
        return self.cloud.client("rds-data").execute_statement(
            resourceArn=self.arn, secretArn=self.secret(login), database=self.database, sql=sql, parameters=typed,
            **options,
        )  # fmt: skip

    def rows(self, sql: str, parameters: dict[str, Any] | None = None, *, login: str = "master") -> list[dict]:
        """The result as `formatRecordsAs: JSON` gives it: one object per row, by column label."""
        return json.loads(self.execute(sql, parameters, login=login, formatRecordsAs="JSON")["formattedRecords"])

    def row_of(self, key: str) -> list[dict]:
        return self.rows(ROW_SQL, {"key": key})

    def refused(self, sql: str, *, login: str) -> tuple[str, str]:
        """(code, message) of the error the Data API answers `sql` with; fails if it runs."""
        try:
            self.execute(sql, login=login)
        except ClientError as error:
            return error.response["Error"]["Code"], error.response["Error"]["Message"]
        raise AssertionError(f"{login} could run {sql!r}")

    def wake(self, *, within: float = 10.0) -> None:
        """Resume the cluster if it is paused, as a client does: a statement, again while it is resuming."""
        deadline = time.monotonic() + within
        while True:
            try:
                self.execute("SELECT 1")
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != RESUMING or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def attempts(self, outcome: Outcome) -> list[str | None]:
        """Each attempt of the Data API task in the upload's executions, in order: the error of one that failed,
        None for one that succeeded."""
        events = [event for execution in outcome.executions for event in self.cloud.history(execution.arn)]
        ends = {"TaskFailed": "taskFailedEventDetails", "TaskSucceeded": "taskSucceededEventDetails"}
        return [event[ends[event["type"]]].get("error") for event in events
                if event["type"] in ends and event[ends[event["type"]]]["resourceType"] == DATA_API_TASK]  # fmt: skip
