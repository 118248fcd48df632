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

from dataclasses import dataclass

__all__ = [
    "BOOKKEEPING_SQL",
    "INSERT_IMAGE_PARAMETERS",
    "INSERT_IMAGE_SQL",
    "LOCK_MIGRATIONS_SQL",
    "MIGRATIONS",
    "RECORD_MIGRATION_SQL",
    "SELECT_APPLIED_SQL",
    "SELECT_VERSION_SQL",
    "Migration",
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


def _check(migrations: tuple[Migration, ...]) -> None:
    versions = [migration.version for migration in migrations]
    if versions != list(range(1, len(migrations) + 1)):
        raise ValueError(f"migration versions must be 1, 2, 3, ... in order with no gaps; found {versions}")
    trailing = [m.version for m in migrations if any(s.rstrip().endswith(";") for s in m.statements)]
    if trailing:
        raise ValueError(f"migrations {trailing} end a statement with ';'; the Data API runs one statement per call")


_check(MIGRATIONS)
