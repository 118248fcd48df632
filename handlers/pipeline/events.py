"""The workflow's input: S3's "Object Created" event as EventBridge delivers it, read into NamedTuples.

A parse of its own rather than pydantic models: the pipeline checks ten fields, and importing pydantic cost about
65 ms of every cold start. It validates what the models did (types, lengths, the sequencer's hex, the literal source
and detail type, an ISO 8601 time), ignores other fields, and, like pydantic, names every invalid field in one
`ValidationError` rather than the first only.
"""

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple, Self, TypeVar

__all__ = ["ObjectCreatedEvent", "S3Object", "ValidationError"]

Value = TypeVar("Value")


class ValidationError(ValueError):
    """An input that is not what the model describes. The message lists each problem under its dotted location,
    in pydantic's layout; the class name, which Lambda reports as the error type, is the one pydantic's had."""

    def __init__(self, model: str, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''}"
        super().__init__("\n".join([f"{count} for {model}", *(f"{at}\n  {why}" for at, why in problems.items())]))


class _Invalid(Exception):
    """Raised by a check with pydantic's wording of what is wrong; `_Reader` files it under the field's location."""


Check = Callable[[Any], Value]
"""Returns the accepted value (converted where the type says so), or raises `_Invalid`."""


def _text(min_length: int = 0, pattern: str | None = None) -> Check[str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _Invalid("Input should be a valid string")
        if len(value) < min_length:
            raise _Invalid(f"String should have at least {min_length} character{'s' if min_length > 1 else ''}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise _Invalid(f"String should match pattern '{pattern}'")
        return value

    return check


def _literal(expected: str) -> Check[str]:
    def check(value: Any) -> str:
        if value != expected:
            raise _Invalid(f"Input should be '{expected}'")
        return expected

    return check


def _optional(check: Check[Value]) -> Check[Value | None]:
    return lambda value: None if value is None else check(value)


def _non_negative_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid("Input should be a valid integer")
    if value < 0:
        raise _Invalid("Input should be greater than or equal to 0")
    return value


def _time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Invalid("Input should be a valid datetime (ISO 8601)") from None


_MISSING = object()


class _Reader:
    """Reads fields out of decoded JSON by path, collecting each problem under its location instead of stopping at
    the first; a missing or non-object parent is one problem, however many fields lie under it."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.problems: dict[str, str] = {}

    def read(self, path: str, check: Check[Value], default: Any = _MISSING) -> Value:
        """The value at dotted `path`, accepted by `check`; `default` (when given) stands for an absent field."""
        value, location = self.data, ""
        for name in path.split("."):
            if not isinstance(value, Mapping):
                return self._fail(location, "Input should be an object")
            location = f"{location}.{name}".lstrip(".")
            value = value.get(name, _MISSING)
            if value is _MISSING:
                absent_leaf = location == path and default is not _MISSING
                return default if absent_leaf else self._fail(location, "Field required")
        try:
            return check(value)
        except _Invalid as invalid:
            return self._fail(location, str(invalid))

    def done(self, model: str) -> None:
        if self.problems:
            raise ValidationError(model, self.problems)

    def _fail(self, location: str, problem: str) -> Any:
        self.problems.setdefault(location, problem)
        return None  # never used: `done` raises before anything uses what was read


class S3Object(NamedTuple):
    """An event's `detail.object`: also what the workflow hands the Fargate worker (as JSON)."""

    key: str
    size: int
    etag: str
    sequencer: str
    version_id: str | None = None
    """`version-id` in the event; absent for an unversioned bucket."""

    @classmethod
    def parse(cls, data: Any) -> Self:
        """`data` as decoded from JSON; a ValidationError names every missing or invalid field."""
        reader = _Reader(data)
        obj = cls._read(reader, "")
        reader.done(cls.__name__)
        return obj

    @classmethod
    def _read(cls, reader: _Reader, at: str) -> Self:
        """The object at `at` (a path prefix: "" or "detail.object.")."""
        return cls(
            key=reader.read(f"{at}key", _text(min_length=1)),
            size=reader.read(f"{at}size", _non_negative_int),
            etag=reader.read(f"{at}etag", _text()),
            sequencer=reader.read(f"{at}sequencer", _text(pattern=r"[0-9A-Fa-f]+")),
            version_id=reader.read(f"{at}version-id", _optional(_text()), default=None),
        )


class ObjectCreatedEvent(NamedTuple):
    """The fields of S3's "Object Created" event that the pipeline reads."""

    time: datetime
    bucket: str
    object: S3Object

    @classmethod
    def parse(cls, data: Any) -> Self:
        """`data` as the workflow passes it; a ValidationError names every missing or invalid field. Checked but not
        kept: the source, the detail type and the id (the log lines' correlation id, which Powertools reads itself)."""
        reader = _Reader(data)
        reader.read("id", _text())
        reader.read("source", _literal("aws.s3"))
        reader.read("detail-type", _literal("Object Created"))
        event = cls(
            time=reader.read("time", _time),
            bucket=reader.read("detail.bucket.name", _text(min_length=3)),
            object=S3Object._read(reader, "detail.object."),
        )
        reader.done(cls.__name__)
        return event
