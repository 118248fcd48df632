"""The RDS Data API, served by the local cloud's embedded PostgreSQL (emulator/postgres.py): ExecuteStatement,
BatchExecuteStatement, BeginTransaction, CommitTransaction and RollbackTransaction for a deployed cluster, run on the
cluster's own database as the login its secret names. The driver (psycopg 3) does the SQL; this package translates
the Data API's requests (statements.py) and answers (results.py, errors.py), and keeps its transactions and
connections (service.py).

What it does as the Data API does, and where that is written (AWS's documentation unless said otherwise):

- The cluster: an ARN that is not a deployed cluster, or a cluster without the HTTP endpoint, is answered
  `HttpEndpointNotEnabledException` ("HttpEndpoint is not enabled for resource <arn>": the message AWS gives for a
  cluster that does not exist, too, as reported by users).
- The secret: read from the emulator's Secrets Manager; a secret that cannot be read (missing, no value) is
  `SecretsErrorException`, one without a string `username` and `password` is `InvalidSecretException` (the API
  reference's error list). The login is a real PostgreSQL login: a password the database refuses, or a database that
  does not exist, is the database's error (below). No `database` means the database named like the user, as
  PostgreSQL's default (what AWS does: aws/aws-cli#8577).
- SQL: one statement per call (ExecuteStatement has no multi-statement form; a second statement is PostgreSQL's
  "cannot insert multiple commands into a prepared statement"). Named `:name` placeholders, outside literals,
  quoted identifiers, comments and dollar quotes (`::` is a cast), each bound to its parameter's typed value:
  `stringValue` as `varchar` (so a string into a `uuid` or `jsonb` column needs a cast or a type hint, as with the
  Data API's JDBC binding), `longValue` as `bigint`, `doubleValue` as `double precision`, `booleanValue`,
  `blobValue` as `bytea`, `isNull` as an untyped NULL; a `typeHint` sends a `stringValue` as DATE (`YYYY-MM-DD`),
  TIME (`HH:MM:SS[.FFF]`), TIMESTAMP (`YYYY-MM-DD HH:MM:SS[.FFF]`; an ISO `T` or `Z` is refused), UUID, JSON or
  DECIMAL (SqlParameter). A placeholder without a parameter, a parameter without a value, or an `arrayValue`
  parameter is `BadRequestException`.
- A statement the database refuses is `DatabaseErrorException` with the database's message as the Data API words it,
  `ERROR: <message>[\\n  Position: <n>]; SQLState: <code>` (reported by users of Aurora Serverless v2,
  aws/aws-cli#8577 and cloud-utils/aurora-data-api#53; the API reference marks BadRequestException, the older
  answer, deprecated); the statement timeout (45 s) is `StatementTimeoutException`.
- Results (ExecuteStatement, "Data API data types" and "Processing query results in JSON format"): `records` of
  typed fields (`longValue` for int2/int4/int8, `doubleValue` for real/double, `booleanValue`, `blobValue` for bytea,
  `stringValue` for text, numeric, date and time types, uuid, json, inet and enums, `arrayValue` for one-dimensional
  arrays, `isNull`); `timestamptz` in UTC; `resultSetOptions` (`decimalReturnType`, `longReturnType`);
  `includeResultMetadata` adds `columnMetadata`; `formatRecordsAs: JSON` gives `formattedRecords` (one JSON object
  per row, keyed by column label) instead of `records`; a type the Data API does not support, or a
  multidimensional array, is `UnsupportedResultException`. `numberOfRecordsUpdated` is the rows an INSERT, UPDATE,
  DELETE or MERGE touched (0 otherwise); `generatedFields` is always empty (not supported for Aurora PostgreSQL: use
  RETURNING).
- Transactions (BeginTransaction): a transaction runs every statement that names its id, on one connection, until
  CommitTransaction ("Transaction Committed") or RollbackTransaction ("Rollback Complete"); after three minutes
  without a call, or 24 hours in all, it is rolled back. An id that is unknown, ended or timed out, or that belongs
  to another cluster, is `TransactionNotFoundException`. A statement outside a transaction commits on its own.
- A paused cluster (`DataApi.pause`, as Aurora Serverless v2 auto-pauses at 0 ACUs): the next request is
  answered `DatabaseResumingException` (HTTP 400: "A request was cancelled because the Aurora Serverless DB
  instance was paused. The Data API request automatically resumes the DB instance. Wait a few seconds and try
  again", the rds-data model) and starts the resume, and so is every request until the resume has ended (AWS: "up
  to 15 seconds", `RESUME_SECONDS` unless told); the message is the one users quote, naming the writer's resource
  id. A cluster with an open transaction does not pause (Aurora pauses an instance without connections).
- A writer down (`DataApi.down`: its server stopped, its transactions lost): `DatabaseUnavailableException`, HTTP
  504, "The writer instance in the DB cluster isn't available" (the model's description; AWS documents no message).
- BatchExecuteStatement runs the statement once per parameter set (none with no set), in the caller's transaction
  or in one of its own, and answers one `updateResults` entry per set.

Where AWS documents no answer, the choice made here (where it matters, the stricter one: a local run should not
pass what AWS might refuse): a hinted string out of format, a missing placeholder value and an array parameter are
`BadRequestException` with messages of this emulator's wording; committing a transaction in which a statement failed
is `DatabaseErrorException` (SQLState 25P02) and ends it, rolled back; a `database` given inside a transaction is the
transaction's; a batch outside a transaction is all or nothing; `void` results are null. Calls outside a
transaction share pooled connections per login and database, each reset (DISCARD ALL) before it is reused.

Not emulated: `continueAfterTimeout` (a statement runs to its end), `schema`, the 1 MiB response and 64 KB row
limits, and the `columnMetadata` details JDBC would compute beyond name, label, type, precision, scale,
nullability, table and schema.
"""

from emulator.dataapi.errors import ERROR_STATUS, DataApiError
from emulator.dataapi.service import COMMITTED, OPERATIONS, RESUME_SECONDS, ROLLED_BACK, DataApi
from emulator.dataapi.statements import bind, translate

__all__ = [
    "COMMITTED",
    "ERROR_STATUS",
    "OPERATIONS",
    "RESUME_SECONDS",
    "ROLLED_BACK",
    "DataApi",
    "DataApiError",
    "bind",
    "translate",
]
