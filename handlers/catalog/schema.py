"""The catalog's schema as ordered migrations, and the statement the workflow runs to record a processed image.

Rules for every SQL text here, because the RDS Data API runs them: one statement per text (the Data API refuses
several in one call), no trailing semicolon, named parameters written ``:name``. A migration is a tuple of such
statements, applied in one transaction (PostgreSQL DDL is transactional) and recorded in ``schema_migrations``.
Never edit a migration once deployed: add the next one.

Typed values are cast in the SQL (``CAST(:exif AS jsonb)``) rather than with the Data API's type hints, so the
workflow can send every value as a plain string or number, and ISO 8601 timestamps with a ``T`` and ``Z`` (which the
``TIMESTAMP`` hint would refuse) work as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BOOKKEEPING_SQL",
    "CATALOG_WRITER",
    "INSERT_IMAGE_PARAMETERS",
    "INSERT_IMAGE_SQL",
    "LOCK_MIGRATIONS_SQL",
    "LOGIN_ROLES",
    "MIGRATIONS",
    "RECORD_MIGRATION_SQL",
    "SELECT_APPLIED_SQL",
    "SELECT_VERSION_SQL",
    "Migration",
    "login_secret_variable",
    "set_login_password_sql",
]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


BOOKKEEPING_SQL = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
"""Created, if missing, before anything else: it records which migrations have been applied."""
SELECT_APPLIED_SQL = "SELECT version FROM schema_migrations ORDER BY version"
LOCK_MIGRATIONS_SQL = "LOCK TABLE schema_migrations IN EXCLUSIVE MODE"
"""Taken first in each migration's transaction: two concurrent runs apply a migration once, one after the other."""
SELECT_VERSION_SQL = "SELECT version FROM schema_migrations WHERE version = :version"
RECORD_MIGRATION_SQL = "INSERT INTO schema_migrations (version, description) VALUES (:version, :description)"

CATALOG_WRITER = "catalog_writer"
"""The login role the workflows' catalog insert runs as (through the Data API, with a secret of its own), instead of
the cluster's master user."""
LOGIN_ROLES = (CATALOG_WRITER,)
"""Roles the migrations create with LOGIN. The migration function gives each one its password, from the secret
named by its `<ROLE>_SECRET_ARN` environment variable (catalog/logins.py), after the migrations have run."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "images table",
        (
            """CREATE TABLE images (
    object_key text NOT NULL,
    version_tag text NOT NULL,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    format text NOT NULL,
    width integer NOT NULL CHECK (width > 0),
    height integer NOT NULL CHECK (height > 0),
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    exif jsonb NOT NULL DEFAULT '{}'::jsonb,
    route text NOT NULL CHECK (route IN ('lambda', 'fargate')),
    processed_at timestamptz NOT NULL,
    PRIMARY KEY (object_key, version_tag)
)""",
            "COMMENT ON TABLE images IS 'One row per processed upload: an object key and the version of it processed'",
        ),
    ),
    Migration(
        2,
        "find images by content and by recency",
        (
            "CREATE INDEX images_sha256_idx ON images (sha256)",
            "CREATE INDEX images_processed_at_idx ON images (processed_at DESC)",
        ),
    ),
    Migration(
        3,
        "catalog_writer: the login the workflows insert images with",
        (
            # Roles are cluster-wide and CREATE ROLE has no IF NOT EXISTS: a restored or hand-prepared cluster may
            # have the role already. It gets no password here: the migration function sets it from its secret.
            """DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'catalog_writer') THEN
        CREATE ROLE catalog_writer LOGIN;
    END IF;
END
$$""",
            # The database's name is the deployment's choice (ServerlessDatabaseArgs.database_name), not the code's.
            """DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO catalog_writer', current_database());
END
$$""",
            "GRANT USAGE ON SCHEMA public TO catalog_writer",
            "GRANT INSERT, UPDATE ON TABLE images TO catalog_writer",
            # INSERT_IMAGE_SQL's ON CONFLICT reads columns, and PostgreSQL wants SELECT on each one it reads: the
            # conflict target's, every column whose EXCLUDED value the update uses, and those its WHERE compares
            # (the INSERT page: "Description" and "ON CONFLICT Clause"). Here that is every column; granted one by
            # one, so that a column added later is not readable unless a migration says so.
            "GRANT SELECT (object_key, version_tag, sha256, format, width, height, size_bytes, exif, route, "
            "processed_at) ON TABLE images TO catalog_writer",
        ),
    ),
)

INSERT_IMAGE_SQL = """INSERT INTO images (
    object_key, version_tag, sha256, format, width, height, size_bytes, exif, route, processed_at
) VALUES (
    :object_key, :version_tag, :sha256, :format, :width, :height, :size_bytes,
    CAST(:exif AS jsonb), :route, CAST(:processed_at AS timestamptz)
)
ON CONFLICT (object_key, version_tag) DO UPDATE SET
    sha256 = EXCLUDED.sha256,
    format = EXCLUDED.format,
    width = EXCLUDED.width,
    height = EXCLUDED.height,
    size_bytes = EXCLUDED.size_bytes,
    exif = EXCLUDED.exif,
    route = EXCLUDED.route,
    processed_at = EXCLUDED.processed_at
WHERE images.processed_at <= EXCLUDED.processed_at"""
"""Idempotent: a retried insert of the same upload version rewrites the same row, and a late retry of an older
processing never overwrites a newer one. ``exif`` is JSON text, ``processed_at`` ISO 8601."""
INSERT_IMAGE_PARAMETERS = ("object_key", "version_tag", "sha256", "format", "width", "height", "size_bytes", "exif",
                           "route", "processed_at")  # fmt: skip
"""The names the workflow sends, in the order the SQL uses them: the tests hold the SQL to this tuple."""

LOGIN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCRAM_VERIFIER = re.compile(r"SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*")


def set_login_password_sql(role: str, verifier: str) -> str:
    """`ALTER ROLE` with a SCRAM-SHA-256 verifier, never a clear password: PostgreSQL stores a verifier as it is, and
    the cluster logs every DDL statement (`log_statement = ddl`). A utility statement takes no bind parameters, so
    both values are checked against their exact grammar before they are put in the text."""
    if not LOGIN_NAME.fullmatch(role):
        raise ValueError(f"role name {role!r} is not a lowercase PostgreSQL identifier")
    if not SCRAM_VERIFIER.fullmatch(verifier):
        raise ValueError("the password must be a SCRAM-SHA-256 verifier: SCRAM-SHA-256$<iterations>:<salt>$<keys>")
    return f"ALTER ROLE {role} WITH LOGIN PASSWORD '{verifier}'"


def login_secret_variable(role: str) -> str:
    """The migration function's variable naming `role`'s secret: `catalog_writer` -> `CATALOG_WRITER_SECRET_ARN`."""
    return f"{role.upper()}_SECRET_ARN"


def _check(migrations: tuple[Migration, ...]) -> None:
    versions = [migration.version for migration in migrations]
    if versions != list(range(1, len(migrations) + 1)):
        raise ValueError(f"migration versions must be 1, 2, 3, ... in order with no gaps; found {versions}")
    trailing = [m.version for m in migrations if any(s.rstrip().endswith(";") for s in m.statements)]
    if trailing:
        raise ValueError(f"migrations {trailing} end a statement with ';'; the Data API runs one statement per call")


_check(MIGRATIONS)
