"""A small client of the RDS Data API for one cluster and database, which waits out a paused cluster's resume.

A cluster at 0 ACUs answers its first request with ``DatabaseResumingException`` and is ready about 15 seconds
later (30 after a long pause); every call here retries that one error with backoff, within a time budget, and lets
every other error through unchanged. The boto3 client is built on first use and kept at module scope (warm
invocations reuse it), and can be injected (tests, a local runner) with ``set_data_api``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from .errors import ConfigurationError, DatabaseStillResuming

__all__ = ["DataApi", "ResumePolicy", "get_data_api", "set_data_api", "to_field"]

CLUSTER_ARN_ENV = "CLUSTER_ARN"
SECRET_ARN_ENV = "SECRET_ARN"
DATABASE_NAME_ENV = "DATABASE_NAME"
RESUMING = "DatabaseResumingException"

Value = str | int | float | bool | None
Field = dict[str, Any]

logger = Logger(child=True)


@dataclass(frozen=True)
class ResumePolicy:
    """Waits of 2, 3, 4.5, ... seconds, each at most 15, for up to two minutes in all."""

    first_delay_seconds: float = 2.0
    backoff_rate: float = 1.5
    max_delay_seconds: float = 15.0
    give_up_after_seconds: float = 120.0

    def delays(self) -> Iterator[float]:
        delay = self.first_delay_seconds
        while True:
            yield delay
            delay = min(delay * self.backoff_rate, self.max_delay_seconds)


@dataclass(frozen=True)
class DataApi:
    client: BaseClient
    cluster_arn: str
    secret_arn: str
    database: str
    policy: ResumePolicy = field(default_factory=ResumePolicy)
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, session: boto3.Session | None = None
    ) -> DataApi:
        environ = os.environ if environ is None else environ
        # Settings first: a misconfigured function should say so before anything touches AWS.
        cluster_arn = _require(environ, CLUSTER_ARN_ENV)
        secret_arn = _require(environ, SECRET_ARN_ENV)
        database = _require(environ, DATABASE_NAME_ENV)
        client = (session or boto3.Session()).client("rds-data")
        return cls(client=client, cluster_arn=cluster_arn, secret_arn=secret_arn, database=database)

    def within(self, seconds: float) -> DataApi:
        """The same client, waiting for a resume no longer than `seconds` (e.g. the invocation's remaining time)."""
        budget = max(0.0, min(self.policy.give_up_after_seconds, seconds))
        return dataclasses.replace(self, policy=dataclasses.replace(self.policy, give_up_after_seconds=budget))

    def execute(
        self, sql: str, parameters: Mapping[str, Value] | None = None, transaction_id: str | None = None
    ) -> list[list[Field]]:
        """Run one statement; returns its rows as the Data API's fields (e.g. ``[[{"longValue": 1}]]``)."""
        request: dict[str, Any] = {**self._target(), "database": self.database, "sql": sql}
        if parameters:
            request["parameters"] = [{"name": name, "value": to_field(value)} for name, value in parameters.items()]
        if transaction_id:
            request["transactionId"] = transaction_id
        return self._call("execute_statement", request).get("records", [])

    def begin(self) -> str:
        return self._call("begin_transaction", {**self._target(), "database": self.database})["transactionId"]

    def commit(self, transaction_id: str) -> None:
        self._call("commit_transaction", {**self._target(), "transactionId": transaction_id})

    def rollback(self, transaction_id: str) -> None:
        self._call("rollback_transaction", {**self._target(), "transactionId": transaction_id})

    def _target(self) -> dict[str, str]:
        return {"resourceArn": self.cluster_arn, "secretArn": self.secret_arn}

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        waited, attempts, delays = 0.0, 0, self.policy.delays()
        while True:
            attempts += 1
            try:
                return getattr(self.client, operation)(**request)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != RESUMING:
                    raise
                delay = next(delays)
                if waited + delay > self.policy.give_up_after_seconds:
                    raise DatabaseStillResuming(waited, attempts) from error
                logger.info("Aurora cluster is resuming", extra={"attempt": attempts, "waitSeconds": delay})
                self.sleep(delay)
                waited += delay


def to_field(value: Value) -> Field:
    """A Python value as the Data API's Field (bool before int: True is an int in Python)."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


_data_api: DataApi | None = None


def get_data_api() -> DataApi:
    """The injected Data API client, or one built once from the environment."""
    global _data_api
    if _data_api is None:
        _data_api = DataApi.from_environment()
    return _data_api


def set_data_api(data_api: DataApi | None) -> None:
    """Inject a client (tests, a local runner); ``None`` rebuilds it from the environment on next use."""
    global _data_api
    _data_api = data_api


def _require(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise ConfigurationError(name)
    return value
