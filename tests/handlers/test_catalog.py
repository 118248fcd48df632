"""The catalog: its SQL parses as the cluster's PostgreSQL, migrations apply once, in order, through the Data API,
and the writer login gets the password kept in its secret, as a SCRAM verifier.

moto's rds-data answers only ExecuteStatement, with canned rows and no transactions, so the migration tests use a
scripted stand-in instead: a real boto3 rds-data client whose requests are validated by botocore against the real
service model, then answered by `ScriptedCluster` (an in-memory `schema_migrations` with transactions, and the
password verifiers `ALTER ROLE` gave) instead of going over HTTP. Errors come back as the client's real exception
classes. Secrets Manager is moto's. These are unit tests of the handler's sequencing, not of PostgreSQL's behaviour:
the SQL itself is checked by PostgreSQL's own parser (pglast), the verifier against RFC 7677's published exchange.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from catalog import dataapi, logins, migrate, schema
from catalog.dataapi import DataApi, ResumePolicy
from catalog.errors import ConfigurationError, DatabaseStillResuming, LoginSecretInvalid, MigrationFailed
from catalog.logins import LoginRole
from catalog.schema import CATALOG_WRITER, INSERT_IMAGE_PARAMETERS, INSERT_IMAGE_SQL, MIGRATIONS, Migration
from pglast import ast, enums, parse_plpgsql, parse_sql
from pglast.parser import get_postgresql_version, scan
from pglast.visitors import Visitor

from components.database import ENGINE_VERSION
from tests.shipped_sql import shipped_sql

REGION = "eu-west-1"
CLUSTER_ARN = f"arn:aws:rds:{REGION}:123456789012:cluster:image-pipeline-test-catalog"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:rds!cluster-catalog-AbCdEf"
DATABASE = "catalog"
VERSIONS = [migration.version for migration in MIGRATIONS]
LATEST = VERSIONS[-1]

EVERY_STATEMENT = [pytest.param(shipped.sql, id=shipped.name) for shipped in shipped_sql()]
"""Found in the code (tests/shipped_sql.py), so that a statement added later is checked here too."""


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


DEPLOYED_MIGRATIONS = {
    1: "95896e5dd6b1c4f695c6889e909f5d40bd159ec7457f4ed6c6d5e74e3bb5155c",
    2: "6080dfe2448fcb020d771c4a5ced076c8d7725a1f123cacd5022c4ae131e9946",
    3: "75d0df8ef4de25094f05f75e11dd6691e33bd3b784be9ba34744992c7a4261df",
}
"""SHA-256 of each released migration: a database that applied one never applies it again, so editing it changes
nothing there and diverges everywhere else. Add the next migration instead (and pin it here once released)."""


def test_released_migrations_are_never_edited():
    for migration in MIGRATIONS:
        if migration.version in DEPLOYED_MIGRATIONS:
            text = json.dumps([migration.version, migration.description, list(migration.statements)])
            assert hashlib.sha256(text.encode()).hexdigest() == DEPLOYED_MIGRATIONS[migration.version], (
                f"migration {migration.version} was released and must not change; add migration {LATEST + 1}"
            )


# --- The writer login: exactly the privileges the catalog insert needs ----------------------------------------


class ColumnNames(Visitor):
    """The column names a piece of SQL reads (`images.x`, `excluded.x` and bare `x` all read column x)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_ColumnRef(self, ancestors: Any, node: ast.ColumnRef) -> None:
        self.names.add(node.fields[-1].sval)


def columns_the_insert_reads() -> set[str]:
    """What PostgreSQL wants SELECT on for INSERT ... ON CONFLICT: the conflict target's columns, and every column
    the DO UPDATE's expressions and WHERE read, through the table or through `excluded`."""
    conflict = parse_one(INSERT_IMAGE_SQL).onConflictClause
    reads = ColumnNames()
    for node in (*conflict.targetList, conflict.whereClause):
        reads(node)
    return {element.name for element in conflict.infer.indexElems} | reads.names


def plpgsql_body(do: ast.DoStmt) -> dict[str, Any]:
    """A DO block's body, parsed by PL/pgSQL's own parser (as the body of a function)."""
    (body,) = [option.arg.sval for option in do.args if option.defname == "as"]
    (function,) = parse_plpgsql(f"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body${body}$body$")
    return function["PLpgSQL_function"]["action"]["PLpgSQL_stmt_block"]


def writer_migration_statements() -> list[Any]:
    """Migration 3's statements, with each DO block's SQL parsed as well: (kind, parsed statement) pairs."""
    (migration,) = [m for m in MIGRATIONS if any("catalog_writer" in sql for sql in m.statements)]
    found = []
    for sql in migration.statements:
        statement = parse_one(sql)
        if not isinstance(statement, ast.DoStmt):
            found.append(("plain", statement))
            continue
        for step in plpgsql_body(statement)["body"]:
            if "PLpgSQL_stmt_if" in step:
                branch = step["PLpgSQL_stmt_if"]
                guard = branch["cond"]["PLpgSQL_expr"]["query"]
                (then,) = branch["then_body"]
                found.append((guard, parse_one(then["PLpgSQL_stmt_execsql"]["sqlstmt"]["PLpgSQL_expr"]["query"])))
            elif "PLpgSQL_stmt_dynexecute" in step:
                call = parse_one("SELECT " + step["PLpgSQL_stmt_dynexecute"]["query"]["PLpgSQL_expr"]["query"])
                template, database = call.targetList[0].val.args
                assert database.funcname[-1].sval == "current_database", "granted on the database it runs in"
                found.append(("dynamic", parse_one(template.val.sval.replace("%I", "catalog"))))
            else:
                assert "PLpgSQL_stmt_return" in step, f"unexpected PL/pgSQL step {step}"
    return found


def test_the_writer_role_is_created_once_with_login_and_without_a_password():
    (created,) = [(kind, s) for kind, s in writer_migration_statements() if isinstance(s, ast.CreateRoleStmt)]
    guard, create = created
    assert create.role == CATALOG_WRITER
    assert create.stmt_type == enums.RoleStmtType.ROLESTMT_ROLE
    assert [(option.defname, option.arg.boolval) for option in create.options] == [("canlogin", True)], (
        "LOGIN and nothing else: no password in the migration (the migration function sets it from the secret), "
        "no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS"
    )
    assert guard == f"NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{CATALOG_WRITER}')", (
        "roles are cluster-wide: the migration must not fail where the role already exists"
    )


def grant_key(grant: ast.GrantStmt) -> set[tuple[str, str, str, tuple[str, ...]]]:
    """(object type, object, privilege, columns) for each privilege a GRANT gives."""
    names = {obj.relname if isinstance(obj, ast.RangeVar) else obj.sval for obj in grant.objects}
    return {
        (grant.objtype.name, name, privilege.priv_name, tuple(column.sval for column in privilege.cols or ()))
        for name in names
        for privilege in grant.privileges
    }


def test_the_writer_gets_exactly_what_the_catalog_insert_needs():
    grants = [s for _, s in writer_migration_statements() if isinstance(s, ast.GrantStmt)]
    assert all(g.is_grant and not g.grant_option for g in grants), "granted without GRANT OPTION"
    assert all([r.rolename for r in g.grantees] == [CATALOG_WRITER] for g in grants)
    given = set().union(*(grant_key(grant) for grant in grants))
    selects = {key for key in given if key[2] == "select"}
    assert given - selects == {
        ("OBJECT_DATABASE", "catalog", "connect", ()),
        ("OBJECT_SCHEMA", "public", "usage", ()),
        ("OBJECT_TABLE", "images", "insert", ()),
        ("OBJECT_TABLE", "images", "update", ()),
    }
    ((kind, table, _, columns),) = selects
    assert (kind, table) == ("OBJECT_TABLE", "images")
    assert columns, "SELECT column by column: a column added later is not readable by default"
    assert set(columns) == columns_the_insert_reads(), "exactly the columns INSERT ... ON CONFLICT reads"


def test_the_column_reader_sees_the_conflict_target_the_excluded_values_and_the_where_clause():
    assert {"object_key", "version_tag", "sha256", "processed_at"} <= columns_the_insert_reads()
    probe = parse_one("INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.c WHERE t.d > 0")
    reads = ColumnNames()
    for node in (*probe.onConflictClause.targetList, probe.onConflictClause.whereClause):
        reads(node)
    assert reads.names == {"c", "d"}, "the SET's targets are written, not read"


def test_no_earlier_migration_grants_anything():
    earlier = [parse_one(sql) for m in MIGRATIONS if m.version < 3 for sql in m.statements]
    assert not [s for s in earlier if isinstance(s, ast.GrantStmt | ast.CreateRoleStmt)]


def test_a_login_password_is_set_with_a_verifier_only():
    verifier = logins.scram_sha256_verifier("pencil", b"0123456789abcdef")
    alter = parse_one(schema.set_login_password_sql(CATALOG_WRITER, verifier))
    assert isinstance(alter, ast.AlterRoleStmt)
    assert alter.role.rolename == CATALOG_WRITER
    options = {option.defname: option.arg for option in alter.options}
    assert options["canlogin"].boolval is True
    assert options["password"].sval == verifier
    for clear in ("pencil", "it's", "SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5'; DROP TABLE images; --"):
        with pytest.raises(ValueError, match="must be a SCRAM-SHA-256 verifier"):
            schema.set_login_password_sql(CATALOG_WRITER, clear)
    with pytest.raises(ValueError, match="not a lowercase PostgreSQL identifier"):
        schema.set_login_password_sql("writer; DROP ROLE x", verifier)


# --- The SCRAM-SHA-256 verifier --------------------------------------------------------------------------------

RFC_7677 = {
    "password": "pencil",
    "salt": "W22ZaJ0SNY7soEsUEjb6gQ==",
    "iterations": 4096,
    "client_first_bare": "n=user,r=rOprNGfwEbeRWgbNEkqO",
    "server_first": "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    "client_final_without_proof": "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    "proof": "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "server_signature": "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
}
"""The example exchange of RFC 7677, section 3 (user "user", password "pencil")."""
VERIFIER = re.compile(r"SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)")
"""pg_authid.rolpassword for SCRAM: SCRAM-SHA-256$<iteration count>:<salt>$<StoredKey>:<ServerKey>, in base64."""


def parts(verifier: str) -> tuple[int, bytes, bytes, bytes]:
    match = VERIFIER.fullmatch(verifier)
    assert match, verifier
    iterations, *encoded = match.groups()
    salt, stored_key, server_key = (base64.b64decode(part, validate=True) for part in encoded)
    return int(iterations), salt, stored_key, server_key


def hmac_sha256(key: bytes, text: bytes) -> bytes:
    return hmac.new(key, text, hashlib.sha256).digest()


def xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


def verifies(verifier: str, password: str) -> bool:
    """The verifier holds the keys of `password` (recomputed here with its own salt and iteration count)."""
    iterations, salt, stored_key, server_key = parts(verifier)
    salted = hi(password.encode(), salt, iterations)
    keys = (hashlib.sha256(hmac_sha256(salted, b"Client Key")).digest(), hmac_sha256(salted, b"Server Key"))
    return keys == (stored_key, server_key)


def hi(password: bytes, salt: bytes, iterations: int) -> bytes:
    """RFC 5802's Hi(): U1 = HMAC(password, salt + INT(1)), Ui = HMAC(password, Ui-1), XORed together; written out
    here rather than through hashlib.pbkdf2_hmac, so that the test does not share the code it checks."""
    block = hmac_sha256(password, salt + b"\x00\x00\x00\x01")
    result = block
    for _ in range(iterations - 1):
        block = hmac_sha256(password, block)
        result = xor(result, block)
    return result


def test_the_verifier_answers_rfc_7677s_exchange():
    """A server holding only the verifier accepts the RFC's client proof and produces the RFC's server signature."""
    salt = base64.b64decode(RFC_7677["salt"])
    verifier = logins.scram_sha256_verifier(RFC_7677["password"], salt, RFC_7677["iterations"])
    iterations, stored_salt, stored_key, server_key = parts(verifier)
    assert (iterations, stored_salt) == (4096, salt)
    assert verifier.startswith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    auth = ",".join((RFC_7677["client_first_bare"], RFC_7677["server_first"],
                     RFC_7677["client_final_without_proof"])).encode()  # fmt: skip
    assert base64.b64encode(hmac_sha256(server_key, auth)).decode() == RFC_7677["server_signature"]
    proof = base64.b64decode(RFC_7677["proof"])
    client_key = xor(proof, hmac_sha256(stored_key, auth))
    assert hashlib.sha256(client_key).digest() == stored_key, "the RFC's client proof is accepted"


def test_the_verifier_is_rfc_5802s_stored_and_server_keys_of_a_fixed_salt():
    salt = bytes(range(16))
    salted = hi(b"correct horse battery staple", salt, 4096)
    stored_key = hashlib.sha256(hmac_sha256(salted, b"Client Key")).digest()
    server_key = hmac_sha256(salted, b"Server Key")
    expected = "SCRAM-SHA-256$4096:{}${}:{}".format(*(base64.b64encode(v).decode() for v in (salt, stored_key,
                                                                                             server_key)))  # fmt: skip
    assert logins.scram_sha256_verifier("correct horse battery staple", salt) == expected


def test_a_new_password_is_256_random_bits_that_saslprep_leaves_alone():
    first, second = logins.new_password(), logins.new_password()
    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first), "43 URL-safe base64 characters: 256 bits, printable ASCII"


@pytest.mark.parametrize("password", ["", "pässword", "tab\there"])
def test_verifiers_are_only_made_for_printable_ascii(password):
    with pytest.raises(ValueError, match="printable ASCII"):
        logins.scram_sha256_verifier(password, b"salt")


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
    verifiers: dict[str, list[str]] = field(default_factory=dict)
    """Login role -> the password verifiers ALTER ROLE gave it, in order."""
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
        password = SET_PASSWORD.fullmatch(sql)
        if password and transaction is None:
            role, verifier = password.groups()
            if not any(f"CREATE ROLE {role} LOGIN" in statement for statement in self.executed):
                raise DatabaseError(f'role "{role}" does not exist')
            self.verifiers.setdefault(role, []).append(verifier)
            return {"numberOfRecordsUpdated": 0}
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


SET_PASSWORD = re.compile(r"ALTER ROLE ([a-z_]+) WITH LOGIN PASSWORD '(SCRAM-SHA-256\$[^']+)'")


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
    assert result == {"applied": VERSIONS, "current": LATEST}
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
    assert migrate.migrate(harness.api) == {"applied": [], "current": LATEST}
    assert harness.cluster.operations() == ["ExecuteStatement", "ExecuteStatement"]
    assert harness.cluster.executed == migration_statements(), "nothing ran twice"


def test_only_the_pending_migrations_are_applied(harness):
    harness.cluster.committed[1] = MIGRATIONS[0].description
    assert migrate.migrate(harness.api) == {"applied": VERSIONS[1:], "current": LATEST}
    assert harness.cluster.executed == migration_statements(MIGRATIONS[1:])


def test_a_migration_applied_meanwhile_by_a_concurrent_run_is_skipped(harness):
    def concurrent_run_finishes_first():
        harness.cluster.committed.setdefault(1, "applied by the other run")

    harness.cluster.on_lock = concurrent_run_finishes_first
    assert migrate.migrate(harness.api) == {"applied": VERSIONS[1:], "current": LATEST}
    assert harness.cluster.executed == migration_statements(MIGRATIONS[1:])
    assert "RollbackTransaction" in harness.cluster.operations()


def test_waits_for_a_paused_cluster_to_resume_with_backoff(harness):
    harness.cluster.fail("DatabaseResumingException", "The database is resuming", times=3)
    assert migrate.migrate(harness.api) == {"applied": VERSIONS, "current": LATEST}
    assert harness.sleeps == [2.0, 3.0, 4.5]
    assert harness.cluster.operations()[:4] == ["ExecuteStatement"] * 4, "the same call, retried"


def test_gives_up_clearly_when_the_cluster_does_not_resume_in_time(harness):
    harness.cluster.fail("DatabaseResumingException", times=1000)
    with pytest.raises(DatabaseStillResuming, match=r"still resuming after \d+ attempts"):
        migrate.migrate(harness.api)
    assert 100 <= sum(harness.sleeps) <= ResumePolicy().give_up_after_seconds
    assert max(harness.sleeps) == ResumePolicy().max_delay_seconds


def test_the_handler_waits_no_longer_than_its_invocation_allows(harness, writer_secret, lambda_context):
    harness.cluster.fail("DatabaseResumingException", times=1000)
    with pytest.raises(DatabaseStillResuming):
        migrate.handler({}, lambda_context)
    remaining = lambda_context.get_remaining_time_in_millis() / 1000
    assert sum(harness.sleeps) <= remaining - migrate.SAFETY_MARGIN_SECONDS


def test_the_handler_reports_what_it_applied_and_what_it_did_with_each_login(harness, writer_secret, lambda_context):
    first = migrate.handler({}, lambda_context)
    assert first == {"applied": VERSIONS, "current": LATEST, "logins": {CATALOG_WRITER: "generated"}}
    again = migrate.handler({}, lambda_context)
    assert again == {"applied": [], "current": LATEST, "logins": {CATALOG_WRITER: "kept"}}


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
    assert migrate.migrate(harness.api) == {"applied": VERSIONS[1:], "current": LATEST}, "the next run picks it up"


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


# --- The writer login's password: made once, kept in its secret, given to PostgreSQL as a verifier --------------

WRITER_SECRET_NAME = "image-pipeline-test-catalog-writer"


@dataclass
class WriterSecret:
    client: BaseClient
    arn: str

    def value(self) -> dict[str, Any]:
        return json.loads(self.client.get_secret_value(SecretId=self.arn)["SecretString"])

    def versions(self) -> list[str]:
        return [v["VersionId"] for v in self.client.list_secret_version_ids(SecretId=self.arn)["Versions"]]


@pytest.fixture
def writer_secret(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriterSecret]:
    """The writer's secret as Pulumi leaves it (no value), named where the migration function looks for it."""
    client = boto3.client("secretsmanager", region_name=REGION)
    arn = client.create_secret(Name=WRITER_SECRET_NAME, Description="catalog_writer's login")["ARN"]
    monkeypatch.setenv(schema.login_secret_variable(CATALOG_WRITER), arn)
    logins.set_logins(logins.Logins(logins.login_roles(), client))
    yield WriterSecret(client, arn)
    logins.set_logins(None)


def sent_text(cluster: ScriptedCluster) -> str:
    """Everything the handler sent the Data API: SQL, parameters, ARNs."""
    return json.dumps([request for _, request in cluster.calls])


def test_the_first_run_stores_a_password_and_gives_the_role_its_verifier_only(harness, writer_secret, lambda_context):
    with pytest.raises(ClientError, match=r"can't find the specified secret value"):
        writer_secret.value()
    migrate.handler({}, lambda_context)
    stored = writer_secret.value()
    assert set(stored) == {"username", "password"}, "the JSON the Data API signs in with, nothing else"
    assert stored["username"] == CATALOG_WRITER
    assert len(stored["password"]) >= 43
    (verifier,) = harness.cluster.verifiers[CATALOG_WRITER]
    assert verifies(verifier, stored["password"]), "the role's password is the secret's"
    assert parts(verifier)[0] == logins.SCRAM_ITERATIONS
    assert len(parts(verifier)[1]) == logins.SALT_BYTES
    assert stored["password"] not in sent_text(harness.cluster), "the clear password never reaches PostgreSQL"
    assert writer_secret.versions() == [logins.first_value_token(writer_secret.arn)]


def test_the_password_is_set_after_the_migration_that_creates_the_role(harness, writer_secret, lambda_context):
    migrate.handler({}, lambda_context)
    calls = harness.cluster.calls
    last_commit = max(i for i, (operation, _) in enumerate(calls) if operation == "CommitTransaction")
    (password_set,) = [i for i, (_, request) in enumerate(calls) if request.get("sql", "").startswith("ALTER ROLE")]
    assert password_set > last_commit, "after the migration that creates the role is committed"
    assert "transactionId" not in calls[password_set][1], "a statement of its own"


def test_running_again_keeps_the_password_and_sets_the_same_one_again(harness, writer_secret, lambda_context):
    migrate.handler({}, lambda_context)
    stored, versions = writer_secret.value(), writer_secret.versions()
    migrate.handler({}, lambda_context)
    assert (writer_secret.value(), writer_secret.versions()) == (stored, versions), "the secret keeps its value"
    first, second = harness.cluster.verifiers[CATALOG_WRITER]
    assert first != second, "a fresh salt each time"
    assert verifies(second, stored["password"]), "after the second run the role still has the secret's password"
    assert stored["password"] not in sent_text(harness.cluster)


def test_a_password_is_made_only_when_the_secret_has_none(harness, writer_secret):
    made: list[str] = []

    def make_password() -> str:
        made.append(logins.new_password())
        return made[-1]

    migrate.migrate(harness.api)
    roles = [LoginRole(CATALOG_WRITER, writer_secret.arn)]
    assert logins.provision(harness.api, writer_secret.client, roles, make_password=make_password) == {
        CATALOG_WRITER: "generated"
    }
    assert logins.provision(harness.api, writer_secret.client, roles, make_password=make_password) == {
        CATALOG_WRITER: "kept"
    }
    assert len(made) == 1
    assert writer_secret.value()["password"] == made[0]


def test_a_password_someone_put_in_the_secret_is_the_one_the_role_gets(harness, writer_secret, lambda_context):
    writer_secret.client.put_secret_value(
        SecretId=writer_secret.arn, SecretString=json.dumps({"username": CATALOG_WRITER, "password": "rotated-by-hand"})
    )
    assert migrate.handler({}, lambda_context)["logins"] == {CATALOG_WRITER: "kept"}
    assert verifies(harness.cluster.verifiers[CATALOG_WRITER][-1], "rotated-by-hand")


class FirstReadMisses:
    """A Secrets Manager client whose first read finds no value although a concurrent run has just stored one."""

    def __init__(self, client: BaseClient, concurrent_value: str) -> None:
        self._client, self._value, self._missed = client, concurrent_value, False

    def get_secret_value(self, **request: Any) -> dict[str, Any]:
        if not self._missed:
            self._missed = True
            token = logins.first_value_token(request["SecretId"])
            self._client.put_secret_value(SecretId=request["SecretId"], SecretString=self._value,
                                          ClientRequestToken=token)  # fmt: skip
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no value"}}, "GetSecretValue")
        return self._client.get_secret_value(**request)

    def put_secret_value(self, **request: Any) -> dict[str, Any]:
        return self._client.put_secret_value(**request)


def test_two_runs_at_once_store_one_password_and_both_use_it(harness, writer_secret):
    migrate.migrate(harness.api)
    winner = json.dumps({"username": CATALOG_WRITER, "password": "stored-by-the-other-run"})
    client = FirstReadMisses(writer_secret.client, winner)
    roles = [LoginRole(CATALOG_WRITER, writer_secret.arn)]
    assert logins.provision(harness.api, client, roles) == {CATALOG_WRITER: "generated"}
    assert writer_secret.value()["password"] == "stored-by-the-other-run", "the first value stays"
    assert len(writer_secret.versions()) == 1
    assert verifies(harness.cluster.verifiers[CATALOG_WRITER][-1], "stored-by-the-other-run")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (json.dumps({"username": "someone_else", "password": "x"}), "its username is 'someone_else'"),
        (json.dumps({"username": CATALOG_WRITER}), 'it is not JSON with a "password"'),
        ("not json", 'it is not JSON with a "password"'),
    ],
    ids=["another-user", "no-password", "not-json"],
)
def test_a_secret_this_code_did_not_write_is_refused_and_left_alone(harness, writer_secret, lambda_context, value,
                                                                    problem):  # fmt: skip
    writer_secret.client.put_secret_value(SecretId=writer_secret.arn, SecretString=value)
    with pytest.raises(LoginSecretInvalid, match=re.escape(problem)):
        migrate.handler({}, lambda_context)
    assert writer_secret.client.get_secret_value(SecretId=writer_secret.arn)["SecretString"] == value
    assert CATALOG_WRITER not in harness.cluster.verifiers, "no password was set"


def test_a_role_no_migration_created_is_an_error_not_a_new_role(harness, writer_secret):
    migrate.migrate(harness.api)
    with pytest.raises(ClientError, match='role "nobody" does not exist'):
        logins.provision(harness.api, writer_secret.client, [LoginRole("nobody", writer_secret.arn)])


def test_a_missing_login_secret_setting_is_named_before_anything_touches_aws(harness, monkeypatch, lambda_context):
    monkeypatch.delenv(schema.login_secret_variable(CATALOG_WRITER), raising=False)
    with pytest.raises(ConfigurationError, match="Environment variable CATALOG_WRITER_SECRET_ARN is not set"):
        migrate.handler({}, lambda_context)
    assert harness.cluster.calls == []


def test_every_login_role_has_its_secret_variable():
    environ = {"CATALOG_WRITER_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:w-AbCdEf"}
    assert logins.login_roles(environ) == [LoginRole(CATALOG_WRITER, environ["CATALOG_WRITER_SECRET_ARN"])]
    assert schema.LOGIN_ROLES == (CATALOG_WRITER,)
