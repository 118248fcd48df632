"""Applies the catalog's pending migrations through the RDS Data API.

Handler string: ``catalog.migrate.handler``. Input: ignored (invoke it after each deployment, by hand or from the
pipeline). Output: ``{"applied": [versions applied by this run], "current": highest version now applied,
"logins": {role: "generated" or "kept"}}``. Environment: ``CLUSTER_ARN``, ``SECRET_ARN`` (the master user's),
``DATABASE_NAME``, and ``<ROLE>_SECRET_ARN`` for each login role of ``schema.LOGIN_ROLES``.

Each migration runs in its own transaction, which first locks ``schema_migrations`` and checks again that the
version is still missing, so a second run at the same moment waits and then skips it. Running it again applies
nothing. A failed migration is rolled back whole and raised as ``MigrationFailed``; the ones before it stay applied.
Then every login role gets the password kept in its secret (catalog/logins.py: made and stored on the first run,
reused after), so that the role and its secret agree however often this runs.
Give the function a timeout of a few minutes: waking a paused cluster alone can take half a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pipeline.tracing import tracer

from .dataapi import DataApi, get_data_api
from .errors import MigrationFailed
from .logins import Outcome, get_logins, provision
from .schema import (
    BOOKKEEPING_SQL,
    LOCK_MIGRATIONS_SQL,
    MIGRATIONS,
    RECORD_MIGRATION_SQL,
    SELECT_APPLIED_SQL,
    SELECT_VERSION_SQL,
    Migration,
)

if TYPE_CHECKING:  # annotations only: importing it costs every cold start for nothing
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
T = TypeVar("T")

SAFETY_MARGIN_SECONDS = 10.0
"""Time kept back from the invocation for the migrations themselves once the cluster is awake."""


class MigrationResult(TypedDict):
    applied: list[int]
    current: int


class DeploymentResult(MigrationResult):
    logins: dict[str, Outcome]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> DeploymentResult:
    logins = get_logins()  # every setting is read before anything touches AWS
    remaining_seconds = context.get_remaining_time_in_millis() / 1000
    api = get_data_api().within(remaining_seconds - SAFETY_MARGIN_SECONDS)
    result = migrate(api)
    return {**result, "logins": provision(api, logins.secrets, logins.roles)}


def migrate(api: DataApi, migrations: Sequence[Migration] = MIGRATIONS) -> MigrationResult:
    """Apply every migration not yet recorded, in version order; return what this run applied."""
    api.execute(BOOKKEEPING_SQL)
    applied = {_version(row) for row in api.execute(SELECT_APPLIED_SQL)}
    ahead = sorted(applied - {migration.version for migration in migrations})
    if ahead:
        logger.warning("The database has migrations this code does not know", extra={"versions": ahead})
    newly: list[int] = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version not in applied and _apply(api, migration):
            newly.append(migration.version)
    current = max(applied | set(newly), default=0)
    logger.info("Catalog schema is current", extra={"applied": newly, "current": current})
    return {"applied": newly, "current": current}


def _apply(api: DataApi, migration: Migration) -> bool:
    """True if this run applied `migration`, False if a concurrent run had just done so."""
    logger.info("Applying migration", extra={"version": migration.version, "description": migration.description})
    transaction = api.begin()
    try:
        _step(migration, "locking schema_migrations", lambda: api.execute(LOCK_MIGRATIONS_SQL, None, transaction))
        version = {"version": migration.version}
        if _step(migration, "checking it again", lambda: api.execute(SELECT_VERSION_SQL, version, transaction)):
            logger.info("Migration applied meanwhile by another run", extra={"version": migration.version})
            _rollback_quietly(api, transaction)
            return False
        count = len(migration.statements)
        for index, sql in enumerate(migration.statements, start=1):
            _step(migration, f"statement {index} of {count}", lambda sql=sql: api.execute(sql, None, transaction))
        record = {"version": migration.version, "description": migration.description}
        _step(migration, "recording it", lambda: api.execute(RECORD_MIGRATION_SQL, record, transaction))
        _step(migration, "commit", lambda: api.commit(transaction))
    except BaseException:
        _rollback_quietly(api, transaction)
        raise
    return True


def _step(migration: Migration, step: str, call: Callable[[], T]) -> T:
    """Run one step of a migration; a Data API error becomes MigrationFailed, saying which step failed."""
    try:
        return call()
    except ClientError as error:
        detail = error.response.get("Error", {})
        reason = f"{detail.get('Code', 'Error')}: {detail.get('Message', error)}"
        raise MigrationFailed(migration.version, migration.description, step, reason) from error


def _rollback_quietly(api: DataApi, transaction: str) -> None:
    """After a failure the transaction may already be gone (a failed commit ends it); the first error matters."""
    try:
        api.rollback(transaction)
    except ClientError as error:
        logger.warning("Rollback failed", extra={"transactionId": transaction, "error": str(error)})


def _version(row: list[dict[str, Any]]) -> int:
    return int(row[0]["longValue"])
