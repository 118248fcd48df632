"""A statement as the Data API takes it, for PostgreSQL: named `:name` placeholders to `$n`, and each parameter's
typed value (and type hint) to a value psycopg sends with the PostgreSQL type the Data API sends it as."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.types.numeric import Int8
from psycopg.types.string import StrDumperVarchar

from emulator.dataapi.errors import DataApiError

__all__ = ["Translated", "bind", "register_dumpers", "translate"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Translated:
    sql: str
    """The statement with PostgreSQL's `$1, $2, ...` for the named placeholders."""
    names: tuple[str, ...]
    """The parameter each `$n` stands for, in order (a name used twice is one `$n`)."""
    statements: int
    """How many statements the text holds (empty ones between semicolons not counted)."""


def translate(sql: str) -> Translated:
    """`:name` placeholders to `$n`, skipping string literals, quoted identifiers, comments, dollar-quoted bodies and
    `::` casts; counts the statements."""
    out: list[str] = []
    names: list[str] = []
    statements, content, index, length = 0, False, 0, len(sql)
    while index < length:
        char = sql[index]
        end = index + 1
        meaningful = not char.isspace()
        if char == "'":
            end = _quoted_end(sql, index, "'", backslashes=_is_escape_string(sql, index))
        elif char == '"':
            end = _quoted_end(sql, index, '"', backslashes=False)
        elif sql.startswith("--", index):
            newline = sql.find("\n", index)
            end, meaningful = (length if newline < 0 else newline), False
        elif sql.startswith("/*", index):
            end, meaningful = _comment_end(sql, index), False
        elif char == "$" and (tag := _DOLLAR_TAG.match(sql, index)) and not _continues_identifier(sql, index):
            closing = sql.find(tag.group(0), tag.end())
            end = length if closing < 0 else closing + len(tag.group(0))
        elif sql.startswith("::", index):
            end = index + 2
        elif char == ":" and (name := _NAME.match(sql, index + 1)):
            if name.group(0) not in names:
                names.append(name.group(0))
            out.append(f"${names.index(name.group(0)) + 1}")
            index, content = name.end(), True
            continue
        elif char == ";":
            statements, content = statements + content, False
            out.append(char)
            index += 1
            continue
        out.append(sql[index:end])
        content = content or meaningful
        index = end
    return Translated("".join(out), tuple(names), statements + content)


def _quoted_end(sql: str, start: int, quote: str, *, backslashes: bool) -> int:
    index = start + 1
    while index < len(sql):
        if backslashes and sql[index] == "\\":
            index += 2
            continue
        if sql[index] == quote:
            if sql.startswith(quote * 2, index):
                index += 2
                continue
            return index + 1
        index += 1
    return len(sql)


def _is_escape_string(sql: str, quote: int) -> bool:
    """E'...' (backslash escapes), not an identifier ending in e followed by a quote."""
    return quote > 0 and sql[quote - 1] in "eE" and (quote < 2 or not _identifier_char(sql[quote - 2]))


def _comment_end(sql: str, start: int) -> int:
    depth, index = 0, start
    while index < len(sql):
        if sql.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif sql.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    return len(sql)


def _continues_identifier(sql: str, index: int) -> bool:
    return index > 0 and (_identifier_char(sql[index - 1]) or sql[index - 1] == "$")


def _identifier_char(char: str) -> bool:
    return char.isalnum() or char == "_"


class _Hinted(str):
    """A stringValue sent as another type (its typeHint); PostgreSQL parses the text."""

    __slots__ = ()


class _Date(_Hinted):
    __slots__ = ()


class _Time(_Hinted):
    __slots__ = ()


class _Timestamp(_Hinted):
    __slots__ = ()


class _Uuid(_Hinted):
    __slots__ = ()


class _Json(_Hinted):
    __slots__ = ()


class _Decimal(_Hinted):
    __slots__ = ()


_HINTS: dict[str, tuple[type[_Hinted], str, re.Pattern[str] | None, str]] = {
    "DATE": (_Date, "date", re.compile(r"\d{4}-\d{2}-\d{2}"), "YYYY-MM-DD"),
    "TIME": (_Time, "time", re.compile(r"\d{2}:\d{2}:\d{2}(\.\d+)?"), "HH:MM:SS[.FFF]"),
    "TIMESTAMP": (_Timestamp, "timestamp", re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?"),
                  "YYYY-MM-DD HH:MM:SS[.FFF]"),
    "UUID": (_Uuid, "uuid", None, ""),
    "JSON": (_Json, "json", None, ""),
    "DECIMAL": (_Decimal, "numeric", None, ""),
}  # fmt: skip
"""typeHint -> (the value's class, PostgreSQL type, accepted format, as SqlParameter words it)."""


def _hint_dumper(type_name: str) -> type[Dumper]:
    class HintDumper(Dumper):
        oid = psycopg.postgres.types[type_name].oid

        def dump(self, obj: Any) -> Buffer:
            return str(obj).encode()

    return HintDumper


def register_dumpers(adapters: AdaptersMap) -> None:
    """Strings as varchar (the Data API's JDBC binding), and each hinted string as its hint's type."""
    adapters.register_dumper(str, StrDumperVarchar)
    for value_class, type_name, _, _ in _HINTS.values():
        adapters.register_dumper(value_class, _hint_dumper(type_name))


def _value(parameter: Mapping[str, Any]) -> Any:
    name = parameter.get("name", "")
    value = parameter.get("value") or {}
    hint = parameter.get("typeHint")
    if "arrayValue" in value:
        raise DataApiError("BadRequestException", f'Parameter "{name}": array parameters are not supported')
    if value.get("isNull") is True:
        return None
    if "stringValue" in value:
        text = str(value["stringValue"])
        if hint is None:
            return text
        if hint not in _HINTS:
            raise DataApiError("BadRequestException", f'Parameter "{name}": unknown typeHint {hint!r}')
        value_class, _, accepted, wording = _HINTS[hint]
        if accepted is not None and not accepted.fullmatch(text):
            raise DataApiError(
                "BadRequestException", f'Parameter "{name}": {text!r} is not a {hint}: the accepted format is {wording}'
            )
        return value_class(text)
    if "longValue" in value:
        return Int8(int(value["longValue"]))
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "booleanValue" in value:
        return bool(value["booleanValue"])
    if "blobValue" in value:
        blob = value["blobValue"]
        return blob if isinstance(blob, bytes) else base64.b64decode(blob)
    raise DataApiError("BadRequestException", f'Parameter "{name}" has value with no field set')


def bind(sql: str, parameters: Sequence[Mapping[str, Any]]) -> tuple[str, list[Any]]:
    """The statement in PostgreSQL's placeholders, and its values in order; BadRequestException for a placeholder
    without a parameter, or a parameter the Data API would refuse."""
    translated = translate(sql)
    if translated.statements > 1:
        # What PostgreSQL answers a prepared statement of several commands (the Data API prepares every statement).
        raise DataApiError(
            "DatabaseErrorException",
            "ERROR: cannot insert multiple commands into a prepared statement; SQLState: 42601",
        )
    given = {str(parameter.get("name", "")): parameter for parameter in parameters}
    missing = [name for name in translated.names if name not in given]
    if missing:
        raise DataApiError("BadRequestException", f"No value specified for parameter(s) {', '.join(missing)}")
    values = {name: _value(parameter) for name, parameter in given.items()}
    return translated.sql, [values[name] for name in translated.names]
