"""The catalog: its SQL parses as the cluster's PostgreSQL, and migrations apply once, in order, through the Data API.

moto's rds-data answers only ExecuteStatement, with canned rows and no transactions, so the migration tests use a
scripted stand-in instead: a real boto3 rds-data client whose requests are validated by botocore against the real
service model, then answered by `ScriptedCluster` (an in-memory `schema_migrations` with transactions) instead of
going over HTTP. Errors come back as the client's real exception classes. These are unit tests of the handler's
sequencing, not of PostgreSQL's behaviour: the SQL itself is checked by PostgreSQL's own parser (pglast).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from catalog import dataapi, migrate, schema
from catalog.dataapi import DataApi, ResumePolicy
from catalog.errors import ConfigurationError, DatabaseStillResuming, MigrationFailed
from catalog.schema import INSERT_IMAGE_PARAMETERS, INSERT_IMAGE_SQL, MIGRATIONS, Migration
from pglast import ast, enums, parse_sql
from pglast.parser import get_postgresql_version, scan

from components.database import ENGINE_VERSION

REGION = "eu-west-1"
CLUSTER_ARN = f"arn:aws:rds:{REGION}:123456789012:cluster:image-pipeline-test-catalog"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:rds!cluster-catalog-AbCdEf"
DATABASE = "catalog"

BOOKKEEPING = (schema.BOOKKEEPING_SQL, schema.SELECT_APPLIED_SQL, schema.LOCK_MIGRATIONS_SQL,
               schema.SELECT_VERSION_SQL, schema.RECORD_MIGRATION_SQL)  # fmt: skip
EVERY_STATEMENT = [
    *[pytest.param(sql, id=f"migration-{m.version}.{i}") for m in MIGRATIONS for i, sql in enumerate(m.statements, 1)],
    *[pytest.param(sql, id=f"bookkeeping-{i}") for i, sql in enumerate(BOOKKEEPING, 1)],
    pytest.param(INSERT_IMAGE_SQL, id="insert-image"),
]


# --- The SQL, read by PostgreSQL's own parser -------------------------------------------------------------------


def positional(sql: str) -> tuple[str, list[str]]:
    """Replace the Data API's `:name` placeholders with `$1`, `$2`, ... (what the Data API sends PostgreSQL), using
    PostgreSQL's own lexer so that casts (`::`), string literals and comments are never mistaken for parameters."""
    tokens = list(scan(sql))
    names: list[str] = []
    spans: list[tuple[int, int, str]] = []
    for colon, word in itertools.pairwise(tokens):
        if colon.name == "ASCII_58" and word.start == colon.end + 1 and word.kind != "RESERVED_KEYWORD":
            name = sql[word.start : word.end + 1]
            if name not in names:
                names.append(name)
            spans.append((colon.start, word.end + 1, f"${names.index(name) + 1}"))
    for start, end, replacement in reversed(spans):
        sql = sql[:start] + replacement + sql[end:]
    return sql, names


def parse_one(sql: str) -> Any:
    statements = parse_sql(positional(sql)[0])
    assert len(statements) == 1, f"the Data API runs one statement per call; this is {len(statements)}:\n{sql}"
    return statements[0].stmt


def test_the_parser_is_the_clusters_postgresql_major():
    assert get_postgresql_version()[0] == int(ENGINE_VERSION.split(".")[0])


@pytest.mark.parametrize("sql", EVERY_STATEMENT)
def test_every_statement_is_one_postgresql_statement_without_a_semicolon(sql):
    parse_one(sql)
    assert not sql.rstrip().endswith(";")


def test_positional_leaves_casts_and_literals_alone():
    sql = "SELECT CAST(:a AS jsonb), '{}'::jsonb, ':b', :c, :a -- :d"
    assert positional(sql) == ("SELECT CAST($1 AS jsonb), '{}'::jsonb, ':b', $2, $1 -- :d", ["a", "c"])


def test_the_insert_names_exactly_the_parameters_the_workflow_sends():
    assert positional(INSERT_IMAGE_SQL)[1] == list(INSERT_IMAGE_PARAMETERS)


def created_tables() -> dict[str, ast.CreateStmt]:
    statements = [parse_one(sql) for migration in MIGRATIONS for sql in migration.statements]
    return {s.relation.relname: s for s in statements if isinstance(s, ast.CreateStmt)}


def columns(create: ast.CreateStmt) -> list[str]:
    return [element.colname for element in create.tableElts if isinstance(element, ast.ColumnDef)]


def primary_key(create: ast.CreateStmt) -> list[str]:
    elements = create.tableElts
    (constraint,) = [
        e for e in elements if isinstance(e, ast.Constraint) and e.contype == enums.ConstrType.CONSTR_PRIMARY
    ]
    return [key.sval for key in constraint.keys]


def test_the_migrations_create_the_images_table_with_its_key():
    images = created_tables()["images"]
    assert columns(images) == ["object_key", "version_tag", "sha256", "format", "width", "height", "size_bytes",
                               "exif", "route", "processed_at"]  # fmt: skip
    assert primary_key(images) == ["object_key", "version_tag"]


def test_the_insert_fills_every_column_and_updates_on_the_primary_key():
    insert = parse_one(INSERT_IMAGE_SQL)
    assert isinstance(insert, ast.InsertStmt)
    assert insert.relation.relname == "images"
    images = created_tables()["images"]
    assert [column.name for column in insert.cols] == columns(images)
    conflict = insert.onConflictClause
    assert conflict.action == enums.OnConflictAction.ONCONFLICT_UPDATE, "a retried insert must not fail"
    assert [element.name for element in conflict.infer.indexElems] == primary_key(images)
    updated = {target.name for target in conflict.targetList}
    assert updated == set(columns(images)) - set(primary_key(images)), "a retry rewrites every non-key column"


def test_the_bookkeeping_table_is_created_only_if_missing():
    create = parse_one(schema.BOOKKEEPING_SQL)
    assert create.relation.relname == "schema_migrations"
    assert create.if_not_exists is True


@pytest.mark.parametrize(
    ("migrations", "message"),
    [
        ((Migration(1, "a", ("SELECT 1",)), Migration(3, "c", ("SELECT 1",))), "no gaps"),
        ((Migration(2, "b", ("SELECT 1",)),), "no gaps"),
        ((Migration(1, "a", ("SELECT 1;",)),), "end a statement with ';'"),
    ],
)
def test_migrations_must_be_numbered_in_order_and_one_statement_each(migrations, message):
    with pytest.raises(ValueError, match=message):
        schema._check(migrations)


# --- The migration handler against a scripted Data API ----------------------------------------------------------


@dataclass
class Failure:
    code: str
    message: str
    when: Callable[[str, dict[str, Any]], bool]
    times: int


@dataclass
class ScriptedCluster:
    """An in-memory `schema_migrations` behind the Data API: what the migration handler can observe of a cluster."""

    committed: dict[int, str] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    """Migration statements in commit order (bookkeeping statements are not listed)."""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    transactions: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    on_lock: Callable[[], None] | None = None
    next_transaction: int = 0

    def fail(self, code: str, message: str = "", *, when: Callable[..., bool] = lambda o, r: True, times: int = 1):
        self.failures.append(Failure(code, message or code, when, times))

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = json.loads(params["body"])
        self.calls.append((model.name, request))
        assert (request["resourceArn"], request["secretArn"]) == (CLUSTER_ARN, SECRET_ARN)
        for failure in self.failures:
            if failure.times and failure.when(model.name, request):
                failure.times -= 1
                return _response(400, {"Error": {"Code": failure.code, "Message": failure.message}})
        try:
            return _response(200, getattr(self, f"_{model.name}")(request))
        except DatabaseError as error:
            return _response(400, {"Error": {"Code": "DatabaseErrorException", "Message": str(error)}})

    def _BeginTransaction(self, request: dict[str, Any]) -> dict[str, Any]:
        assert request["database"] == DATABASE
        self.next_transaction += 1
        transaction = f"tx-{self.next_transaction}"
        self.transactions[transaction] = []
        return {"transactionId": transaction}

    def _CommitTransaction(self, request: dict[str, Any]) -> dict[str, Any]:
        for sql, values in self.transactions.pop(request["transactionId"]):
            if sql == schema.RECORD_MIGRATION_SQL:
                self.committed[values["version"]] = values["description"]
            else:
                self.executed.append(sql)
        return {"transactionStatus": "Transaction Committed"}

    def _RollbackTransaction(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.transactions.pop(request["transactionId"], None) is None:
            raise DatabaseError("transaction not found")
        return {"transactionStatus": "Rollback Complete"}

    def _ExecuteStatement(self, request: dict[str, Any]) -> dict[str, Any]:
        assert request["database"] == DATABASE
        sql, transaction = request["sql"], request.get("transactionId")
        values = {p["name"]: next(iter(p["value"].values())) for p in request.get("parameters", [])}
        if sql in (schema.BOOKKEEPING_SQL, schema.SELECT_APPLIED_SQL):
            return {"records": [[{"longValue": v}] for v in sorted(self.committed)]} if "SELECT" in sql[:6] else {}
        if transaction is None:
            raise DatabaseError(f"the handler ran {sql!r} outside a transaction")
        if sql == schema.LOCK_MIGRATIONS_SQL:
            if self.on_lock:
                self.on_lock()
            return {"numberOfRecordsUpdated": 0}
        if sql == schema.SELECT_VERSION_SQL:
            return {"records": [[{"longValue": values["version"]}]] if values["version"] in self.committed else []}
        if sql == schema.RECORD_MIGRATION_SQL and values["version"] in self.committed:
            raise DatabaseError('duplicate key value violates unique constraint "schema_migrations_pkey"')
        self.transactions[transaction].append((sql, values))
        return {"numberOfRecordsUpdated": 0}


class DatabaseError(Exception):
    """What PostgreSQL would answer; the Data API returns it as DatabaseErrorException."""


def _response(status: int, body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse(f"https://rds-data.{REGION}.amazonaws.com", status, {}, None), body


@dataclass
class Harness:
    cluster: ScriptedCluster
    api: DataApi
    sleeps: list[float]


@pytest.fixture
def harness(aws_credentials: None) -> Iterator[Harness]:
    cluster, sleeps = ScriptedCluster(), []
    client = boto3.client("rds-data", region_name=REGION)
    client.meta.events.register("before-call.rds-data", cluster.answer)
    api = DataApi(client, CLUSTER_ARN, SECRET_ARN, DATABASE, sleep=sleeps.append)
    dataapi.set_data_api(api)
    yield Harness(cluster, api, sleeps)
    dataapi.set_data_api(None)


def migration_statements(migrations=MIGRATIONS) -> list[str]:
    return [sql for migration in migrations for sql in migration.statements]


def test_applies_every_migration_in_order_each_in_its_own_transaction(harness):
    result = migrate.migrate(harness.api)
    assert result == {"applied": [1, 2], "current": 2}
    assert harness.cluster.executed == migration_statements()
    assert harness.cluster.committed == {m.version: m.description for m in MIGRATIONS}
    per_migration = ["BeginTransaction", "ExecuteStatement", "ExecuteStatement"]
    expected = ["ExecuteStatement", "ExecuteStatement"]
    for migration in MIGRATIONS:
        expected += [*per_migration, *["ExecuteStatement"] * len(migration.statements), "ExecuteStatement"]
        expected.append("CommitTransaction")
    assert harness.cluster.operations() == expected
    begun = 0
    for operation, request in harness.cluster.calls[2:]:
        begun += operation == "BeginTransaction"
        if operation != "BeginTransaction":
            assert request["transactionId"] == f"tx-{begun}", f"{operation} outside its migration's transaction"


def test_running_again_applies_nothing_and_opens_no_transaction(harness):
    migrate.migrate(harness.api)
    harness.cluster.calls.clear()
    assert migrate.migrate(harness.api) == {"applied": [], "current": 2}
    assert harness.cluster.operations() == ["ExecuteStatement", "ExecuteStatement"]
    assert harness.cluster.executed == migration_statements(), "nothing ran twice"


def test_only_the_pending_migrations_are_applied(harness):
    harness.cluster.committed[1] = MIGRATIONS[0].description
    assert migrate.migrate(harness.api) == {"applied": [2], "current": 2}
    assert harness.cluster.executed == list(MIGRATIONS[1].statements)


def test_a_migration_applied_meanwhile_by_a_concurrent_run_is_skipped(harness):
    def concurrent_run_finishes_first():
        harness.cluster.committed.setdefault(1, "applied by the other run")

    harness.cluster.on_lock = concurrent_run_finishes_first
    assert migrate.migrate(harness.api) == {"applied": [2], "current": 2}
    assert harness.cluster.executed == list(MIGRATIONS[1].statements)
    assert "RollbackTransaction" in harness.cluster.operations()


def test_waits_for_a_paused_cluster_to_resume_with_backoff(harness):
    harness.cluster.fail("DatabaseResumingException", "The database is resuming", times=3)
    assert migrate.migrate(harness.api) == {"applied": [1, 2], "current": 2}
    assert harness.sleeps == [2.0, 3.0, 4.5]
    assert harness.cluster.operations()[:4] == ["ExecuteStatement"] * 4, "the same call, retried"


def test_gives_up_clearly_when_the_cluster_does_not_resume_in_time(harness):
    harness.cluster.fail("DatabaseResumingException", times=1000)
    with pytest.raises(DatabaseStillResuming, match=r"still resuming after \d+ attempts"):
        migrate.migrate(harness.api)
    assert 100 <= sum(harness.sleeps) <= ResumePolicy().give_up_after_seconds
    assert max(harness.sleeps) == ResumePolicy().max_delay_seconds


def test_the_handler_waits_no_longer_than_its_invocation_allows(harness, lambda_context):
    harness.cluster.fail("DatabaseResumingException", times=1000)
    with pytest.raises(DatabaseStillResuming):
        migrate.handler({}, lambda_context)
    remaining = lambda_context.get_remaining_time_in_millis() / 1000
    assert sum(harness.sleeps) <= remaining - migrate.SAFETY_MARGIN_SECONDS


def test_the_handler_reports_what_it_applied(harness, lambda_context):
    assert migrate.handler({}, lambda_context) == {"applied": [1, 2], "current": 2}


def test_a_failing_statement_rolls_its_migration_back_and_says_where(harness):
    failing = MIGRATIONS[1].statements[1]
    harness.cluster.fail(
        "DatabaseErrorException",
        'ERROR: relation "images_processed_at_idx" already exists',
        when=lambda operation, request: request.get("sql") == failing,
    )
    with pytest.raises(MigrationFailed) as raised:
        migrate.migrate(harness.api)
    error = raised.value
    assert (error.version, error.step) == (2, "statement 2 of 2")
    assert "rolled back: DatabaseErrorException: ERROR: relation" in str(error)
    assert harness.cluster.committed == {1: MIGRATIONS[0].description}, "migration 1 stays, 2 is not recorded"
    assert harness.cluster.executed == list(MIGRATIONS[0].statements)
    assert harness.cluster.operations()[-1] == "RollbackTransaction"
    assert harness.cluster.transactions == {}, "no transaction left open"
    assert harness.sleeps == [], "a database error is not retried"
    assert migrate.migrate(harness.api) == {"applied": [2], "current": 2}, "the next run picks it up"


def test_other_errors_are_raised_as_they_are_without_retrying(harness):
    harness.cluster.fail("ForbiddenException", "User is not authorized to perform: rds-data:ExecuteStatement")
    with pytest.raises(harness.api.client.exceptions.ForbiddenException, match="not authorized"):
        migrate.migrate(harness.api)
    assert harness.sleeps == []
    assert harness.cluster.operations() == ["ExecuteStatement"]


def test_values_become_data_api_fields():
    assert [dataapi.to_field(v) for v in (None, True, 3, 2.5, "x")] == [
        {"isNull": True},
        {"booleanValue": True},
        {"longValue": 3},
        {"doubleValue": 2.5},
        {"stringValue": "x"},
    ]


@pytest.mark.parametrize("missing", ["CLUSTER_ARN", "SECRET_ARN", "DATABASE_NAME"])
def test_a_missing_setting_is_named_before_anything_touches_aws(missing):
    environ = {"CLUSTER_ARN": CLUSTER_ARN, "SECRET_ARN": SECRET_ARN, "DATABASE_NAME": DATABASE}
    del environ[missing]
    with pytest.raises(ConfigurationError, match=f"Environment variable {missing} is not set"):
        DataApi.from_environment(environ)


def test_a_client_error_is_what_the_stand_in_returns(harness):
    """The stand-in answers through botocore: errors arrive as the real client's exception classes."""
    harness.cluster.fail("DatabaseErrorException", "boom", when=lambda operation, request: True)
    with pytest.raises(ClientError) as raised:
        harness.api.execute("SELECT 1")
    assert type(raised.value) is harness.api.client.exceptions.DatabaseErrorException
