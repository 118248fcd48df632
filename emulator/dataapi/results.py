"""A result as the Data API answers it: typed `records` (or `formattedRecords` in JSON), `columnMetadata`,
`numberOfRecordsUpdated`, from what psycopg read of PostgreSQL's result."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.adapt import AdaptersMap
from psycopg.types.string import TextLoader

from emulator.dataapi.errors import DataApiError

__all__ = ["Options", "register_loaders", "result", "updated"]

_AS_TEXT = ("text", "varchar", "bpchar", "name", "date", "time", "timestamp", "uuid", "json", "jsonb", "inet",
            "cidr")  # fmt: skip
"""Types answered as `stringValue`: PostgreSQL's text output (dates and times in ISO)."""
_LONG = ("int2", "int4", "int8")
_DOUBLE = ("float4", "float8")
_SCALARS = {**dict.fromkeys(_AS_TEXT, "string"), **dict.fromkeys(_LONG, "long"), **dict.fromkeys(_DOUBLE, "double"),
            "timestamptz": "utc", "bool": "boolean", "bytea": "blob", "numeric": "decimal", "void": "void"}  # fmt: skip
"""PostgreSQL type -> the kind of field the Data API answers it as; any other type is unsupported."""
_ARRAY_ELEMENTS = {"string": "stringValues", "utc": "stringValues", "long": "longValues", "double": "doubleValues",
                   "boolean": "booleanValues", "decimal": "stringValues"}  # fmt: skip
_JDBC_TYPES = {"int2": 5, "int4": 4, "int8": -5, "float4": 7, "float8": 8, "numeric": 2, "bool": -7, "bytea": -2,
               "bpchar": 1, "varchar": 12, "text": 12, "name": 12, "date": 91, "time": 92,
               "timestamp": 93, "timestamptz": 93}  # fmt: skip
"""java.sql.Types of each type as the PostgreSQL JDBC driver reports it (anything else is OTHER, 1111)."""
_JDBC_OTHER, _JDBC_ARRAY = 1111, 2003


def register_loaders(adapters: AdaptersMap) -> None:
    """Every type the Data API answers as a string, loaded as PostgreSQL's own text for it."""
    for type_name in (*_AS_TEXT, "timestamptz", "numeric"):
        adapters.register_loader(type_name, TextLoader)


@dataclass(frozen=True)
class _Type:
    name: str
    kind: str | None
    """What field the Data API answers it as (None: unsupported); for an array, its elements'."""
    array: bool = False


def _builtin_type(oid: int) -> _Type | None:
    info = psycopg.postgres.types.get(oid)
    if info is None:
        return None
    if info.oid == oid:
        return _Type(info.name, _SCALARS.get(info.name))
    kind = _SCALARS.get(info.name)
    return _Type(f"_{info.name}", kind if kind in _ARRAY_ELEMENTS else None, array=True)


def _types(connection: psycopg.Connection[Any], oids: Sequence[int]) -> dict[int, _Type]:
    """Each result column's type: the built-in ones from psycopg's registry, the others (enums, domains, arrays of
    them) from the database's catalog."""
    found = {oid: known for oid in oids if (known := _builtin_type(oid)) is not None}
    unknown = sorted(set(oids) - set(found))
    if unknown:
        rows = connection.execute(
            "SELECT t.oid, t.typname, t.typtype, t.typbasetype, e.typname, e.typtype FROM pg_type t "
            "LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' WHERE t.oid = ANY(%s)",
            [unknown],
        ).fetchall()
        for oid, name, kind, base, element, element_kind in rows:
            if element is not None:
                found[oid] = _Type(name, "string" if element_kind == "e" else None, array=True)
            elif kind == "e" or name == "void":
                found[oid] = _Type(name, "string" if kind == "e" else "void")
            elif kind == "d" and (base_type := _builtin_type(base)) is not None:
                found[oid] = _Type(name, base_type.kind, base_type.array)
            else:
                found[oid] = _Type(name, None)
    return found


@dataclass(frozen=True)
class Options:
    json: bool = False
    metadata: bool = False
    long_as_string: bool = False
    decimal_as_number: bool = False

    @classmethod
    def of(cls, request: Mapping[str, Any]) -> Options:
        result_set = request.get("resultSetOptions") or {}
        return cls(json=request.get("formatRecordsAs") == "JSON", metadata=bool(request.get("includeResultMetadata")),
                   long_as_string=result_set.get("longReturnType") == "STRING",
                   decimal_as_number=result_set.get("decimalReturnType") == "DOUBLE_OR_LONG")  # fmt: skip


def _field(value: Any, kind: str, options: Options) -> dict[str, Any]:
    if value is None:
        return {"isNull": True}
    if kind == "long":
        return {"stringValue": str(value)} if options.long_as_string else {"longValue": int(value)}
    if kind == "double":
        return {"doubleValue": float(value)}
    if kind == "boolean":
        return {"booleanValue": bool(value)}
    if kind == "blob":
        return {"blobValue": base64.b64encode(bytes(value)).decode("ascii")}
    if kind == "decimal" and options.decimal_as_number:
        # DOUBLE_OR_LONG: "a Long value if its scale is 0, or ... a Double value otherwise" (ResultSetOptions)
        return {"longValue": int(value)} if re.fullmatch(r"-?\d+", value) else {"doubleValue": float(Decimal(value))}
    if kind == "void":
        return {"isNull": True}
    if kind == "utc":
        # The session runs in UTC, so PostgreSQL writes `+00`: the Data API answers timestamptz in UTC, without it.
        return {"stringValue": str(value).removesuffix("+00")}
    return {"stringValue": str(value)}


def _array(values: list[Any], kind: str, options: Options) -> dict[str, Any]:
    if any(isinstance(item, list) for item in values):
        raise DataApiError("UnsupportedResultException", "The result contains a multidimensional array")
    member = _ARRAY_ELEMENTS[kind]
    if kind == "long" and options.long_as_string:
        member = "stringValues"
    converted = [None if item is None else next(iter(_field(item, kind, options).values())) for item in values]
    return {"arrayValue": {member: converted}}


def _json_value(value: Any, kind: _Type, options: Options) -> Any:
    """A value of `formattedRecords`: numbers, booleans, strings (base64 for binary), null, arrays."""
    if value is None:
        return None
    if kind.array:
        return [None if item is None else _json_value(item, _Type(kind.name, kind.kind), options) for item in value]
    return next(iter(_field(value, kind.kind or "", options).values()))


def result(
    connection: psycopg.Connection[Any], cursor: psycopg.RawCursor[Any], rows: list[tuple[Any, ...]], options: Options
) -> dict[str, Any]:
    """`records` (with `columnMetadata` if asked) or `formattedRecords`; UnsupportedResultException for a column of
    a type the Data API does not answer."""
    columns = cursor.description or []
    types = _types(connection, [column.type_code for column in columns])
    kinds = [types[column.type_code] for column in columns]
    for column, kind in zip(columns, kinds, strict=True):
        if kind.kind is None:
            raise DataApiError(
                "UnsupportedResultException",
                f"The result contains the unsupported data type {kind.name} (column {column.name})",
            )
    if options.json:
        labels = [column.name for column in columns]
        records = [{label: _json_value(value, kind, options) for label, value, kind in zip(labels, row, kinds,
                                                                                         strict=True)}
                   for row in rows]  # fmt: skip
        return {"formattedRecords": json.dumps(records, separators=(",", ":"), ensure_ascii=False)}
    answer: dict[str, Any] = {"records": [[_typed(value, kind, options) for value, kind in zip(row, kinds, strict=True)]
                                          for row in rows]}  # fmt: skip
    if options.metadata:
        answer["columnMetadata"] = _metadata(connection, cursor, kinds)
    return answer


def _typed(value: Any, kind: _Type, options: Options) -> dict[str, Any]:
    if kind.array and value is not None:
        return _array(value, kind.kind or "", options)
    return _field(value, kind.kind or "", options)


def updated(cursor: psycopg.RawCursor[Any]) -> int:
    command = (cursor.statusmessage or "").split(" ", 1)[0]
    return max(cursor.rowcount, 0) if command in ("INSERT", "UPDATE", "DELETE", "MERGE") else 0


def _metadata(
    connection: psycopg.Connection[Any], cursor: psycopg.RawCursor[Any], kinds: list[_Type]
) -> list[dict[str, Any]]:
    """columnMetadata: name and label, the JDBC type and PostgreSQL's type name, precision and scale, and, for a
    column of a table, its table, schema, nullability and whether it is generated (serial or identity)."""
    pgresult = cursor.pgresult
    assert pgresult is not None
    origins = {(pgresult.ftable(index), pgresult.ftablecol(index)) for index in range(pgresult.nfields)} - {(0, 0)}
    tables: dict[tuple[int, int], tuple[str, str, bool, bool]] = {}
    if origins:
        query = ("SELECT a.attrelid, a.attnum, c.relname, n.nspname, a.attnotnull, a.attidentity <> '' OR "
                 "coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%%' FROM pg_attribute a "
                 "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                 "WHERE (a.attrelid, a.attnum) IN (SELECT * FROM unnest(%s::oid[], %s::int2[]))")  # fmt: skip
        relations, numbers = zip(*sorted(origins), strict=True)
        for relation, number, table, schema, not_null, generated in connection.execute(
            query, [list(relations), list(numbers)]
        ):
            tables[(relation, number)] = (table, schema, not_null, generated)
    metadata = []
    for index, (column, kind) in enumerate(zip(cursor.description or [], kinds, strict=True)):
        table, schema, not_null, generated = tables.get((pgresult.ftable(index), pgresult.ftablecol(index)),
                                                        ("", "", False, False))  # fmt: skip
        base = kind.name.removeprefix("_") if kind.array else kind.name
        numeric = kind.kind in ("long", "double", "decimal")
        metadata.append({
            "name": column.name, "label": column.name,
            "type": _JDBC_ARRAY if kind.array else _JDBC_TYPES.get(kind.name, _JDBC_OTHER),
            "typeName": kind.name,
            "arrayBaseColumnType": _JDBC_TYPES.get(base, _JDBC_OTHER) if kind.array else 0,
            "precision": (column.precision or column.internal_size or 0) if numeric else (column.display_size or 0),
            "scale": column.scale or 0,
            "nullable": 0 if not_null else 1,
            "isSigned": numeric, "isCurrency": False, "isCaseSensitive": kind.kind == "string",
            "isAutoIncrement": generated, "schemaName": schema, "tableName": table,
        })  # fmt: skip
    return metadata
