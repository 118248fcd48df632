"""The local Data API's translation, against a real embedded PostgreSQL (one server for the module): placeholders,
every typed value and type hint, the shapes of records, JSON and metadata, transactions and their timeouts, batches,
and what is refused (SQL errors, unsupported results, a wrong cluster, secret or password) with the Data API's error
codes; then the same through boto3 and moto, as a Lambda or a workflow reaches it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from components.database import ENGINE_MAJOR_VERSION
from emulator import adaptations
from emulator.adaptations import Hooks
from emulator.dataapi import COMMITTED, ROLLED_BACK, DataApi, DataApiError, service, translate
from emulator.postgres import EmbeddedPostgres

REGION = "eu-west-1"
CLUSTER = f"arn:aws:rds:{REGION}:123456789012:cluster:catalog"
OTHER = f"arn:aws:rds:{REGION}:123456789012:cluster:other"
CLOSED = f"arn:aws:rds:{REGION}:123456789012:cluster:no-data-api"
DATABASE, OWNER, PASSWORD = "catalog", "catalog_owner", "owner-password-1"
SECRETS = {
    "master": json.dumps({"username": OWNER, "password": PASSWORD}),
    "wrong-password": json.dumps({"username": OWNER, "password": "not-it"}),
    "no-password": json.dumps({"username": OWNER}),
    "not-json": "owner:password",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("dataapi") / "postgres", major=ENGINE_MAJOR_VERSION) as running:
        running.create_database(DATABASE, owner=OWNER, password=PASSWORD)
        with running.connect(OWNER, PASSWORD, DATABASE) as connection:
            connection.execute("CREATE TYPE mood AS ENUM ('calm', 'busy')")
            connection.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, ref uuid, body jsonb)")
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(server: EmbeddedPostgres, clock: Clock) -> Iterator[DataApi]:
    def read(secret: str) -> str:
        name = secret.rsplit(":", 1)[-1]
        if name not in SECRETS:
            raise LookupError("Secrets Manager can't find the specified secret.")
        return SECRETS[name]

    data_api = DataApi(read, clock=clock)
    data_api.add_cluster(CLUSTER, server, http_endpoint=True)
    data_api.add_cluster(OTHER, server, http_endpoint=True)
    data_api.add_cluster(CLOSED, server, http_endpoint=False)
    yield data_api
    data_api.end_transactions()
    with server.connect(OWNER, PASSWORD, DATABASE) as connection:
        connection.execute("TRUNCATE items")


def execute(api: DataApi, sql: str, *parameters: dict[str, Any], **request: Any) -> dict[str, Any]:
    base = {"resourceArn": CLUSTER, "secretArn": "master", "database": DATABASE}
    return api.call("ExecuteStatement", {**base, "sql": sql, "parameters": list(parameters), **request})


def refused(api: DataApi, operation: str, **request: Any) -> tuple[str, str]:
    base = {"resourceArn": CLUSTER, "secretArn": "master", "database": DATABASE}
    with pytest.raises(DataApiError) as raised:
        api.call(operation, {**base, **request})
    return raised.value.code, raised.value.message


def param(name: str, hint: str | None = None, **value: Any) -> dict[str, Any]:
    return {"name": name, "value": value, **({"typeHint": hint} if hint else {})}


def one(answer: dict[str, Any]) -> dict[str, Any]:
    [[field]] = answer["records"]
    return field


# Placeholders -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected", "names"),
    [
        ("SELECT :a, :b, :a", "SELECT $1, $2, $1", ("a", "b")),
        ("SELECT ':a', \":b\", x::text, :c", "SELECT ':a', \":b\", x::text, $1", ("c",)),
        ("SELECT 'it''s :a', E'\\' :b', :c", "SELECT 'it''s :a', E'\\' :b', $1", ("c",)),
        ("SELECT 1 -- :a\n, /* :b /* :c */ */ :d", "SELECT 1 -- :a\n, /* :b /* :c */ */ $1", ("d",)),
        ("DO $$ BEGIN x := :a; END $$", "DO $$ BEGIN x := :a; END $$", ()),
        ("SELECT $tag$ :a $tag$, :b_2", "SELECT $tag$ :a $tag$, $1", ("b_2",)),
    ],
    ids=["repeated", "literals-casts", "escapes", "comments", "dollar", "tagged-dollar"],
)
def test_named_placeholders_become_positional_outside_literals_comments_and_casts(sql, expected, names):
    translated = translate(sql)
    assert (translated.sql, translated.names, translated.statements) == (expected, names, 1)


@pytest.mark.parametrize(("sql", "count"), [("SELECT 1;", 1), ("SELECT 1; -- done", 1), ("SELECT 1; SELECT 2", 2),
                                            ("SELECT ';'", 1), ("", 0)])  # fmt: skip
def test_statements_are_counted_by_their_top_level_semicolons(sql, count):
    assert translate(sql).statements == count


# Typed values -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "pg_type", "text"),
    [
        (param("v", stringValue="héllo"), "character varying", "héllo"),
        (param("v", longValue=2**40), "bigint", str(2**40)),
        (param("v", doubleValue=1.25), "double precision", "1.25"),
        (param("v", booleanValue=True), "boolean", "true"),
        (param("v", blobValue=base64.b64encode(b"\x00\x01").decode()), "bytea", "\\x0001"),
        (param("v", "DATE", stringValue="2026-12-03"), "date", "2026-12-03"),
        (param("v", "TIME", stringValue="13:14:15.123"), "time without time zone", "13:14:15.123"),
        (param("v", "TIMESTAMP", stringValue="2026-12-03 13:14:15.5"), "timestamp without time zone",
         "2026-12-03 13:14:15.5"),
        (param("v", "UUID", stringValue="a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "uuid",
         "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        (param("v", "JSON", stringValue='{"a": [1]}'), "json", '{"a": [1]}'),
        (param("v", "DECIMAL", stringValue="12.50"), "numeric", "12.50"),
    ],
    ids=["string", "long", "double", "boolean", "blob", "date", "time", "timestamp", "uuid", "json", "decimal"],
)  # fmt: skip
def test_each_typed_value_and_hint_reaches_postgresql_as_its_type(api, parameter, pg_type, text):
    answer = execute(api, "SELECT pg_typeof(:v)::text AS type, CAST(:v AS text) AS text", parameter)
    assert answer["records"] == [[{"stringValue": pg_type}, {"stringValue": text}]]


def test_a_null_is_untyped(api):
    assert one(execute(api, "SELECT CAST(:v AS integer) IS NULL", param("v", isNull=True))) == {"booleanValue": True}


def test_a_string_needs_a_cast_or_a_hint_where_the_column_is_not_text(api):
    value = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    code, message = refused(api, "ExecuteStatement", sql="INSERT INTO items (name, ref) VALUES ('x', :ref)",
                            parameters=[param("ref", stringValue=value)])  # fmt: skip
    assert code == "DatabaseErrorException"
    assert message.startswith('ERROR: column "ref" is of type uuid but expression is of type character varying')
    assert message.endswith("; SQLState: 42804"), message
    sql = "INSERT INTO items (name, ref, body) VALUES ('x', :ref, :body)"
    hinted = execute(api, sql, param("ref", "UUID", stringValue=value), param("body", "JSON", stringValue='{"k": 1}'))
    assert hinted == {"numberOfRecordsUpdated": 1, "generatedFields": []}


@pytest.mark.parametrize(
    ("hint", "text"),
    [("TIMESTAMP", "2026-12-03T13:14:15Z"), ("TIMESTAMP", "2026-12-03"), ("DATE", "03/12/2026"), ("TIME", "1:2:3")],
)
def test_a_hinted_string_out_of_the_documented_format_is_refused(api, hint, text):
    code, message = refused(api, "ExecuteStatement", sql="SELECT :v", parameters=[param("v", hint, stringValue=text)])
    assert code == "BadRequestException"
    assert f"is not a {hint}: the accepted format is" in message


@pytest.mark.parametrize(
    ("sql", "parameters", "words"),
    [
        ("SELECT :a, :b", [param("a", longValue=1)], "No value specified for parameter(s) b"),
        ("SELECT :a", [{"name": "a", "value": {}}], 'Parameter "a" has value with no field set'),
        (
            "SELECT :a",
            [param("a", arrayValue={"longValues": [1]})],
            'Parameter "a": array parameters are not supported',
        ),
    ],
    ids=["missing", "no-field", "array"],
)
def test_a_parameter_the_data_api_cannot_bind_is_a_bad_request(api, sql, parameters, words):
    assert refused(api, "ExecuteStatement", sql=sql, parameters=parameters) == ("BadRequestException", words)


# Results ------------------------------------------------------------------------------------------------------------

VALUES_SQL = """SELECT 1::int2 AS small, 2::int4 AS int, 3::int8 AS big, 1.5::float4 AS real, 2.5::float8 AS double,
    true AS flag, '\\x0102'::bytea AS bytes, 12.50::numeric(6, 2) AS money, 'a'::text AS text, 'b'::varchar AS varchar,
    'c'::char(2) AS char, '2026-12-03'::date AS date, '13:14:15'::time AS time,
    '2026-12-03 13:14:15.25'::timestamp AS timestamp, '2026-12-03 15:14:15.25+02'::timestamptz AS timestamptz,
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS uuid, '{"a": 1}'::json AS json, '{"b": 2}'::jsonb AS jsonb,
    'calm'::mood AS mood, ARRAY[1, 2]::int4[] AS ints, ARRAY['x', NULL]::text[] AS texts, NULL::int4 AS nothing"""


def test_records_have_the_data_apis_typed_fields(api):
    [record] = execute(api, VALUES_SQL)["records"]
    assert record == [
        {"longValue": 1}, {"longValue": 2}, {"longValue": 3}, {"doubleValue": 1.5}, {"doubleValue": 2.5},
        {"booleanValue": True}, {"blobValue": "AQI="}, {"stringValue": "12.50"}, {"stringValue": "a"},
        {"stringValue": "b"}, {"stringValue": "c "}, {"stringValue": "2026-12-03"}, {"stringValue": "13:14:15"},
        {"stringValue": "2026-12-03 13:14:15.25"}, {"stringValue": "2026-12-03 13:14:15.25"},
        {"stringValue": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}, {"stringValue": '{"a": 1}'},
        {"stringValue": '{"b": 2}'}, {"stringValue": "calm"}, {"arrayValue": {"longValues": [1, 2]}},
        {"arrayValue": {"stringValues": ["x", None]}}, {"isNull": True},
    ]  # fmt: skip


def test_result_set_options_answer_longs_as_strings_and_decimals_as_numbers(api):
    options = {"resultSetOptions": {"longReturnType": "STRING", "decimalReturnType": "DOUBLE_OR_LONG"}}
    [record] = execute(api, "SELECT 3::int8, 12.50::numeric, 12::numeric", **options)["records"]
    assert record == [{"stringValue": "3"}, {"doubleValue": 12.5}, {"longValue": 12}]


def test_json_format_gives_formatted_records_keyed_by_label_and_no_records(api):
    answer = execute(api, "SELECT 1 AS n, 'é' AS s, NULL AS x, '\\x01'::bytea AS b, ARRAY[1.5] AS a, 2.50 AS d",
                     formatRecordsAs="JSON", includeResultMetadata=True)  # fmt: skip
    assert set(answer) == {"formattedRecords", "numberOfRecordsUpdated"}
    assert json.loads(answer["formattedRecords"]) == [{"n": 1, "s": "é", "x": None, "b": "AQ==", "a": ["1.5"],
                                                      "d": "2.50"}]  # fmt: skip


def test_result_metadata_describes_each_column(api):
    execute(api, "INSERT INTO items (name) VALUES ('x')")
    sql = "SELECT id, name AS label, body, 1.5::numeric(4, 1) AS n FROM items"
    answer = execute(api, sql, includeResultMetadata=True)
    described = [{key: column[key] for key in ("name", "label", "typeName", "type", "nullable", "isAutoIncrement",
                                               "tableName", "schemaName", "precision", "scale")}
                 for column in answer["columnMetadata"]]  # fmt: skip
    assert described == [
        {"name": "id", "label": "id", "typeName": "int4", "type": 4, "nullable": 0, "isAutoIncrement": True,
         "tableName": "items", "schemaName": "public", "precision": 4, "scale": 0},
        {"name": "label", "label": "label", "typeName": "text", "type": 12, "nullable": 0, "isAutoIncrement": False,
         "tableName": "items", "schemaName": "public", "precision": 0, "scale": 0},
        {"name": "body", "label": "body", "typeName": "jsonb", "type": 1111, "nullable": 1, "isAutoIncrement": False,
         "tableName": "items", "schemaName": "public", "precision": 0, "scale": 0},
        {"name": "n", "label": "n", "typeName": "numeric", "type": 2, "nullable": 1, "isAutoIncrement": False,
         "tableName": "", "schemaName": "", "precision": 4, "scale": 1},
    ]  # fmt: skip


def test_records_updated_counts_rows_written_and_nothing_else(api):
    inserted = execute(api, "INSERT INTO items (name) SELECT 'n' || g FROM generate_series(1, 3) g")
    assert inserted == {"numberOfRecordsUpdated": 3, "generatedFields": []}
    assert execute(api, "UPDATE items SET name = 'u' WHERE name <> 'n1'")["numberOfRecordsUpdated"] == 2
    returned = execute(api, "DELETE FROM items WHERE name = 'u' RETURNING name")
    assert returned == {"numberOfRecordsUpdated": 2, "records": [[{"stringValue": "u"}], [{"stringValue": "u"}]]}
    assert execute(api, "SELECT name FROM items") == {"numberOfRecordsUpdated": 0, "records": [[{"stringValue": "n1"}]]}
    assert execute(api, "CREATE TEMP TABLE scratch (a int)") == {"numberOfRecordsUpdated": 0, "generatedFields": []}


@pytest.mark.parametrize(
    ("sql", "words"),
    [("SELECT interval '1 day'", "unsupported data type interval"), ("SELECT ARRAY[[1], [2]]", "multidimensional"),
     ("SELECT ROW(1, 2)", "unsupported data type record")],
    ids=["interval", "2d-array", "record"],
)  # fmt: skip
def test_a_result_the_data_api_cannot_answer_is_unsupported(api, sql, words):
    code, message = refused(api, "ExecuteStatement", sql=sql)
    assert code == "UnsupportedResultException"
    assert words in message


# Errors -------------------------------------------------------------------------------------------------------------


def test_a_sql_error_is_a_database_error_with_the_databases_message(api):
    code, message = refused(api, "ExecuteStatement", sql="SELECT * FROM missing")
    assert (code, message) == ("DatabaseErrorException",
                               'ERROR: relation "missing" does not exist\n  Position: 15; SQLState: 42P01')  # fmt: skip


def test_several_statements_in_one_call_are_refused(api):
    code, message = refused(api, "ExecuteStatement", sql="INSERT INTO items (name) VALUES ('a'); SELECT 1")
    assert (code, message.endswith("SQLState: 42601")) == ("DatabaseErrorException", True), message
    assert execute(api, "SELECT count(*) FROM items")["records"] == [[{"longValue": 0}]]


def test_a_statement_past_its_timeout_is_a_statement_timeout(api):
    begun = api.call("BeginTransaction", {"resourceArn": CLUSTER, "secretArn": "master", "database": DATABASE})
    transaction = begun["transactionId"]
    execute(api, "SET LOCAL statement_timeout = '50ms'", transactionId=transaction)
    code, message = refused(api, "ExecuteStatement", sql="SELECT pg_sleep(1)", transactionId=transaction)
    assert code == "StatementTimeoutException"
    assert "canceling statement due to statement timeout" in message


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"resourceArn": f"{CLUSTER}-other"}, ("HttpEndpointNotEnabledException",
                                               f"HttpEndpoint is not enabled for resource {CLUSTER}-other")),
        ({"resourceArn": CLOSED}, ("HttpEndpointNotEnabledException",
                                   f"HttpEndpoint is not enabled for resource {CLOSED}")),
        ({"secretArn": "missing"}, ("SecretsErrorException",
                                    "Error fetching secret missing: Secrets Manager can't find the specified secret.")),
        ({"secretArn": "no-password"}, ("InvalidSecretException",
                                        "The secret no-password is not JSON with a string username and password")),
        ({"secretArn": "not-json"}, ("InvalidSecretException",
                                     "The secret not-json is not JSON with a string username and password")),
        ({"secretArn": "wrong-password"}, ("DatabaseErrorException",
                                           f'ERROR: password authentication failed for user "{OWNER}"; '
                                           "SQLState: 28P01")),
        ({"database": "elsewhere"}, ("DatabaseErrorException",
                                     'ERROR: database "elsewhere" does not exist; SQLState: 3D000')),
        ({"database": ""}, ("DatabaseErrorException",
                            f'ERROR: database "{OWNER}" does not exist; SQLState: 3D000')),
    ],
    ids=["unknown-cluster", "no-http-endpoint", "missing-secret", "no-password", "not-json", "wrong-password",
         "unknown-database", "default-database"],
)  # fmt: skip
@pytest.mark.parametrize("operation", ["ExecuteStatement", "BeginTransaction"])
def test_a_wrong_cluster_secret_password_or_database_is_refused(api, operation, request_, expected):
    assert refused(api, operation, sql="SELECT 1", **request_) == expected


def test_a_call_sees_nothing_of_the_session_of_the_call_before(api):
    """Calls share pooled connections (the Data API keeps a pool too): each starts from a reset session."""
    execute(api, "SET search_path TO nowhere")
    execute(api, "CREATE TEMP TABLE scratch (a int)")
    assert one(execute(api, "SHOW search_path")) == {"stringValue": '"$user", public'}
    assert refused(api, "ExecuteStatement", sql="SELECT * FROM scratch")[1].startswith(
        'ERROR: relation "scratch" does not exist')  # fmt: skip


def test_a_statement_repeated_on_a_pooled_connection_runs_every_time(api):
    """psycopg prepares a query it has run five times on a connection; the reset between calls (DISCARD ALL) drops
    prepared statements server-side, so a client that prepared one would send an EXECUTE of a name PostgreSQL no
    longer has ('prepared statement "_pg3_0" does not exist'). The Data API never prepares: every call runs."""
    for count in range(1, 13):
        execute(api, "INSERT INTO items (name) VALUES (:n)", param("n", stringValue=f"row {count}"))
    assert one(execute(api, "SELECT count(*) FROM items")) == {"longValue": 12}


# Transactions -------------------------------------------------------------------------------------------------------


def begin(api: DataApi) -> str:
    return api.call("BeginTransaction", {"resourceArn": CLUSTER, "secretArn": "master", "database": DATABASE})[
        "transactionId"
    ]


def end(api: DataApi, operation: str, transaction: str) -> dict[str, Any]:
    return api.call(operation, {"resourceArn": CLUSTER, "secretArn": "master", "transactionId": transaction})


def names(api: DataApi) -> list[str]:
    return [row[0]["stringValue"] for row in execute(api, "SELECT name FROM items ORDER BY name")["records"]]


def test_a_committed_transaction_is_seen_after_its_commit_only(api):
    transaction = begin(api)
    execute(api, "INSERT INTO items (name) VALUES (:n)", param("n", stringValue="kept"), transactionId=transaction)
    assert names(api) == [], "not visible outside the transaction before the commit"
    assert one(execute(api, "SELECT count(*) FROM items", transactionId=transaction)) == {"longValue": 1}
    assert end(api, "CommitTransaction", transaction) == {"transactionStatus": COMMITTED}
    assert names(api) == ["kept"]
    assert api.transactions == []


def test_a_rolled_back_transaction_leaves_nothing(api):
    transaction = begin(api)
    execute(api, "INSERT INTO items (name) VALUES ('gone')", transactionId=transaction)
    assert end(api, "RollbackTransaction", transaction) == {"transactionStatus": ROLLED_BACK}
    assert names(api) == []


def test_a_transaction_with_a_failed_statement_cannot_commit(api):
    transaction = begin(api)
    execute(api, "INSERT INTO items (name) VALUES ('first')", transactionId=transaction)
    refused(api, "ExecuteStatement", sql="SELECT * FROM missing", transactionId=transaction)
    code, message = refused(api, "ExecuteStatement", sql="SELECT 1", transactionId=transaction)
    assert (code, message.endswith("SQLState: 25P02")) == ("DatabaseErrorException", True), message
    assert refused(api, "CommitTransaction", transactionId=transaction)[0] == "DatabaseErrorException"
    assert names(api) == []
    assert refused(api, "RollbackTransaction", transactionId=transaction)[0] == "TransactionNotFoundException"


@pytest.mark.parametrize("operation", ["ExecuteStatement", "CommitTransaction", "RollbackTransaction"])
def test_an_unknown_ended_or_foreign_transaction_is_not_found(api, operation):
    assert refused(api, operation, sql="SELECT 1", transactionId="nope") == (
        "TransactionNotFoundException", "Transaction nope is not found")  # fmt: skip
    ended = begin(api)
    end(api, "CommitTransaction", ended)
    assert refused(api, operation, sql="SELECT 1", transactionId=ended)[0] == "TransactionNotFoundException"
    foreign = begin(api)
    assert refused(api, operation, resourceArn=OTHER, transactionId=foreign, sql="SELECT 1")[0] == (
        "TransactionNotFoundException")  # fmt: skip


def test_a_transaction_idle_for_three_minutes_is_rolled_back(api, clock):
    transaction = begin(api)
    execute(api, "INSERT INTO items (name) VALUES ('idle')", transactionId=transaction)
    clock.now += 179
    execute(api, "SELECT 1", transactionId=transaction)
    clock.now += 180
    assert refused(api, "CommitTransaction", transactionId=transaction)[0] == "TransactionNotFoundException"
    assert names(api) == []


def test_a_transaction_is_rolled_back_after_24_hours_however_busy(api, clock, monkeypatch):
    monkeypatch.setattr(service, "IDLE_TIMEOUT_SECONDS", 10**9)  # only the 24-hour limit applies
    transaction = begin(api)
    clock.now += 24 * 3600 - 1
    execute(api, "SELECT 1", transactionId=transaction)
    clock.now += 1
    assert refused(api, "ExecuteStatement", sql="SELECT 1", transactionId=transaction)[0] == (
        "TransactionNotFoundException")  # fmt: skip


# Batches ------------------------------------------------------------------------------------------------------------


def batch(api: DataApi, *sets: str, **request: Any) -> dict[str, Any]:
    return api.call("BatchExecuteStatement", {
        "resourceArn": CLUSTER, "secretArn": "master", "database": DATABASE, **request,
        "sql": "INSERT INTO items (name, ref) VALUES (:name, CAST(:ref AS uuid))",
        "parameterSets": [[param("name", stringValue=name), param("ref", stringValue=ref)]
                          for name, ref in (item.split("=") for item in sets)],
    })  # fmt: skip


def test_a_batch_runs_the_statement_once_per_parameter_set(api):
    ref = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert batch(api, f"a={ref}", f"b={ref}") == {"updateResults": [{"generatedFields": []}] * 2}
    assert names(api) == ["a", "b"]
    assert batch(api) == {"updateResults": []}


def test_a_batch_is_all_or_nothing_outside_a_transaction_and_part_of_one_inside(api):
    ref = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    with pytest.raises(DataApiError, match="invalid input syntax for type uuid"):
        batch(api, f"a={ref}", "b=not-a-uuid")
    assert names(api) == []
    transaction = begin(api)
    batch(api, f"c={ref}", transactionId=transaction)
    assert names(api) == []
    end(api, "CommitTransaction", transaction)
    assert names(api) == ["c"]


# A paused cluster, a writer down ------------------------------------------------------------------------------------

RESUMING = ("DatabaseResumingException", "The Aurora DB instance db-WRITER is resuming after being auto-paused. "
            "Please wait a few seconds and try again.")  # fmt: skip
UNAVAILABLE = ("DatabaseUnavailableException", "The writer instance in the DB cluster isn't available.")


def test_a_paused_cluster_is_resuming_from_the_first_request_until_its_resume_has_ended(api, clock):
    execute(api, "INSERT INTO items (name) VALUES ('before the pause')")
    api.pause(CLUSTER, instance="db-WRITER", resume_seconds=15)
    clock.now += 3600  # however long it stays paused, only a request resumes it
    assert refused(api, "ExecuteStatement", sql="SELECT 1") == RESUMING
    clock.now += 14.9
    assert refused(api, "BeginTransaction") == RESUMING
    assert execute(api, "SELECT 1", resourceArn=OTHER)["records"] == [[{"longValue": 1}]], "other clusters run"
    clock.now += 0.1
    assert names(api) == ["before the pause"]
    assert execute(api, "SELECT 1")["records"] == [[{"longValue": 1}]]


def test_a_cluster_with_an_open_transaction_does_not_pause(api):
    transaction = begin(api)
    with pytest.raises(RuntimeError, match="has an open transaction"):
        api.pause(CLUSTER, instance="db-WRITER")
    assert end(api, "CommitTransaction", transaction) == {"transactionStatus": COMMITTED}


def test_a_writer_down_is_unavailable_its_transactions_lost_and_its_data_kept(api):
    execute(api, "INSERT INTO items (name) VALUES ('kept')")
    transaction = begin(api)
    with api.down(CLUSTER):
        assert refused(api, "ExecuteStatement", sql="SELECT 1") == UNAVAILABLE
        assert refused(api, "BeginTransaction") == UNAVAILABLE
    assert names(api) == ["kept"]
    assert refused(api, "CommitTransaction", transactionId=transaction)[0] == "TransactionNotFoundException"


# Through boto3 and moto ---------------------------------------------------------------------------------------------


@pytest.fixture
def wire(api: DataApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Hooks]]:
    """A boto3 rds-data client whose requests reach the local Data API through moto, as in the local cloud."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    hooks = Hooks(runtime=None, entrypoints={}, scratch=str(tmp_path), authorizer=None, data_api=api)  # type: ignore[arg-type]
    with mock_aws(), adaptations.applied(hooks):
        yield boto3.client("rds-data", region_name=REGION), hooks


def test_the_data_api_answers_boto3_in_its_wire_format(wire):
    client, hooks = wire
    target = {"resourceArn": CLUSTER, "secretArn": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:master",
              "database": DATABASE}  # fmt: skip
    transaction = client.begin_transaction(**target)["transactionId"]
    client.execute_statement(**target, transactionId=transaction, sql="INSERT INTO items (name) VALUES (:n)",
                             parameters=[{"name": "n", "value": {"stringValue": "wired"}}])  # fmt: skip
    assert client.commit_transaction(**{k: target[k] for k in ("resourceArn", "secretArn")},
                                     transactionId=transaction)["transactionStatus"] == COMMITTED  # fmt: skip
    answer = client.execute_statement(**target, sql="SELECT name, '\\x0a0b'::bytea FROM items", parameters=[
        {"name": "unused", "value": {"longValue": 1}}])  # fmt: skip
    assert answer["records"] == [[{"stringValue": "wired"}, {"blobValue": b"\n\x0b"}]]
    with pytest.raises(ClientError) as raised:
        client.execute_statement(**target, sql="SELECT nothing")
    assert raised.value.response["Error"]["Code"] == "DatabaseErrorException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert raised.value.response["Error"]["Message"].startswith('ERROR: column "nothing" does not exist')
    with pytest.raises(client.exceptions.TransactionNotFoundException):
        client.rollback_transaction(resourceArn=CLUSTER, secretArn=target["secretArn"], transactionId=transaction)
    recorded = [(call.sql[:6], call.problems, call.error is None, call.transaction_id is not None)
                for call in hooks.data_api_calls]  # fmt: skip
    assert recorded == [
        ("INSERT", (), True, True),
        ("SELECT", ("parameters ['unused'] are not placeholders of the SQL",), True, False),
        ("SELECT", (), False, False),
    ]


def test_a_paused_cluster_and_a_writer_down_answer_boto3_with_the_models_exceptions_and_status(wire, api):
    # No SDK retries: botocore retries a 504 with backoff, which would only slow this down.
    client = boto3.client("rds-data", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
    secret = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:master"
    api.pause(CLUSTER, instance="db-WRITER")
    with pytest.raises(client.exceptions.DatabaseResumingException) as resuming:
        client.execute_statement(resourceArn=CLUSTER, secretArn=secret, sql="SELECT 1")
    with api.down(OTHER), pytest.raises(client.exceptions.DatabaseUnavailableException) as unavailable:
        client.execute_statement(resourceArn=OTHER, secretArn=secret, sql="SELECT 1")
    answers = [raised.value.response for raised in (resuming, unavailable)]
    answered = [(a["Error"]["Code"], a["Error"]["Message"], a["ResponseMetadata"]["HTTPStatusCode"]) for a in answers]
    assert answered == [(*RESUMING, 400), (*UNAVAILABLE, 504)]
