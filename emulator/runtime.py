"""In-process compute: a Lambda invocation runs the function's real handler here, an ECS task runs the container's
real entrypoint here, each with the configuration the emulator holds for it.

moto stores functions and task definitions but cannot run Python code without Docker (getmoto/moto#9916); the
adaptations in `emulator/adaptations.py` hand every invocation and every task to this module. Everything a handler
sees comes from the emulator's copy of the resource: the environment, the timeout, the memory size; so a test
that changes a function's configuration through the Lambda API changes what the next invocation sees.

Several invocations run at once in moto's Step Functions threads, so nothing here mutates `os.environ` per call.
A handler package that keeps its AWS clients in a module-level singleton says how to replace it through an
`Injection`, which the application gives the local cloud; the singleton then gets a stand-in (`_ThreadBound`) once,
which forwards to the dependencies of the function this thread is running, built from that function's environment.
What a handler prints goes to the run's log, and its embedded-metric-format lines to `Runtime.metrics`, as
CloudWatch extracts them; Powertools Metrics' process-wide state is each handler thread's own (emulator/sandbox.py).
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import boto3

from emulator.iam import Authorizer
from emulator.metrics import MetricStore
from emulator.sandbox import HandlerOutput, PowertoolsMetricState

TIMEOUT_ERROR = "Sandbox.Timedout"
"""What Lambda reports (FunctionError "Unhandled") when a function runs past its timeout."""


class SandboxFrozen(RuntimeError):
    """An AWS call made by a handler whose invocation already timed out: Lambda would have frozen its sandbox."""


@dataclass(frozen=True)
class FunctionConfig:
    """A Lambda function as the emulator holds it when it is invoked."""

    name: str
    arn: str
    handler: str
    """`package.module.function`, e.g. `orders.create.handler`."""
    role: str
    """The execution role: the handler's calls carry its credentials, as Lambda gives them."""
    environment: Mapping[str, str]
    timeout_seconds: float
    memory_mb: int
    region: str
    version: str = "$LATEST"


@dataclass(frozen=True)
class InvocationResult:
    payload: bytes
    function_error: str | None
    """None, or "Unhandled" as Lambda reports a handler's exception or timeout."""
    request_id: str
    duration_seconds: float


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object that the handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float = field(repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class ContainerRun:
    """One container of an ECS task: its entrypoint module and the environment ECS would give it."""

    task_arn: str
    entrypoint: str
    """The module the image runs with `python -m`; it must offer `main(argv, environ) -> int`."""
    environment: Mapping[str, str]


class _ThreadBound:
    """Stands in for a handler package's module-level dependencies: every attribute is read from the object bound
    to the current thread, so concurrent invocations of different functions each see their own."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._local = threading.local()

    def bind(self, target: object | None) -> None:
        self._local.target = target

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._local, "target", None)
        if target is None:
            raise RuntimeError(f"no {self._label} bound to thread {threading.current_thread().name}")
        return getattr(target, name)


@dataclass(frozen=True)
class Injection:
    """How one handler package takes its clients and settings: the setter it offers tests and runners, and how
    to build the object from a function's environment. The application lists its packages' injections (the
    emulator knows no handler package); a package with none runs with whatever clients it builds itself."""

    setter: str
    """`module:function` that replaces a package's singleton, e.g. `orders.context:set_dependencies`: it applies
    to the handlers of the package it belongs to (`orders.create.handler`, ...)."""
    build: Callable[[Mapping[str, str], boto3.Session], object]
    """The object to inject, from the function's environment and a session of its role's credentials."""

    @property
    def package(self) -> str:
        """The top-level package whose handlers take this injection: the setter's."""
        return self.setter.split(".")[0].split(":")[0]


class Runtime:
    """Runs Lambda handlers and container entrypoints from the code roots, against the emulator."""

    def __init__(
        self,
        code_roots: list[Path],
        log_stream: IO[str],
        authorizer: Authorizer,
        injections: Sequence[Injection] = (),
    ) -> None:
        """`code_roots` is read at every import: the deployment adds a root as it deploys the code's resource.
        Each function's calls go through a session of its own role's credentials (see `_session_of`), and through
        the clients `injections` build for its package."""
        self._code_roots = code_roots
        self._injections = tuple(injections)
        self._authorizer = authorizer
        self._credentials: dict[tuple[str, str], dict[str, str]] = {}
        self._log_stream = log_stream
        self._lock = threading.RLock()
        self._bound: dict[str, tuple[_ThreadBound, Callable[[object | None], None]]] = {}
        self._streams: list[tuple[Any, IO[str]]] = []
        self._built: dict[tuple[str, str, tuple[tuple[str, str], ...]], object] = {}
        """(function, setter, environment) -> what that injection built for it."""
        self._current = threading.local()
        self._threads: set[threading.Thread] = set()
        self._closed = False
        self.metrics = MetricStore()
        """The metrics extracted from what the handlers printed (emulator/metrics.py)."""
        self._output = HandlerOutput(self.running, log_stream, self.metrics.extract, stopped=self._timed_out)
        self._metric_state = PowertoolsMetricState(self.running)

    def join(self, grace_seconds: float = 10.0) -> None:
        """Let handlers still running (a timed-out one, frozen) end before the emulator goes away under them."""
        deadline = time.monotonic() + grace_seconds
        for thread in list(self._threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Refuse any further AWS call of a handler (the emulator is going away: nothing may reach the network),
        and give the handler packages back their own dependencies, their loggers back their stdout, Python its
        `print` and Powertools its metric state."""
        with self._lock:
            self._closed = True
            for _, setter in self._bound.values():
                setter(None)
            self._bound.clear()
            for handler, stream in self._streams:
                handler.setStream(stream)
            self._streams.clear()
            self._output.uninstall()
            self._metric_state.uninstall()

    # Lambda

    def invoke(self, function: FunctionConfig, payload: bytes) -> InvocationResult:
        """Run the handler with Lambda's semantics: a result or an error payload, within the timeout."""
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        deadline = started + function.timeout_seconds
        outcome: dict[str, Any] = {}
        worker = threading.Thread(
            target=self._run_handler,
            args=(function, payload, request_id, deadline, outcome),
            name=f"lambda:{function.name}:{request_id[:8]}",
            daemon=True,
        )
        with self._lock:
            self._threads = {thread for thread in self._threads if thread.is_alive()} | {worker}
        worker.start()
        worker.join(timeout=function.timeout_seconds)
        duration = time.monotonic() - started
        if worker.is_alive():
            outcome["frozen"] = True  # its further AWS calls are refused, as in a frozen sandbox
            message = f"RequestId: {request_id} Error: Task timed out after {function.timeout_seconds:.2f} seconds"
            error = {"errorType": TIMEOUT_ERROR, "errorMessage": message}
            return InvocationResult(json.dumps(error).encode(), "Unhandled", request_id, duration)
        return InvocationResult(outcome["payload"], outcome.get("error"), request_id, duration)

    def running(self) -> str | None:
        """What this thread runs: a function's name, `container:<module>`, or None (not a handler's thread)."""
        return getattr(self._current, "running", None)

    def _run_handler(
        self, function: FunctionConfig, payload: bytes, request_id: str, deadline: float, outcome: dict[str, Any]
    ) -> None:
        self._current.outcome = outcome
        self._current.running = function.name
        context = LambdaContext(
            function_name=function.name,
            function_version=function.version,
            invoked_function_arn=function.arn,
            memory_limit_in_mb=function.memory_mb,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{function.name}",
            log_stream_name=f"{time.strftime('%Y/%m/%d')}/[{function.version}]{request_id.replace('-', '')}",
            deadline=deadline,
        )
        environ = {**_lambda_variables(function), **function.environment, **self._role_credentials(function)}
        try:
            with self._sandboxed():
                handler = self._handler(function.handler)
                with self._bound_to(function.name, function.handler, environ):
                    result = handler(json.loads(payload or b"{}"), context)
            outcome["payload"] = json.dumps(result).encode()
        except Exception as error:
            outcome["payload"] = json.dumps(_error_payload(error, request_id)).encode()
            outcome["error"] = "Unhandled"

    def _role_credentials(self, function: FunctionConfig) -> dict[str, str]:
        """The function's role credentials, minted once per function (Lambda refreshes them; nothing expires here)."""
        with self._lock:
            if (function.name, function.role) not in self._credentials:
                self._credentials[function.name, function.role] = self._authorizer.credentials(
                    function.role, function.name, "lambda.amazonaws.com", function.arn
                )
            return self._credentials[function.name, function.role]

    def _handler(self, handler: str) -> Callable[[Any, Any], Any]:
        module_name, _, attribute = handler.rpartition(".")
        module = self._import(module_name)
        return getattr(module, attribute)

    # ECS

    def run_container(self, run: ContainerRun) -> int:
        """Run the container's entrypoint to completion and return its exit code (1 if it raised)."""
        self._current.running = f"container:{run.entrypoint}"
        with self._sandboxed():
            module = self._import(run.entrypoint)
            main = getattr(module, "main", None)
            if not callable(main):
                raise RuntimeError(f"{run.entrypoint} has no main(argv, environ) to run in-process")
            try:
                return int(main([], dict(run.environment)))
            except Exception:
                traceback.print_exc(file=self._log_stream)
                return 1

    # Shared

    def module(self, name: str) -> ModuleType:
        """A module of the deployed code, imported from the code roots as the handlers are."""
        return self._import(name)

    @contextmanager
    def _sandboxed(self) -> Iterator[None]:
        """What this thread prints is its function's or container's output (`print` is replaced while the runtime
        is open, from the first handler run on); a line it left unfinished is its own when it ends."""
        with self._lock:
            if not self._closed:
                self._output.install()
        try:
            yield
        finally:
            self._output.finish()

    def _import(self, module_name: str) -> ModuleType:
        """Import a handler module once, then point its loggers at the run's log, make the metric state of
        Powertools (once loaded) each handler thread's own, and install its injections."""
        with self._lock:
            for root in self._code_roots:
                if str(root) not in sys.path:
                    sys.path.insert(0, str(root))
            with self._metric_state.importing():
                module = importlib.import_module(module_name)
            self._metric_state.install()
            self._redirect_logs(module)
            package = module_name.split(".")[0]
            for injection in self._injections:
                if injection.package == package and injection.setter not in self._bound:
                    stand_in = _ThreadBound(injection.setter)
                    setter_module, _, setter_name = injection.setter.partition(":")
                    setter = getattr(importlib.import_module(setter_module), setter_name)
                    setter(stand_in)
                    self._bound[injection.setter] = (stand_in, setter)
            return module

    @contextmanager
    def _bound_to(self, function: str, handler: str, environ: Mapping[str, str]) -> Iterator[None]:
        """Bind the function's dependencies (built once per function and environment) to this thread."""
        package = handler.split(".")[0]
        injections = [i for i in self._injections if i.package == package]
        environment = tuple(sorted(environ.items()))
        with self._lock:  # boto3 sessions are not safe to build clients from concurrently
            for injection in injections:
                if (function, injection.setter, environment) not in self._built:
                    session = _session_of(environ)
                    session.events.register("before-call", self._refuse_frozen_calls)
                    self._built[function, injection.setter, environment] = injection.build(environ, session)
        for injection in injections:
            self._bound[injection.setter][0].bind(self._built[function, injection.setter, environment])
        try:
            yield
        finally:
            for injection in injections:
                self._bound[injection.setter][0].bind(None)

    def _redirect_logs(self, module: ModuleType) -> None:
        """Powertools' loggers write JSON lines to stdout; send them to the run's log instead of the terminal."""
        logger = getattr(module, "logger", None)
        handler = getattr(logger, "registered_handler", None)
        if handler is not None and hasattr(handler, "setStream") and handler.stream is not self._log_stream:
            self._streams.append((handler, handler.setStream(self._log_stream)))

    def _timed_out(self) -> bool:
        """This thread runs an invocation that outlived its timeout (Lambda would have stopped it)."""
        outcome = getattr(self._current, "outcome", None)
        return outcome is not None and bool(outcome.get("frozen"))

    def _refuse_frozen_calls(self, **_: Any) -> None:
        if self._timed_out():
            raise SandboxFrozen("the invocation timed out; Lambda froze its sandbox, so this call is refused")
        if self._closed:
            raise SandboxFrozen("the local cloud is closed: no call leaves the process")


def _session_of(environ: Mapping[str, str]) -> boto3.Session:
    """A session with the credentials and region Lambda put in the function's environment."""
    return boto3.Session(
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=environ["AWS_SESSION_TOKEN"],
        region_name=environ["AWS_REGION"],
    )


def _lambda_variables(function: FunctionConfig) -> dict[str, str]:
    """The variables Lambda itself sets in every function's environment."""
    return {
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(function.timeout_seconds)),
    }


def _error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """Lambda's payload for an unhandled exception: Step Functions reads `errorType` as the error name."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }
