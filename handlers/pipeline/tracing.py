"""X-Ray subsegments and annotations, with the X-Ray SDK imported by the first invocation that is traced.

Lambda's active tracing records every sampled invocation by itself: its initialization, its duration, a fault. What
only code in the function can add comes from the X-Ray SDK through Powertools' Tracer: the handler's subsegment with
its response or error, the annotations that make a trace searchable (`objectKey`), a subsegment for every AWS call
and around the work that matters. Building that Tracer (importing the SDK, patching botocore) costs ~60 ms of CPU
with bytecode, ~130 ms without (Python 3.13), which every cold start paid, although X-Ray samples only the first
request each second and 5 % of the others. Here nothing of it is imported until an invocation is sampled (Lambda's
trace header says `Sampled=1`): that invocation pays it once, then this instance uses Powertools' Tracer as before
and the SDK itself skips the invocations that are not sampled. Where nothing is sampled (tests, the local cloud, the
Fargate worker, an instance whose invocations are not), the calls below cost nothing.

One difference from a Tracer built at import: its ColdStart annotation is true on the first sampled invocation of
an instance, which is the cold start only when that one was sampled (Lambda's own Initialization subsegment shows
cold starts either way).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

__all__ = ["TRACE_HEADER_ENV", "LazyTracer", "tracer"]

TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"
"""Set by the Lambda runtime for each invocation of a traced function: `Root=1-...;Parent=...;Sampled=1`."""

Event = TypeVar("Event")
Result = TypeVar("Result")


class LazyTracer:
    """The part of Powertools' Tracer the handlers use, backed by a real Tracer once an invocation is sampled."""

    def __init__(self) -> None:
        self._tracer: Tracer | None = None

    def capture_lambda_handler(self, handler: Callable[[Event, Any], Result]) -> Callable[[Event, Any], Result]:
        """Decorate a Lambda handler: a sampled invocation runs in Powertools' `## <handler>` subsegment (ColdStart
        and Service annotations, the response or the error as metadata), any other calls it directly."""

        @functools.wraps(handler)
        def traced(event: Event, context: Any) -> Result:
            tracer = self._for_invocation(os.environ)
            if tracer is None:
                return handler(event, context)
            return tracer.capture_lambda_handler(handler)(event, context)

        return traced

    def put_annotation(self, key: str, value: str | int | float | bool) -> None:
        """Index the current trace by `key` (X-Ray's filter expressions search annotations), when it is traced."""
        if self._tracer is not None:
            self._tracer.put_annotation(key=key, value=value)

    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[None]:
        """Time the block as a subsegment of the current trace, when it is traced."""
        if self._tracer is None:
            yield
            return
        with self._tracer.provider.in_subsegment(name=name):
            yield

    def _for_invocation(self, environ: Mapping[str, str]) -> Tracer | None:
        """The Tracer, built (and the SDK imported) by the first sampled invocation; Powertools still applies its own
        rules then (POWERTOOLS_TRACE_DISABLED, or not in Lambda: a disabled Tracer)."""
        if self._tracer is None and sampled(environ.get(TRACE_HEADER_ENV, "")):
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer()
        return self._tracer


def sampled(trace_header: str) -> bool:
    """Whether X-Ray records this invocation: the header's `Sampled=1` (0 or absent: it does not)."""
    return "Sampled=1" in (part.strip() for part in trace_header.split(";"))


tracer = LazyTracer()
"""Shared by every handler module of the instance, as Powertools' Tracer instances share their configuration."""
