"""What each Lambda sandbox and each ECS container has to itself on AWS, and here shares with every other handler
thread of the one process: its standard output, and the metrics Powertools keeps in process-wide state until it
prints them.

- Output: Lambda and ECS's awslogs driver send a process's stdout to its log, one event per line; CloudWatch
  extracts embedded metric format documents from those events (emulator/metrics.py). While installed, `print` on a
  handler's thread goes to the run's log and each of its lines to a sink, with the name of the function or container
  that printed it; `print` on any other thread is Python's own. It is `print` that is replaced, not `sys.stdout`:
  pytest (and any other capture) puts its own `sys.stdout` back at every test phase while a local cloud started by a
  fixture keeps running, and `print` is what Powertools Metrics writes with. Writes to `sys.stdout.write` itself, or
  to a stream a handler kept from import time, are not seen (Powertools' loggers are pointed at the run's log by
  the runtime instead).
- Powertools Metrics: `Metrics` keeps its metrics, dimensions and metadata in dicts shared by every instance in the
  process (class attributes, handed to its provider); on AWS a process is one sandbox running one invocation at a
  time, but here two invocations would add to the same document, one's flush would print the other's metrics under
  its dimensions, and could clear them while the other iterates. While installed, those attributes of Powertools'
  classes read, on a handler's thread, a copy of their own (made at first use from what the process holds, default
  dimensions included), and everywhere else the process's. `single_metric` keeps no shared state and needs nothing.
"""

from __future__ import annotations

import builtins
import copy
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

__all__ = ["HandlerOutput", "PowertoolsMetricState"]

POWERTOOLS_METRIC_STATE = {
    "aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch": (
        "AmazonCloudWatchEMFProvider",
        ("metric_set", "dimension_set", "metadata_set", "default_dimensions", "dimension_sets", "timestamp"),
    ),
    "aws_lambda_powertools.metrics.metrics": (
        "Metrics",
        ("metric_set", "dimension_set", "metadata_set", "default_dimensions"),
    ),
}
"""module -> (class, the instance attributes holding one invocation's metrics): Powertools 3.37's."""


class HandlerOutput:
    """`print` on a handler's thread, as a function's or a container's stdout: lines to the run's log and to `sink`."""

    def __init__(
        self,
        running: Callable[[], str | None],
        log: IO[str],
        sink: Callable[[str, str], None],
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        """`running` names what the current thread runs (None: not a handler's thread); `sink(source, line)` takes
        each complete line, without its newline; what a thread prints once `stopped()` is dropped (Lambda stops a
        function's runtime at its timeout: nothing it would print later reaches the log, its metrics included)."""
        self._running = running
        self._log = log
        self._sink = sink
        self._stopped = stopped
        self._pending = threading.local()
        self._lock = threading.Lock()
        self._original: Callable[..., None] | None = None

    def install(self) -> None:
        """Replace `print` (once; again after `uninstall`)."""
        with self._lock:
            if self._original is None:
                self._original = builtins.print
                builtins.print = self._print

    def uninstall(self) -> None:
        """Give `print` back, unless something replaced it since (that one is left in place)."""
        with self._lock:
            if self._original is not None and builtins.print == self._print:
                builtins.print = self._original
            self._original = None

    def finish(self) -> None:
        """This thread's handler is done: a last line printed without a newline is a log event of its own."""
        pending, self._pending.text = getattr(self._pending, "text", ""), ""
        source = self._running()
        if pending and source is not None:
            self._emit(source, pending)

    def _print(self, *values: object, sep: str | None = " ", end: str | None = "\n", file: Any = None,
               flush: bool = False) -> None:  # fmt: skip
        source = self._running()
        original = self._original or print
        if source is None or (file is not None and file is not sys.stdout):
            original(*values, sep=sep, end=end, file=file, flush=flush)
            return
        text = getattr(self._pending, "text", "") + (" " if sep is None else sep).join(map(str, values))
        *lines, self._pending.text = (text + ("\n" if end is None else end)).split("\n")
        for line in lines:
            self._emit(source, line)

    def _emit(self, source: str, line: str) -> None:
        if not self._stopped():
            self._log.write(line + "\n")
            self._sink(source, line)


class _PerThread:
    """Stands in for an instance attribute (a data descriptor on the class): on a handler's thread, that thread's
    copy of the instance's value; elsewhere the value itself. Instances sharing one dict share one copy per thread,
    as Powertools' `Metrics` instances share the class's dicts."""

    def __init__(self, name: str, isolated: Callable[[], bool], local: threading.local) -> None:
        self._name = name
        self._isolated = isolated
        self._local = local

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        try:
            value = vars(instance)[self._name]
        except KeyError:
            raise AttributeError(self._name) from None
        if not self._isolated():
            return value
        copies = self._copies()
        key = self._key(instance, value)
        if key not in copies:
            copies[key] = copy.deepcopy(value)
        return copies[key]

    def __set__(self, instance: object, value: Any) -> None:
        held = vars(instance)
        if not self._isolated() or self._name not in held:
            held[self._name] = value  # the process's value, or the attribute's first assignment (in __init__)
        else:
            self._copies()[self._key(instance, held[self._name])] = value

    def _copies(self) -> dict[tuple[str, int], Any]:
        if not hasattr(self._local, "copies"):
            self._local.copies = {}
        return self._local.copies

    def _key(self, instance: object, value: object) -> tuple[str, int]:
        return (self._name, id(value)) if isinstance(value, dict | list) else (self._name, id(instance))


class PowertoolsMetricState:
    """Powertools Metrics' process-wide state made per handler thread, for the classes Powertools has loaded."""

    def __init__(self, running: Callable[[], str | None]) -> None:
        self._running = running
        self._local = threading.local()
        self._lock = threading.Lock()
        self._patched: list[tuple[type, tuple[str, ...]]] = []

    def isolated(self) -> bool:
        """Whether this thread has state of its own: a handler's, except while it imports a module (module-level
        state, such as default dimensions, is the process's, as a sandbox's INIT is every later invocation's)."""
        return self._running() is not None and not getattr(self._local, "importing", False)

    @contextmanager
    def importing(self) -> Iterator[None]:
        """This thread imports handler code: what it sets up is the process's."""
        self._local.importing = True
        try:
            yield
        finally:
            self._local.importing = False

    def install(self) -> None:
        """Patch the classes of POWERTOOLS_METRIC_STATE whose module is loaded and not patched yet (a no-op for an
        application that does not use Powertools): called as handler modules are imported."""
        with self._lock:
            done = {cls for cls, _ in self._patched}
            for module_name, (class_name, attributes) in POWERTOOLS_METRIC_STATE.items():
                cls = getattr(sys.modules.get(module_name), class_name, None)
                if cls is None or cls in done:
                    continue
                clashing = [name for name in attributes if name in vars(cls)]
                if clashing:
                    raise RuntimeError(
                        f"{cls.__module__}.{class_name} now defines {clashing} on the class: Powertools changed how "
                        "it keeps its metrics; review emulator/sandbox.py's POWERTOOLS_METRIC_STATE"
                    )
                for name in attributes:
                    setattr(cls, name, _PerThread(name, self.isolated, self._local))
                self._patched.append((cls, attributes))

    def uninstall(self) -> None:
        with self._lock:
            for cls, attributes in self._patched:
                for name in attributes:
                    if isinstance(vars(cls).get(name), _PerThread):
                        delattr(cls, name)
            self._patched.clear()
