"""Every SQL text the project ships (tests/shipped_sql.py: the migrations and each `*_SQL` constant of the handlers,
the components and the sample application with its demo) run on the local cloud's embedded PostgreSQL, each as the
login that runs it on AWS: the migration function's statements as the cluster's master user, the workflows' insert
as `catalog_writer` with the parameters typed as the workflow sends them, the demo's read-back as the master user.
test_catalog.py reads the same texts with PostgreSQL's parser; here a privilege, a cast, a constraint or a lock that
only a running server can judge fails.

The statements go through the code that sends them on AWS (the migration handler's `migrate` and `provision`, the
demo's `read_rows`) and a boto3 rds-data client, answered through moto by the local cloud's Data API, as in the
local cloud; the server is started as tests/emulator/test_postgres.py starts one, with the database and master user
RDS creates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from catalog import logins, migrate
from catalog.dataapi import DataApi
from catalog.schema import CATALOG_WRITER, INSERT_IMAGE_SQL, LOGIN_ROLES, login_secret_variable
from moto import mock_aws

from app.catalog import CATALOG_VALUES
from app.demo.catalog import CatalogCluster, CatalogRow, read_rows
from components.database import ENGINE_MAJOR_VERSION
from emulator import adaptations
from emulator.adaptations import Hooks
from emulator.dataapi import DataApi as LocalDataApi
from emulator.postgres import EmbeddedPostgres
from tests.handlers.conftest import REGION
from tests.shipped_sql import shipped_sql

CLUSTER_ARN = f"arn:aws:rds:{REGION}:123456789012:cluster:image-pipeline-test-catalog"
DATABASE, OWNER, OWNER_PASSWORD = "catalog", "catalog_owner", "owner-password"
RUNS_AS = {INSERT_IMAGE_SQL: CATALOG_WRITER}
"""Who runs each statement, where it is not the master user: the workflows insert as the writer (app/catalog.py);
the migration function and the demo use the master user's secret."""
IMAGE = {
    "object_key": "uploads/cat.jpg",
    "version_tag": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "format": "JPEG",
    "width": 1600,
    "height": 1200,
    "size_bytes": 112_087,
    "exif": json.dumps({"Orientation": 6, "Make": "Pentax"}),
    "route": "lambda",
    "processed_at": "2025-05-01T12:00:00.123Z",
}
"""An image's values as the Catalog state takes them from the validation result (processed_at: the state's
EnteredTime, ISO 8601 with a `T` and a `Z`)."""


@dataclass(frozen=True)
class Cluster:
    """The cluster as the code reaches it: a boto3 rds-data client, the secrets, and what the Data API recorded."""

    data_api: Any
    secrets: Any
    master_secret: str
    login_secrets: dict[str, str]
    hooks: Hooks

    @property
    def login_by_secret(self) -> dict[str, str]:
        return {self.master_secret: OWNER, **{arn: role for role, arn in self.login_secrets.items()}}


@pytest.fixture
def cluster(tmp_path: Path, aws_credentials: None) -> Iterator[Cluster]:
    """An Aurora cluster as the local cloud deploys one: an embedded PostgreSQL of the engine's major with the
    cluster's database and master user, its secret in Secrets Manager, an empty secret for each login role, and the
    Data API, reached through moto."""
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name=REGION)
        owner = json.dumps({"username": OWNER, "password": OWNER_PASSWORD})
        master = secrets.create_secret(Name="rds!cluster-catalog", SecretString=owner)
        roles = {role: secrets.create_secret(Name=f"catalog-{role}")["ARN"] for role in LOGIN_ROLES}
        local = LocalDataApi(lambda arn: _secret_string(secrets, arn))
        server = EmbeddedPostgres(tmp_path / "postgres", major=ENGINE_MAJOR_VERSION)
        local.add_cluster(CLUSTER_ARN, server, http_endpoint=True)
        databases = {CLUSTER_ARN: {"secretArn": master["ARN"], "database": DATABASE,
                                   "userSecretArns": list(roles.values())}}  # fmt: skip
        # No functions, tasks or IAM here: only the Data API's route through moto, as tests/emulator/test_dataapi.py.
        hooks = Hooks(runtime=None, entrypoints={}, scratch=str(tmp_path), authorizer=None,  # type: ignore[arg-type]
                      databases=databases, data_api=local)  # fmt: skip
        try:
            server.start()
            server.create_database(DATABASE, owner=OWNER, password=OWNER_PASSWORD)
            with adaptations.applied(hooks):
                yield Cluster(boto3.client("rds-data", region_name=REGION), secrets, master["ARN"], roles, hooks)
        finally:
            local.close()


def _secret_string(secrets: Any, arn: str) -> str:
    """A secret's value as the local Data API reads it: LookupError when there is none."""
    try:
        return str(secrets.get_secret_value(SecretId=arn)["SecretString"])
    except ClientError as error:
        raise LookupError(error.response["Error"]["Message"]) from error


def as_the_workflow_sends(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The insert's parameters as the Catalog state sends them: each value in the field its kind in app/catalog.py
    names (`StringValue.$` -> `stringValue`), so the insert's casts meet the types the workflow really sends."""
    fields = {name: kind.removesuffix(".$") for name, (kind, _) in CATALOG_VALUES.items()}
    return [{"name": name, "value": {field[0].lower() + field[1:]: values[name]}} for name, field in fields.items()]


def test_every_shipped_statement_runs_on_postgresql_as_the_login_that_runs_it(cluster):
    owner_api = DataApi(cluster.data_api, CLUSTER_ARN, cluster.master_secret, DATABASE)
    environment = {login_secret_variable(role): arn for role, arn in cluster.login_secrets.items()}
    migrate.migrate(owner_api)
    logins.provision(owner_api, cluster.secrets, logins.login_roles(environment))
    cluster.data_api.execute_statement(resourceArn=CLUSTER_ARN, secretArn=cluster.login_secrets[CATALOG_WRITER],
                                       database=DATABASE, sql=INSERT_IMAGE_SQL,
                                       parameters=as_the_workflow_sends(IMAGE))  # fmt: skip
    rows = read_rows(cluster.data_api, CatalogCluster(CLUSTER_ARN, DATABASE, cluster.master_secret))

    calls = cluster.hooks.data_api_calls
    assert [(call.sql[:60], call.error) for call in calls if call.error] == []
    assert [(call.sql[:60], call.problems) for call in calls if call.problems] == []
    ran_as: dict[str, set[str]] = {}
    for call in calls:
        ran_as.setdefault(call.sql, set()).add(cluster.login_by_secret[call.secret_arn])
    shipped = shipped_sql()
    expected = {s.name: {RUNS_AS.get(s.sql, OWNER)} for s in shipped}
    assert {s.name: ran_as.get(s.sql, set()) for s in shipped} == expected, "every shipped statement ran, as its login"
    assert rows == [CatalogRow(IMAGE["object_key"], IMAGE["version_tag"], "JPEG", 1600, 1200, 112_087, "lambda",
                               "2025-05-01 12:00:00.123")]  # fmt: skip
