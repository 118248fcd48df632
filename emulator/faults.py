"""Fault injection: make the emulator answer a chosen request with the error (or the delay) a service would.

    cloud.faults.inject("s3", "GetObject", error="SlowDown", times=1)              # one transient S3 error
    cloud.faults.inject("s3", "PutObject", error="AccessDenied", key="results/")  # every write under results/ fails
    cloud.faults.inject("dynamodb", "PutItem", delay=3.0, within="orders-dev-create")  # a slow call in one function
    cloud.faults.refuse_placement("RESOURCE:ENI")        # RunTask answers with failures and starts nothing
    cloud.faults.fail_task_start("CannotPullContainerError: pull access denied")  # the task stops, no exit code

Every request any in-process client makes (the functions', the tasks', the Step Functions interpreter's) reaches
moto through one callable, the `BotocoreStubber` registered on botocore's `before-send` event; the plan wraps it.
An injected error is answered instead of executing the request, so a retried write happens once, as on AWS.
The answer has the service's wire format, so botocore parses and retries it exactly as it would AWS's.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

XML_SERVICES = frozenset({"s3"})
"""Services whose errors are XML documents; the others used here answer JSON."""
STATUS = {
    "SlowDown": 503,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "AccessDenied": 403,
    "AccessDeniedException": 400,
    "BadRequestException": 400,
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "InternalServerError": 500,
    "ServiceUnavailableError": 503,
}


@dataclass
class Fault:
    service: str
    """botocore's service id, hyphenated: `s3`, `dynamodb`, `ecs`."""
    operation: str
    error: str | None
    """The error code to answer, or None to let the request through after `delay`."""
    times: int | None
    """How many matching requests fail; None for every one."""
    delay: float = 0.0
    key: str | None = None
    """Only requests whose URL contains this (an S3 key prefix, a bucket name)."""
    within: str | None = None
    """Only requests made on the thread of a handler or a container whose name contains this (a function's name,
    or `container`). A download's GetObject runs on s3transfer's own threads: match it with `key` instead."""
    answer: dict[str, Any] | None = None
    """A successful answer (JSON services) to give instead of executing the request, e.g. RunTask's failures."""
    hits: int = 0

    def matches(self, service: str, operation: str, url: str, running: str | None) -> bool:
        if (service, operation) != (self.service, self.operation):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.key is not None and self.key not in url:
            return False
        return self.within is None or (running is not None and self.within in running)


@dataclass
class FaultPlan:
    running: Callable[[], str | None] = lambda: None
    """What the current thread runs (set by the local cloud to its runtime's answer)."""
    faults: list[Fault] = field(default_factory=list)
    start_failures: list[str] = field(default_factory=list)
    """Reasons with which the next ECS tasks stop before their container runs, one task each."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse_placement(self, reason: str = "RESOURCE:ENI", *, times: int = 1) -> Fault:
        """The next RunTask calls answer 200 with `failures` and no task, as ECS does when it cannot place one."""
        return self.inject("ecs", "RunTask", answer={"tasks": [], "failures": [{"reason": reason}]}, times=times)

    def fail_task_start(self, reason: str, *, times: int = 1) -> None:
        """The next tasks stop before their container runs (StopCode TaskFailedToStart, no exit code)."""
        with self._lock:
            self.start_failures.extend([reason] * times)

    def take_start_failure(self) -> str | None:
        with self._lock:
            return self.start_failures.pop(0) if self.start_failures else None

    def inject(
        self,
        service: str,
        operation: str,
        *,
        error: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
        key: str | None = None,
        within: str | None = None,
        answer: dict[str, Any] | None = None,
    ) -> Fault:
        if error is not None and error not in STATUS:
            raise ValueError(f"unknown error {error!r}; known: {', '.join(sorted(STATUS))}")
        fault = Fault(service, operation, error, times, delay, key, within, answer)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.start_failures.clear()

    def take(self, event_name: str, request: AWSPreparedRequest) -> Fault | None:
        """The fault this request triggers, counted as a hit, if any."""
        _, service, operation = [*event_name.split("."), "", ""][:3]
        running = self.running()
        with self._lock:
            for fault in self.faults:
                if fault.matches(service, operation, request.url, running):
                    fault.hits += 1
                    return fault
        return None

    @contextmanager
    def applied(self) -> Iterator[FaultPlan]:
        original = BotocoreStubber.__call__
        plan = self

        def call(stubber: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> Any:
            fault = plan.take(event_name, request) if stubber.enabled else None
            if fault is None:
                return original(stubber, event_name, request, **kwargs)
            if fault.delay:
                time.sleep(fault.delay)
                if not stubber.enabled:  # the emulator stopped meanwhile: never let the request reach the network
                    raise RuntimeError(f"the emulator stopped during an injected delay of {event_name}")
            if fault.answer is not None:
                return _answer(fault.answer, request)
            if fault.error is None:
                return original(stubber, event_name, request, **kwargs)
            return _error_response(fault, request)

        BotocoreStubber.__call__ = call  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BotocoreStubber.__call__ = original  # type: ignore[method-assign]


def _answer(body: dict[str, Any], request: AWSPreparedRequest) -> AWSResponse:
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": uuid.uuid4().hex.upper()}
    return AWSResponse(request.url, 200, headers, MockRawResponse(json.dumps(body).encode()))


def _error_response(fault: Fault, request: AWSPreparedRequest) -> AWSResponse:
    assert fault.error is not None
    message = f"injected by the local cloud's fault plan ({fault.service}:{fault.operation})"
    request_id = uuid.uuid4().hex.upper()
    if fault.service in XML_SERVICES:
        body = (f"<Error><Code>{fault.error}</Code><Message>{message}</Message>"
                f"<RequestId>{request_id}</RequestId></Error>").encode()  # fmt: skip
        headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
    else:
        body = json.dumps({"__type": fault.error, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": fault.error,
                   "x-amzn-RequestId": request_id}  # fmt: skip
    return AWSResponse(request.url, STATUS[fault.error], headers, MockRawResponse(body))
