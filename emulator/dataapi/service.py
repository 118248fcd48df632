"""The Data API's operations on the clusters added to it: each request's cluster (paused or not), secret and login,
the statement's connection (its transaction's, or one of its own), and the transactions' lifetimes; and what the
local cloud does to a cluster (pause it, take its writer down)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import AdaptersMap

from emulator.dataapi.errors import DataApiError, connection_error, database_error, resuming
from emulator.dataapi.results import Options, register_loaders, result, updated
from emulator.dataapi.statements import bind, register_dumpers
from emulator.postgres import EmbeddedPostgres

__all__ = ["COMMITTED", "OPERATIONS", "ROLLED_BACK", "DataApi"]

IDLE_TIMEOUT_SECONDS = 180.0
"""BeginTransaction: "A transaction times out if no calls use its transaction ID in three minutes"."""
MAX_TRANSACTION_SECONDS = 24 * 3600.0
"""BeginTransaction: "A transaction can run for a maximum of 24 hours"."""
STATEMENT_TIMEOUT_SECONDS = 45
""""By default, the Data API cancels an operation ... if [it] doesn't finish processing within 45 seconds"."""
STATEMENT_TIMEOUT_OPTION = f"-c statement_timeout={STATEMENT_TIMEOUT_SECONDS}s"
IDLE_CONNECTIONS_PER_LOGIN = 16
"""Connections kept open between calls, per login and database."""
RESUME_SECONDS = 15.0
"""How long a paused cluster takes to resume unless told: "It can take up to 15 seconds for the database to resume"
(AWS Database Blog, "Introducing scaling to 0 capacity with Amazon Aurora Serverless v2")."""
COMMITTED = "Transaction Committed"
ROLLED_BACK = "Rollback Complete"
OPERATIONS = ("ExecuteStatement", "BatchExecuteStatement", "BeginTransaction", "CommitTransaction",
              "RollbackTransaction")  # fmt: skip


def _adapters() -> AdaptersMap:
    adapters = AdaptersMap(psycopg.adapters)
    register_dumpers(adapters)
    register_loaders(adapters)
    return adapters


ADAPTERS = _adapters()
"""How values cross to and from PostgreSQL for the Data API (statements.py, results.py)."""


@dataclass
class _Pause:
    """A cluster paused at 0 ACUs: the first request starts its resume, which ends `seconds` later."""

    instance: str
    """The writer's resource id (`db-...`), which DatabaseResumingException names."""
    seconds: float
    resumed_at: float | None = None
    """When the resume ends (the Data API's clock), once a request has started it."""


@dataclass
class _Cluster:
    arn: str
    server: EmbeddedPostgres
    http_endpoint: bool
    pause: _Pause | None = None


@dataclass
class _Transaction:
    id: str
    cluster_arn: str
    connection: psycopg.Connection[Any]
    started: float
    last_used: float
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class _Login:
    username: str
    password: str


_PoolKey = tuple[str, str, str, str]
"""(cluster ARN, username, password, database): who a pooled connection is logged in as, and where."""


class DataApi:
    """The Data API of the clusters added to it. `read_secret(arn_or_name)` returns a secret's current string value
    or raises LookupError (the emulator's Secrets Manager, read as the Data API reads it). `clock` measures the
    transactions' timeouts (time.monotonic)."""

    def __init__(self, read_secret: Callable[[str], str], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._read_secret = read_secret
        self._clock = clock
        self._clusters: dict[str, _Cluster] = {}
        self._transactions: dict[str, _Transaction] = {}
        self._idle: dict[_PoolKey, list[psycopg.Connection[Any]]] = {}
        self._lock = threading.Lock()

    def add_cluster(self, arn: str, server: EmbeddedPostgres, *, http_endpoint: bool) -> None:
        """Serve the cluster `arn` from `server` (which `close` stops); without the HTTP endpoint it is refused."""
        self._clusters[arn] = _Cluster(arn, server, http_endpoint)

    def server(self, arn: str) -> EmbeddedPostgres:
        """The embedded server a deployed cluster runs on."""
        return self._clusters[arn].server

    @property
    def transactions(self) -> list[str]:
        """The ids of the transactions open now (after timing out those due)."""
        with self._lock:
            self._expire()
            return list(self._transactions)

    def end_transactions(self, arn: str | None = None) -> None:
        """Roll back every open transaction (of the cluster `arn` only, when given), closing its connection."""
        with self._lock:
            ending = [t for t in self._transactions.values() if arn is None or t.cluster_arn == arn]
            for transaction in ending:
                del self._transactions[transaction.id]
        for transaction in ending:
            _close(transaction.connection)

    def close(self) -> None:
        """Roll back every open transaction, close the idle connections, then stop every cluster's server (its data
        is removed)."""
        self.end_transactions()
        self._close_idle()
        for cluster in self._clusters.values():
            cluster.server.close()

    # The cluster's state

    def pause(self, arn: str, *, instance: str, resume_seconds: float = RESUME_SECONDS) -> None:
        """Pause the cluster as Aurora Serverless v2 auto-pauses at 0 ACUs: the next request is answered
        DatabaseResumingException and starts the resume ("The Data API request automatically resumes the DB
        instance. Wait a few seconds and try again": the rds-data model), and so is every request until
        `resume_seconds` later; then statements run. `instance` is the writer's resource id, which the answer
        names. Aurora pauses an instance only when no connection is open ("Scaling to Zero ACUs with automatic
        pause and resume"): a cluster with an open transaction is refused (RuntimeError), and pooled connections
        are closed."""
        with self._lock:
            self._expire()
            if any(transaction.cluster_arn == arn for transaction in self._transactions.values()):
                raise RuntimeError(f"{arn} has an open transaction: Aurora does not pause an instance in use")
            self._clusters[arn].pause = _Pause(instance, resume_seconds)
        self._close_idle(arn)

    @contextmanager
    def down(self, arn: str) -> Iterator[None]:
        """The cluster's writer down for the duration, then up again with its data: its server stopped, its
        transactions rolled back and its connections closed. Meanwhile every statement is answered
        DatabaseUnavailableException ("The writer instance in the DB cluster isn't available")."""
        server = self._clusters[arn].server
        self.end_transactions(arn)
        self._close_idle(arn)
        server.stop()
        try:
            yield
        finally:
            server.restart()

    def call(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """One Data API operation (`ExecuteStatement`, ...) with the request's JSON members; DataApiError for an
        error answer."""
        handler = {
            "ExecuteStatement": self.execute_statement,
            "BatchExecuteStatement": self.batch_execute_statement,
            "BeginTransaction": self.begin_transaction,
            "CommitTransaction": self.commit_transaction,
            "RollbackTransaction": self.rollback_transaction,
        }.get(operation)
        if handler is None:
            raise DataApiError("BadRequestException", f"{operation} is not an operation of the local Data API")
        return handler(request)

    # Operations

    def execute_statement(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self._cluster(request)
        sql, values = bind(str(request.get("sql", "")), request.get("parameters") or [])
        options = Options.of(request)
        with self._connection(request) as connection:
            return self._run(connection, sql, values, options)

    def batch_execute_statement(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self._cluster(request)
        sql = str(request.get("sql", ""))
        statements = [bind(sql, parameters) for parameters in request.get("parameterSets") or []]
        if not statements:
            return {"updateResults": []}
        with self._connection(request, batch=True) as connection:
            for sql, values in statements:
                self._run(connection, sql, values, Options())
        return {"updateResults": [{"generatedFields": []} for _ in statements]}

    def begin_transaction(self, request: Mapping[str, Any]) -> dict[str, Any]:
        cluster = self._cluster(request)
        connection = self._connect(cluster, request)
        try:
            connection.execute("BEGIN")
        except psycopg.Error as error:
            _close(connection)
            raise database_error(error) from error
        now = self._clock()
        transaction = _Transaction(secrets.token_urlsafe(96), cluster.arn, connection, now, now)
        with self._lock:
            self._expire()
            self._transactions[transaction.id] = transaction
        return {"transactionId": transaction.id}

    def commit_transaction(self, request: Mapping[str, Any]) -> dict[str, Any]:
        transaction = self._end(request)
        try:
            with transaction.lock:
                if transaction.connection.info.transaction_status == pq.TransactionStatus.INERROR:
                    raise DataApiError("DatabaseErrorException", "ERROR: current transaction is aborted, commands "
                                       "ignored until end of transaction block; SQLState: 25P02")  # fmt: skip
                transaction.connection.execute("COMMIT")
        except psycopg.Error as error:
            raise database_error(error) from error
        finally:
            _close(transaction.connection)
        return {"transactionStatus": COMMITTED}

    def rollback_transaction(self, request: Mapping[str, Any]) -> dict[str, Any]:
        transaction = self._end(request)
        with transaction.lock:
            _close(transaction.connection)
        return {"transactionStatus": ROLLED_BACK}

    # Steps

    def _cluster(self, request: Mapping[str, Any]) -> _Cluster:
        """The request's cluster, once awake (`_wake`)."""
        arn = str(request.get("resourceArn", ""))
        cluster = self._clusters.get(arn)
        if cluster is None or not cluster.http_endpoint:
            raise DataApiError("HttpEndpointNotEnabledException", f"HttpEndpoint is not enabled for resource {arn}")
        self._wake(cluster)
        return cluster

    def _wake(self, cluster: _Cluster) -> None:
        """Nothing for a cluster that is not paused. A paused one: the first request starts the resume, and every
        request is refused until it has ended."""
        with self._lock:
            pause = cluster.pause
            if pause is None:
                return
            now = self._clock()
            if pause.resumed_at is None:
                pause.resumed_at = now + pause.seconds
            elif now >= pause.resumed_at:
                cluster.pause = None
                return
        raise resuming(pause.instance)

    def _login(self, request: Mapping[str, Any]) -> _Login:
        secret = str(request.get("secretArn", ""))
        try:
            text = self._read_secret(secret)
        except LookupError as error:
            raise DataApiError("SecretsErrorException", f"Error fetching secret {secret}: {error}") from error
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("username", "password")):
            raise DataApiError(
                "InvalidSecretException", f"The secret {secret} is not JSON with a string username and password"
            )
        return _Login(value["username"], value["password"])

    def _connect(self, cluster: _Cluster, request: Mapping[str, Any]) -> psycopg.Connection[Any]:
        """A new connection as the request's secret's login, to its database (the one named like the user if
        none)."""
        return self._open(self._key(cluster, request))

    def _key(self, cluster: _Cluster, request: Mapping[str, Any]) -> _PoolKey:
        login = self._login(request)
        return cluster.arn, login.username, login.password, str(request.get("database") or login.username)

    def _open(self, key: _PoolKey) -> psycopg.Connection[Any]:
        arn, username, password, database = key
        try:
            server = self._clusters[arn].server
            # No client-side prepared statements: a pooled connection is reset with DISCARD ALL, which deallocates
            # them on the server, and psycopg (preparing a query it has run five times) would not know.
            return server.connect(username, password, database, context=ADAPTERS, options=STATEMENT_TIMEOUT_OPTION,
                                  prepare_threshold=None)  # fmt: skip
        except psycopg.OperationalError as error:
            raise connection_error(error) from error

    @contextmanager
    def _pooled(self, cluster: _Cluster, request: Mapping[str, Any]) -> Iterator[psycopg.Connection[Any]]:
        """A connection of the request's login for one call: an idle one of the same login and database when there
        is one (reset with DISCARD ALL, so that nothing of the call before it shows), else a new one. The Data API
        keeps a pool of its own; logging in anew for each call would cost each one a SCRAM exchange."""
        key = self._key(cluster, request)
        with self._lock:
            idle = self._idle.get(key, [])
            connection = idle.pop() if idle else None
        if connection is None:
            connection = self._open(key)
        try:
            yield connection
        finally:
            self._release(key, connection)

    def _close_idle(self, arn: str | None = None) -> None:
        """Close the pooled connections (to the cluster `arn` only, when given)."""
        with self._lock:
            keys = [key for key in self._idle if arn is None or key[0] == arn]
            idle = [connection for key in keys for connection in self._idle.pop(key)]
        for connection in idle:
            _close(connection)

    def _release(self, key: _PoolKey, connection: psycopg.Connection[Any]) -> None:
        if connection.closed or connection.info.transaction_status != pq.TransactionStatus.IDLE:
            _close(connection)
            return
        try:
            connection.execute("DISCARD ALL")
        except psycopg.Error:
            _close(connection)
            return
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < IDLE_CONNECTIONS_PER_LOGIN:
                idle.append(connection)
                return
        _close(connection)

    @contextmanager
    def _connection(self, request: Mapping[str, Any], *, batch: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """The transaction's connection when the request names one, else a pooled one for this call (a batch runs
        in a transaction of its own)."""
        transaction_id = request.get("transactionId")
        if transaction_id:
            transaction = self._transaction(request, str(transaction_id))
            try:
                with transaction.lock:
                    yield transaction.connection
            finally:
                transaction.last_used = self._clock()
            return
        with self._pooled(self._cluster(request), request) as connection:
            try:
                if batch:
                    with connection.transaction():
                        yield connection
                else:
                    yield connection
            except psycopg.Error as error:
                raise database_error(error) from error

    def _transaction(self, request: Mapping[str, Any], transaction_id: str) -> _Transaction:
        cluster = self._cluster(request)
        with self._lock:
            self._expire()
            transaction = self._transactions.get(transaction_id)
        if transaction is None or transaction.cluster_arn != cluster.arn:
            raise DataApiError("TransactionNotFoundException", f"Transaction {transaction_id} is not found")
        transaction.last_used = self._clock()
        return transaction

    def _end(self, request: Mapping[str, Any]) -> _Transaction:
        transaction = self._transaction(request, str(request.get("transactionId", "")))
        with self._lock:
            self._transactions.pop(transaction.id, None)
        return transaction

    def _expire(self) -> None:
        """Roll back (close) the transactions idle for three minutes or open for 24 hours. Holds self._lock."""
        now = self._clock()
        for transaction_id, transaction in list(self._transactions.items()):
            idle, age = now - transaction.last_used, now - transaction.started
            if idle >= IDLE_TIMEOUT_SECONDS or age >= MAX_TRANSACTION_SECONDS:
                del self._transactions[transaction_id]
                _close(transaction.connection)

    def _run(
        self, connection: psycopg.Connection[Any], sql: str, values: list[Any], options: Options
    ) -> dict[str, Any]:
        try:
            with psycopg.RawCursor(connection) as cursor:
                cursor.execute(sql, values)
                response: dict[str, Any] = {"numberOfRecordsUpdated": updated(cursor)}
                if cursor.description is None:
                    response["generatedFields"] = []
                    return response
                rows = cursor.fetchall()
                response.update(result(connection, cursor, rows, options))
                return response
        except psycopg.Error as error:
            raise database_error(error) from error


def _close(connection: psycopg.Connection[Any]) -> None:
    """Close a connection; an open transaction on it is rolled back by the server."""
    with suppress(psycopg.Error):
        connection.close()
