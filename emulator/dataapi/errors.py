"""The Data API's error answers: the exception shapes the local Data API answers with, and the database's errors
in the Data API's words."""

from __future__ import annotations

import re

import psycopg
from psycopg import errors as pg_errors

__all__ = ["ERROR_STATUS", "DataApiError", "connection_error", "database_error", "resuming"]

ERROR_STATUS = {
    "BadRequestException": 400,
    "DatabaseErrorException": 400,
    "HttpEndpointNotEnabledException": 400,
    "InvalidSecretException": 400,
    "SecretsErrorException": 400,
    "StatementTimeoutException": 400,
    "UnsupportedResultException": 400,
    "DatabaseResumingException": 400,
    "TransactionNotFoundException": 404,
    "DatabaseUnavailableException": 504,
    "InternalServerErrorException": 500,
}
"""HTTP status of each error the local Data API answers, as botocore's rds-data model declares it."""


class DataApiError(Exception):
    """An error answer of the Data API: its code (the model's shape name) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return ERROR_STATUS.get(self.code, 400)


def database_error(error: psycopg.Error) -> DataApiError:
    """The Data API's answer to an error the database returned."""
    if isinstance(error, pg_errors.QueryCanceled) and "statement timeout" in str(error):
        return DataApiError("StatementTimeoutException", f"ERROR: {error.diag.message_primary}; SQLState: 57014")
    if error.sqlstate is None:
        return connection_error(error)
    message = error.diag.message_primary or str(error)
    position = f"\n  Position: {error.diag.statement_position}" if error.diag.statement_position else ""
    return DataApiError("DatabaseErrorException", f"ERROR: {message}{position}; SQLState: {error.sqlstate}")


_LOGIN_ERRORS = (
    (re.compile(r"password authentication failed"), "28P01"),
    (re.compile(r"database .* does not exist"), "3D000"),
    (re.compile(r"is not permitted to log in"), "28000"),
    (re.compile(r"permission denied for database"), "42501"),
    (re.compile(r"too many connections|remaining connection slots"), "53300"),
)  # fmt: skip
"""The SQLSTATE of what the server answers a refused login (libpq reports it as text only)."""


def connection_error(error: psycopg.Error) -> DataApiError:
    """A login the database refused (wrong password, no such database or role), in the Data API's words; a server
    that does not answer (stopped, or gone mid-call) is DatabaseUnavailableException, HTTP 504. AWS documents no
    message for it (its shape has no members): the message is the rds-data model's description of the error."""
    text = str(error)
    if "FATAL:" not in text:
        return DataApiError("DatabaseUnavailableException", "The writer instance in the DB cluster isn't available.")
    message = text.rsplit("FATAL:", 1)[-1].strip()
    state = next((code for pattern, code in _LOGIN_ERRORS if pattern.search(message)), "08001")
    return DataApiError("DatabaseErrorException", f"ERROR: {message}; SQLState: {state}")


def resuming(instance: str) -> DataApiError:
    """A paused cluster's answer until it has resumed (HTTP 400), naming its writer's resource id in the words
    users quote (e.g. tarigelamin1997/jobfetcher#22: "The Aurora DB instance <id> is resuming after being
    auto-paused. Please wait a few seconds and try again.")."""
    return DataApiError(
        "DatabaseResumingException",
        f"The Aurora DB instance {instance} is resuming after being auto-paused. Please wait a few seconds and try "
        "again.",
    )
