"""The catalog as the demo shows it: the rows the workflows wrote, read back through the local cloud's Data API as
an operator would read them on AWS (the cluster named by the stack's output, its database and the master user's
secret from DescribeDBClusters, the statement through rds-data), never by connecting to the embedded PostgreSQL
behind it: what the demo shows is what the Data API answers.

    catalog = read_catalog(cloud)          # None when the stack keeps no catalog
    catalog.rows[0].width, catalog.rows[0].route
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.demo.cloud import PipelineCloud

__all__ = ["CATALOG_OUTPUT", "ROWS_SQL", "CatalogCluster", "CatalogContents", "CatalogRow", "read_catalog", "read_rows"]

CATALOG_OUTPUT = "catalogClusterArn"
"""The stack output naming the catalog's cluster; the program exports it only when the stack keeps a catalog."""
ROWS_SQL = """SELECT object_key, version_tag AS version, format, width, height, size_bytes, route,
  to_char(processed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS processed_at
FROM images ORDER BY images.processed_at, object_key"""
"""Every row, oldest first: the demo's catalog holds one row per image it completed (a few). The time is text of
one width (the Data API answers a timestamptz without its trailing zeros, so the column would not line up)."""


@dataclass(frozen=True)
class CatalogCluster:
    """Where the catalog's statements go, as DescribeDBClusters tells an operator."""

    arn: str
    database: str
    secret_arn: str
    """The master user's secret, which RDS manages: the operator's login (the writer may only insert)."""

    @classmethod
    def of(cls, cloud: PipelineCloud) -> CatalogCluster | None:
        arn = cloud.synthesis.outputs.get(CATALOG_OUTPUT)
        if arn is None:
            return None
        [described] = cloud.client("rds").describe_db_clusters(DBClusterIdentifier=arn)["DBClusters"]
        return cls(arn, described["DatabaseName"], described["MasterUserSecret"]["SecretArn"])


@dataclass(frozen=True)
class CatalogRow:
    """One row of `images`, with the columns ROWS_SQL selects (by their labels)."""

    object_key: str
    version: str
    format: str
    width: int
    height: int
    size_bytes: int
    route: str
    processed_at: str
    """`YYYY-MM-DD HH:MM:SS.mmm`, in UTC."""


@dataclass(frozen=True)
class CatalogContents:
    """What the demo read: the rows, and the cluster it read them from."""

    cluster: CatalogCluster
    rows: list[CatalogRow]


def read_catalog(cloud: PipelineCloud) -> CatalogContents | None:
    """The catalog's rows, or None when the stack keeps no catalog."""
    cluster = CatalogCluster.of(cloud)
    return None if cluster is None else CatalogContents(cluster, read_rows(cloud.client("rds-data"), cluster))


def read_rows(data_api: Any, cluster: CatalogCluster) -> list[CatalogRow]:
    """ROWS_SQL through `data_api` (a boto3 rds-data client), its answer as JSON objects keyed by column label."""
    answer = data_api.execute_statement(resourceArn=cluster.arn, secretArn=cluster.secret_arn,
                                        database=cluster.database, sql=ROWS_SQL, formatRecordsAs="JSON")  # fmt: skip
    return [CatalogRow(**row) for row in json.loads(answer["formattedRecords"])]
