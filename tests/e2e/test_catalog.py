"""The Aurora catalog on the local cloud's real PostgreSQL: the schema migration ran at deploy through the
Invocation the stack declares, each migration in a transaction of its own; deploying again changes nothing; the
workflows' writer login can insert and update the images it is granted and nothing more; and after a run of the
sample every COMPLETE image has exactly one catalog row with its metadata, read back through the Data API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.demo.cloud import PipelineCloud
from components.database import ENGINE_MAJOR_VERSION
from handlers.catalog.schema import CATALOG_WRITER, INSERT_IMAGE_SQL, MIGRATIONS
from tests.e2e.catalog import Catalog
from tests.e2e.conftest import unique
from tests.handlers import images

INVOCATION = "aws:lambda/invocation:Invocation"
SCHEMA_SQL = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
    "WHERE table_schema = 'public' ORDER BY 1, 2",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "table grants": "SELECT grantee, table_name, privilege_type FROM information_schema.table_privileges "
    "WHERE table_schema = 'public' ORDER BY 1, 2, 3",
    "column grants": "SELECT grantee, table_name, column_name, privilege_type "
    "FROM information_schema.column_privileges WHERE table_schema = 'public' ORDER BY 1, 2, 3, 4",
    "roles": "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
    "WHERE rolname NOT LIKE 'pg\\_%' ORDER BY 1",
    "migrations": "SELECT version, description, applied_at FROM schema_migrations ORDER BY version",
}
"""What a deployment could change in the catalog's database, as its master user sees it."""


@pytest.fixture(scope="module")
def catalog(cloud: PipelineCloud) -> Catalog:
    return Catalog(cloud)


def schema(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    return {name: catalog.rows(sql) for name, sql in SCHEMA_SQL.items()}


def migrate(cloud: PipelineCloud) -> dict[str, Any]:
    """Run the stack's migration Invocation again, as the deployment does (its function, with its input)."""
    invocation = cloud.synthesis.one(INVOCATION, "migrate-catalog-now")
    answer = cloud.client("lambda").invoke(FunctionName=invocation.inputs["functionName"],
                                           Payload=invocation.inputs["input"])  # fmt: skip
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    return payload


def test_the_catalog_runs_on_a_postgresql_of_the_engines_major_version(cloud, catalog):
    [[version]] = catalog.execute("SHOW server_version_num")["records"]
    assert int(version["stringValue"]) // 10000 == ENGINE_MAJOR_VERSION
    note = next(d.note for d in cloud.deployment.deployed if d.type == "aws:rds/cluster:Cluster")
    assert f"embedded PostgreSQL {ENGINE_MAJOR_VERSION}." in note, note


def test_the_master_user_logs_in_with_the_password_rds_keeps_in_its_secret(cloud, catalog):
    cluster = cloud.synthesis.one("aws:rds/cluster:Cluster")
    [described] = cloud.client("rds").describe_db_clusters(DBClusterIdentifier=cluster.inputs["clusterIdentifier"])[
        "DBClusters"]  # fmt: skip
    assert described["MasterUserSecret"]["SecretArn"] == catalog.master_secret
    value = json.loads(cloud.client("secretsmanager").get_secret_value(SecretId=catalog.master_secret)["SecretString"])
    assert sorted(value) == ["password", "username"]
    assert value["username"] == cluster.inputs["masterUsername"]
    assert catalog.rows("SELECT current_user AS login, current_database() AS db") == [
        {"login": value["username"], "db": catalog.database}]  # fmt: skip


def test_the_migration_ran_at_deploy_each_migration_in_its_own_transaction(cloud, catalog):
    invoked = next(d.note for d in cloud.deployment.deployed if d.name == "migrate-catalog-now")
    versions = [m.version for m in MIGRATIONS]
    assert json.loads(invoked.removeprefix("invoked: ")) == {
        "applied": versions, "current": versions[-1], "logins": {CATALOG_WRITER: "generated"}}  # fmt: skip
    assert [row["version"] for row in catalog.rows(SCHEMA_SQL["migrations"])] == versions
    calls = cloud.hooks.data_api_calls
    for migration in MIGRATIONS:
        ran = [call for call in calls if call.sql in migration.statements]
        assert [call.sql for call in ran] == list(migration.statements), migration.version
        assert all(call.error is None for call in ran), [call.error for call in ran]
        [transaction] = {call.transaction_id for call in ran}
        assert transaction is not None, f"migration {migration.version} ran outside a transaction"
    transactions = {call.transaction_id for call in calls if call.transaction_id}
    assert len(transactions) == len(MIGRATIONS), "one transaction per migration"


def test_deploying_again_changes_nothing(cloud, catalog):
    before = schema(catalog)
    writer_before = cloud.client("secretsmanager").get_secret_value(SecretId=catalog.writer_secret)["SecretString"]

    assert migrate(cloud) == {"applied": [], "current": MIGRATIONS[-1].version, "logins": {CATALOG_WRITER: "kept"}}

    assert schema(catalog) == before
    secret = cloud.client("secretsmanager").get_secret_value(SecretId=catalog.writer_secret)["SecretString"]
    assert secret == writer_before, "the writer's password is kept"
    assert catalog.rows("SELECT current_user AS login", login=CATALOG_WRITER) == [{"login": CATALOG_WRITER}]


@pytest.mark.parametrize(
    ("sql", "refusal"),
    [
        ("DELETE FROM images", "permission denied for table images"),
        ("TRUNCATE images", "permission denied for table images"),
        ("DROP TABLE images", "must be owner of table images"),
        ("ALTER TABLE images ADD COLUMN note text", "must be owner of table images"),
        ("SELECT version FROM schema_migrations", "permission denied for table schema_migrations"),
        ("INSERT INTO schema_migrations (version, description) VALUES (99, 'x')", "permission denied"),
        ("CREATE TABLE notes (body text)", "permission denied for schema public"),
        ("CREATE ROLE intruder LOGIN", "permission denied to create role"),
    ],
    ids=["delete", "truncate", "drop", "alter", "read-migrations", "write-migrations", "create-table", "create-role"],
)
def test_the_writer_login_can_do_nothing_but_write_images(catalog, sql, refusal):
    code, message = catalog.refused(sql, login=CATALOG_WRITER)
    assert (code, refusal in message) == ("DatabaseErrorException", True), message
    assert message.endswith("SQLState: 42501"), message


def test_every_complete_image_has_one_catalog_row_with_its_metadata(cloud, catalog, big_png):
    uploads = [
        cloud.upload(unique("photo.jpg"), images.jpeg(images.photo(640, 480)), "image/jpeg"),
        cloud.upload(unique("portrait.jpg"), images.jpeg(images.photo(800, 600), orientation=6), "image/jpeg"),
        cloud.upload(unique(big_png.name), big_png.data, big_png.content_type),
        cloud.upload(unique("notes.jpg"), images.text_named_like_an_image(), "image/jpeg"),
    ]
    outcomes = cloud.wait(uploads)

    assert [o.status for o in outcomes] == ["COMPLETE", "COMPLETE", "COMPLETE", "FAILED"], [o.record for o in outcomes]
    for outcome in outcomes:
        rows = catalog.row_of(outcome.upload.key)
        if outcome.status != "COMPLETE":
            assert rows == [], f"{outcome.upload.key} was refused, yet catalogued"
            continue
        [row] = rows
        metadata = outcome.record["metadata"]
        assert row | {"exif": json.loads(row["exif"]), "processed_at": None} == {
            "object_key": outcome.upload.key, "version_tag": outcome.upload.etag, "sha256": metadata["sha256"],
            "format": metadata["format"], "width": metadata["width"], "height": metadata["height"],
            "size_bytes": metadata["sizeBytes"], "exif": metadata["exif"], "route": outcome.route,
            "processed_at": None,
        }  # fmt: skip
    [count] = catalog.rows("SELECT count(*) AS n FROM images WHERE object_key = ANY(string_to_array(:keys, ','))",
                           {"keys": ",".join(o.upload.key for o in outcomes)})  # fmt: skip
    assert count == {"n": 3}


def test_the_shipped_insert_updates_its_row_and_an_older_event_does_not_overwrite_a_newer_one(catalog):
    """INSERT_IMAGE_SQL as the writer: a repeat of the same upload version updates its one row, and a late retry
    with an earlier processed_at leaves the newer row as it is (`WHERE images.processed_at <= EXCLUDED...`)."""
    key = unique("ordering.jpg")

    def insert(processed_at: str, width: int) -> None:
        values = {
            "object_key": key,
            "version_tag": "v1",
            "sha256": "0" * 64,
            "format": "JPEG",
            "width": width,
            "height": 480,
            "size_bytes": 1234,
            "exif": "{}",
            "route": "lambda",
            "processed_at": processed_at,
        }
        catalog.execute(INSERT_IMAGE_SQL, values, login=CATALOG_WRITER)  # fmt: skip

    insert("2026-12-03 10:00:00+00", 640)
    insert("2026-12-03 10:05:00+00", 800)
    insert("2026-12-03 10:01:00+00", 320)  # an older event, delivered late
    rows = catalog.rows("SELECT width, processed_at FROM images WHERE object_key = :key", {"key": key}, login="master")
    assert [row["width"] for row in rows] == [800], rows
    assert rows[0]["processed_at"].startswith("2026-12-03 10:05:00"), rows
