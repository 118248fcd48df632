"""Every SQL text the project ships, found in its code rather than listed by hand, so that a statement added later is
checked without anyone having to remember to list it: each migration's statements, and every module-level string
constant named `*_SQL` in the code that is deployed or run against a stack (`SHIPPED_CODE`: the handlers, the
components, the sample application and its demo). tests/handlers/test_catalog.py reads each one with PostgreSQL's
parser; tests/handlers/test_catalog_sql.py runs each one on PostgreSQL, as the login that runs it.

The constants are read from the source (ast), not imported: importing the application's modules would run Pulumi
programs' code. A `*_SQL` constant that is not one string literal is refused, since its text could not be checked."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from handlers.catalog.schema import MIGRATIONS

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CODE = ("handlers", "components", "app")
SUFFIX = "_SQL"


@dataclass(frozen=True)
class ShippedSql:
    name: str
    """`migration-3.2` (the second statement of migration 3) or the constant's dotted name
    (`handlers.catalog.schema.INSERT_IMAGE_SQL`): the id of a test about it."""
    sql: str


def shipped_sql() -> list[ShippedSql]:
    """Each migration's statements in the order they run, then the constants, by module path."""
    migrations = [ShippedSql(f"migration-{m.version}.{index}", sql)
                  for m in MIGRATIONS for index, sql in enumerate(m.statements, 1)]  # fmt: skip
    return migrations + [constant for path in _sources() for constant in _constants(path)]


def _sources() -> Iterator[Path]:
    for folder in SHIPPED_CODE:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _constants(path: Path) -> Iterator[ShippedSql]:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target, value = _assignment(node)
        if target is None or not target.endswith(SUFFIX):
            continue
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            raise ValueError(f"{module}.{target} is not one string literal: the SQL checks cannot read its text")
        yield ShippedSql(f"{module}.{target}", value.value)


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    """(name, value) of a module-level `NAME = value` or `NAME: type = value`; (None, None) for anything else."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None
