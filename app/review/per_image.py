"""The cost of a million images with a stack's configuration: every billed request, second and byte an image
causes, from the state machines the stack declares (app/review/workload.py), the Lambda and Fargate sizes it
declares, and the handlers' measured calls (app/review/assumptions.py), each priced from policy/rules/prices.py.

Three routes: most images are rendered in Lambda, `heavy_share` of them are handed to the Fargate worker, and
`refused_share` are refused by the validation (the path a refusal takes through the task's Catch). The rule's state
machine is walked once per route, and any workflow it hands over to with the same share.

The cost comes in parts, each its own subtotal in the report: processing (the upload and the accepted images'
workflows), refused images, retries of transient errors, cold starts (Lambda's INIT, billed since August 2025), and
storage for `storage_days`. All but storage are billed once per image; storage by the month it is kept.
"""

import fnmatch
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.review.assumptions import (
    HANDLERS,
    LAMBDA_MB_PER_VCPU,
    REFUSED,
    SECONDS_PER_HOUR,
    WORKER,
    Assumptions,
    HandlerWork,
)
from app.review.retention import expiration_days, log_retention_days, results_bucket, uploads
from app.review.workload import STATE_MACHINE, Execution, Route, Step, WorkloadError, definition_of, executions
from components.fargate import performance_log_group_name
from components.workflow import XRAY_SERVICE_TYPE
from handlers.pipeline.contract import (
    METRICS_NAMESPACE,
    PUBLISHED_METRICS,
    REFUSALS,
    RENDITION_SIZES_ENV,
    RENDITIONS_PREFIX,
    ROUTE_FARGATE,
    ROUTE_LAMBDA,
)
from policy.rules import prices
from policy.rules.prices import HOURS_PER_MONTH, Price
from synth.program import RecordedResource, Synthesis

ROUTE_VARIABLE = "$.validation.route"
"""The Choice variable that sends an upload to Fargate or not (app/definition.py)."""
ROUTE_REFUSED = "refused"
"""The route of a refused upload: its validating task raises the first refusal (handlers/pipeline/contract.py)."""
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
ECS_RUN_TASK = "arn:aws:states:::ecs:runTask"
DATA_API = "arn:aws:states:::aws-sdk:rdsdata:executeStatement"
DATA_API_SECRET_NOTE = (
    "one GetSecretValue per statement: the Data API [calls Secrets Manager]"
    "(https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.access.html) as the caller, no cache "
    "documented"
)
"""AWS: the Data API "transparently calls Secrets Manager, which allows (or denies) the user's request for the secret";
nothing says it keeps the value between statements."""
DYNAMODB_TASK = "arn:aws:states:::dynamodb:"
START_EXECUTION = "arn:aws:states:::states:startExecution"
GB = 1024**3
TASK_EVENTS = 5
"""Entered, Scheduled, Started, Succeeded (or Failed), Exited (a `.sync` task adds Submitted)."""
RETRY_EVENTS = 3
"""A retried attempt's Scheduled, Started and Failed events."""
FAILED_END_EVENTS = 2
"""A failed execution's FailStateEntered and ExecutionFailed: what level ERROR logs of it besides failed tasks."""
FULL_JITTER = 0.5
"""A retrier with JitterStrategy FULL waits a uniform share of its interval: half of it on average."""
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
CONTAINER_INSIGHTS_NAMESPACE = "ECS/ContainerInsights"
CONTAINER_INSIGHTS_METRICS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html"
)
"""AWS's list of the metrics Container Insights publishes for ECS, with their dimensions; it says they "are charged as
custom metrics"."""
CONTAINER_INSIGHTS_LOGS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-reference-performance-logs-ECS.html"
"""AWS's examples of the performance log events behind those metrics (types Container, Task, Service, Cluster): their
fields and log group, not how often they are written."""
TASK_METRICS = ("CpuUtilized", "CpuReserved", "MemoryUtilized", "MemoryReserved", "NetworkRxBytes", "NetworkTxBytes",
                "StorageReadBytes", "StorageWriteBytes", "EphemeralStorageReserved",
                "EphemeralStorageUtilized")  # fmt: skip
"""What Container Insights (standard, the cluster setting `enabled`) publishes of a cluster's tasks, each by ClusterName
and again by ClusterName and TaskDefinitionFamily (a service's tasks also by ServiceName: a task a workflow runs
belongs to none; AWS's Task event of a standalone task carries just those two dimension sets). The EphemeralStorage
two only on Fargate Linux platform 1.4.0 or later, which `LATEST` is."""
CLUSTER_METRICS = ("TaskCount", "ContainerInstanceCount", "ServiceCount")
"""The cluster's counts, by ClusterName. The other five (DesiredTaskCount, RunningTaskCount, PendingTaskCount,
DeploymentCount, TaskSetCount) are a service's, by ServiceName and ClusterName."""
SAMPLING_RULE = "aws:xray/samplingRule:SamplingRule"
DEFAULT_SAMPLING = {"ruleName": "Default", "reservoirSize": 1, "fixedRate": 0.05}
"""X-Ray's Default rule, which samples whatever no other rule matches: the first request each second, then 5%."""

PROCESSING = "processing"
REFUSED_IMAGES = "refused images"
RETRIES = "retries"
COLD_STARTS = "cold starts (INIT)"
STORAGE = "storage"
PARTS = (PROCESSING, REFUSED_IMAGES, RETRIES, COLD_STARTS, STORAGE)
ONE_OFF_PARTS = PARTS[:-1]
"""The parts billed once per image; storage is billed by the month an image is kept."""


@dataclass(frozen=True)
class LineItem:
    part: str
    what: str
    quantity: float
    """Units of `price.unit` per image."""
    price: Price
    note: str = ""

    @property
    def per_million(self) -> float:
        return self.quantity * self.price.per_unit * 1_000_000


@dataclass
class Ledger:
    """One part's quantities per image, merged by what and price, in the order first added."""

    part: str
    items: dict[tuple[str, Price], LineItem] = field(default_factory=dict)
    object_requests: float = 0.0
    """Whole-object reads and writes per image: the S3 requests that need the bucket's KMS key."""

    def add(self, what: str, quantity: float, price: Price, note: str = "") -> None:
        key = (what, price)
        known = self.items.get(key)
        total = quantity + (known.quantity if known else 0.0)
        self.items[key] = LineItem(self.part, what, total, price, (known.note if known else "") or note)


@dataclass
class Pricing:
    """One estimate in the making: the stack, the assumptions, a ledger per part, and notes for the reader."""

    synthesis: Synthesis
    assumptions: Assumptions
    ledgers: dict[str, Ledger] = field(default_factory=lambda: {part: Ledger(part) for part in PARTS})
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Estimate:
    items: list[LineItem]
    notes: list[str]
    assumptions: Assumptions

    def per_million(self, *parts: str) -> float:
        """The cost of a million images in `parts` (every part when none is named)."""
        return sum(item.per_million for item in self.items if not parts or item.part in parts)

    @property
    def total_per_million(self) -> float:
        return self.per_million()

    @property
    def one_off_per_million(self) -> float:
        """What processing a million images costs, without keeping them."""
        return self.per_million(*ONE_OFF_PARTS)


def routes(assumptions: Assumptions) -> dict[str, Route]:
    """The paths uploads take, with their shares of all uploads; a route no upload takes is left out."""
    rendered = 1 - assumptions.heavy_share - assumptions.refused_share
    every = {
        ROUTE_LAMBDA: Route(rendered, {ROUTE_VARIABLE: ROUTE_LAMBDA}),
        ROUTE_FARGATE: Route(assumptions.heavy_share, {ROUTE_VARIABLE: ROUTE_FARGATE}),
        ROUTE_REFUSED: Route(assumptions.refused_share, {}, raises=REFUSALS[:1]),
    }
    return {name: route for name, route in every.items() if route.share > 0}


def estimate(synthesis: Synthesis, assumptions: Assumptions) -> Estimate:
    """Line items per image for the stack. Raises WorkloadError when the definitions hold something unmodelled."""
    pricing = Pricing(synthesis, assumptions)
    _upload(pricing)
    for execution in executions(synthesis, routes(assumptions)):
        ledger = pricing.ledgers[REFUSED_IMAGES if execution.route == ROUTE_REFUSED else PROCESSING]
        _workflow(pricing, execution, ledger)
        for step in execution.steps:
            _step(pricing, execution, step, execution.share, ledger)
            _retry(pricing, execution, step)
            _cold_start(pricing, execution, step)
    _storage(pricing)
    for ledger in pricing.ledgers.values():
        _kms(pricing, ledger)
    pricing.notes.extend(_aurora_floor(synthesis))
    pricing.notes.append(_custom_metrics())
    pricing.notes.extend(_container_insights(synthesis))
    items = [item for ledger in pricing.ledgers.values() for item in ledger.items.values()]
    return Estimate(items, pricing.notes, assumptions)


def _upload(pricing: Pricing) -> None:
    """The client's PUT, and the events the uploads bucket sends to EventBridge for it (it sends all of its
    events, matched or not: an expiring upload sends an Object Deleted later)."""
    ledger = pricing.ledgers[PROCESSING]
    ledger.add("S3 PUT: the upload", 1, prices.S3_PUT)
    ledger.object_requests += 1
    expires = expiration_days(pricing.synthesis, *uploads(pricing.synthesis)) is not None
    note = "Object Created, then Object Deleted when the lifecycle rule expires it" if expires else "Object Created"
    ledger.add("EventBridge events from the uploads bucket", 2 if expires else 1, prices.EVENTBRIDGE_EVENT, note)


def _workflow(pricing: Pricing, execution: Execution, ledger: Ledger) -> None:
    share, name = execution.share, execution.machine.name
    if execution.workflow_type == "EXPRESS":
        milliseconds = sum(_step_ms(pricing, execution, step) + pricing.assumptions.state_overhead_ms
                           for step in execution.steps)  # fmt: skip
        billed_seconds = math.ceil(milliseconds / 100) / 10
        ledger.add("Step Functions Express requests", share, prices.EXPRESS_REQUEST)
        _express_seconds(pricing, ledger, share * billed_seconds, "64 MB steps, 100 ms rounding")
    else:
        ledger.add("Step Functions Standard state transitions", share * len(execution.steps),
                   prices.STANDARD_TRANSITION, f"{name}: {len(execution.steps)} states on the path")  # fmt: skip
    _history(pricing, execution, ledger, share * _logged_events(execution))
    traced = (execution.machine.inputs.get("tracingConfiguration") or {}).get("enabled")
    if traced and not execution.handed_over:  # a handed-over execution continues the trace it was started in
        sampled, note = _sampled(pricing, execution.machine)
        ledger.add("X-Ray traces recorded", share * sampled, prices.XRAY_TRACE, note)


def _sampled(pricing: Pricing, machine: RecordedResource) -> tuple[float, str]:
    """The share of the state machine's executions X-Ray records, by the sampling rule that matches it (X-Ray's
    Default rule when the stack declares none): its reservoir traces up to that many executions a second, its fixed
    rate that share of the rest. Priced at `images_per_second`, evenly spread, which traces the most: bursts
    overflow the reservoir into the fixed rate. A Lambda invoked in an execution follows the execution's decision."""
    rule = _sampling_rule(pricing.synthesis, str(machine.inputs.get("name", "")))
    reservoir, rate = int(rule.get("reservoirSize", 0)), float(rule.get("fixedRate", 0.0))
    per_second = pricing.assumptions.images_per_second
    from_reservoir = min(1.0, reservoir / per_second)
    sampled = from_reservoir + rate * (1 - from_reservoir)
    name = rule.get("ruleName")
    if not reservoir:
        return sampled, f"sampling rule {name}: {rate:.1%} of executions, no reservoir"
    return sampled, (f"sampling rule {name}: {reservoir} a second, then {rate:.1%}, at {per_second:.2g} executions a "
                     "second (images_per_second)")  # fmt: skip


def _sampling_rule(synthesis: Synthesis, machine_name: str) -> Mapping[str, Any]:
    """The first rule by priority whose service name and type match the state machine's segments (wildcards `*`
    and `?` as X-Ray has them), or X-Ray's Default rule."""
    matching = [rule.inputs for rule in synthesis.of_type(SAMPLING_RULE)
                if fnmatch.fnmatchcase(machine_name, str(rule.inputs.get("serviceName", "*")))
                and fnmatch.fnmatchcase(XRAY_SERVICE_TYPE, str(rule.inputs.get("serviceType", "*")))]  # fmt: skip
    return min(matching, key=lambda rule: int(rule.get("priority", 0)), default=DEFAULT_SAMPLING)


def _express_seconds(pricing: Pricing, ledger: Ledger, seconds: float, note: str) -> None:
    ledger.add("Step Functions Express duration (GB-s)", seconds * pricing.assumptions.express_memory_gb,
               prices.EXPRESS_GB_SECOND, note)  # fmt: skip


def _logging(execution: Execution) -> tuple[str, bool]:
    """The workflow's execution-history level and whether it logs execution data."""
    logging = execution.machine.inputs.get("loggingConfiguration") or {}
    return str(logging.get("level", "OFF")), bool(logging.get("includeExecutionData"))


def _logged_events(execution: Execution) -> int:
    """Execution history events the path logs at the workflow's level: at ALL, started and ended, two per state,
    more per task; at ERROR, each failed task, and a failed execution's Fail state and end; at FATAL, a failed
    execution's end."""
    level, _ = _logging(execution)
    if level == "ALL":
        return 2 + sum(_state_events(step) for step in execution.steps)
    if level == "ERROR":
        return sum(1 for step in execution.steps if step.raised) + FAILED_END_EVENTS * execution.failed
    return int(execution.failed) if level == "FATAL" else 0


def _history(pricing: Pricing, execution: Execution, ledger: Ledger, events: float) -> None:
    """`events` history events per image, at the size the workflow's logging gives them."""
    level, with_data = _logging(execution)
    if not events:
        return
    per_event = pricing.assumptions.log_event_bytes if with_data else pricing.assumptions.log_event_bytes_without_data
    ledger.add("CloudWatch Logs: workflow execution history (GB)", events * per_event / GB, prices.LOGS_INGESTED_GB,
               f"level {level}" + (" with execution data" if with_data else ""))  # fmt: skip


def _state_events(step: Step) -> int:
    if not step.is_task:
        return 2
    return TASK_EVENTS + (1 if step.resource.endswith(".sync") else 0)


def _step_ms(pricing: Pricing, execution: Execution, step: Step) -> float:
    """Time a state takes inside an Express execution (what its duration bills)."""
    assumptions = pricing.assumptions
    if _is_lambda(step):
        invocation = _invocation(pricing.synthesis, execution, step)
        return lambda_milliseconds(invocation.work, invocation.memory_mb, invocation.renditions, assumptions)
    if step.resource == DATA_API:
        return assumptions.data_api_ms
    if step.resource.startswith((START_EXECUTION, DYNAMODB_TASK)):
        return assumptions.api_call_ms
    return 0.0


def _step(pricing: Pricing, execution: Execution, step: Step, share: float, ledger: Ledger) -> None:
    """What the state's service bills for `share` of images running it once."""
    if not step.is_task or step.resource == START_EXECUTION:
        return
    if _is_lambda(step):
        _lambda(pricing, execution, step, share, ledger)
    elif step.resource.startswith(ECS_RUN_TASK):
        _fargate(pricing, step, share, ledger)
    elif step.resource == DATA_API:
        _insert(pricing.assumptions, step, share, ledger)
    elif step.resource.startswith(DYNAMODB_TASK):
        ledger.add("DynamoDB write request units", share, prices.DYNAMODB_WRITE)
    elif (unpriced := f"not priced: state {step.state} calls {step.resource}") not in pricing.notes:
        pricing.notes.append(unpriced)  # once, though a retry runs the state again


def _retry(pricing: Pricing, execution: Execution, step: Step) -> None:
    """`retry_share` of a task's attempts fail transiently and run again: the service bills the step again, the
    execution waits the first retry interval (Express bills it) or takes one more transition (Standard), and the
    history logs the failed attempt."""
    if not step.is_task or not step.retriers or not pricing.assumptions.retry_share:
        return
    ledger = pricing.ledgers[RETRIES]
    share = execution.share * pricing.assumptions.retry_share
    _step(pricing, execution, step, share, ledger)
    if execution.workflow_type == "EXPRESS":
        seconds = _step_ms(pricing, execution, step) / 1000 + _first_wait_seconds(step.retriers[0])
        _express_seconds(pricing, ledger, share * seconds, "the retried step again, after its first interval")
    else:
        ledger.add("Step Functions Standard state transitions", share, prices.STANDARD_TRANSITION,
                   "each retry is a state transition")  # fmt: skip
    level, _ = _logging(execution)
    _history(pricing, execution, ledger, share * {"ALL": RETRY_EVENTS, "ERROR": 1}.get(level, 0))


def _first_wait_seconds(retrier: Mapping[str, Any]) -> float:
    """The average wait before a first retry: the interval (1 s unless stated), halved by full jitter."""
    interval = float(retrier.get("IntervalSeconds", 1))
    return interval * (FULL_JITTER if retrier.get("JitterStrategy") == "FULL" else 1.0)


def _cold_start(pricing: Pricing, execution: Execution, step: Step) -> None:
    """`cold_start_share` of invocations run INIT first: the handler's import, billed at the function's memory
    (and as slow as its CPU share makes it) since Lambda bills INIT on managed runtimes."""
    assumptions = pricing.assumptions
    if not _is_lambda(step) or not assumptions.cold_start_share:
        return
    invocation = _invocation(pricing.synthesis, execution, step)
    init_ms, source = assumptions.init_ms_of(str(invocation.function.inputs.get("handler")))
    seconds = init_ms * _cpu_scale(invocation.memory_mb) / 1000
    gb_seconds = execution.share * assumptions.cold_start_share * seconds * invocation.memory_mb / 1024
    pricing.ledgers[COLD_STARTS].add(
        f"Lambda INIT duration (GB-s, {invocation.architecture})", gb_seconds,
        prices.LAMBDA_GB_SECOND[invocation.architecture],
        f"[billed]({prices.LAMBDA_INIT_BILLING}) since {prices.LAMBDA_INIT_BILLED_SINCE}: {init_ms:g} ms on one "
        f"vCPU ({source})",
    )  # fmt: skip


def _is_lambda(step: Step) -> bool:
    return step.resource.startswith("arn:aws:lambda:") or step.resource.startswith(LAMBDA_INVOKE)


@dataclass(frozen=True)
class Invocation:
    """A Lambda task's function as the stack declares it, and the work its handler does on the route."""

    function: RecordedResource
    work: HandlerWork
    memory_mb: int
    architecture: str
    renditions: int


def _invocation(synthesis: Synthesis, execution: Execution, step: Step) -> Invocation:
    function = _function(synthesis, step)
    handler = HANDLERS.get(str(function.inputs.get("handler")))
    if handler is None:
        raise WorkloadError(
            f"{function.name}: no measured work for handler {function.inputs.get('handler')!r}; "
            "add it to HANDLERS in app/review/assumptions.py"
        )
    if step.raised:
        work = REFUSED
    elif execution.route == ROUTE_FARGATE and handler.fargate_route:
        work = handler.fargate_route
    else:
        work = handler.lambda_route
    variables = (function.inputs.get("environment") or {}).get("variables", {})
    return Invocation(
        function=function,
        work=work,
        memory_mb=int(function.inputs["memorySize"]),
        architecture=(function.inputs.get("architectures") or ["x86_64"])[0],
        renditions=_renditions(variables) if work.s3_puts_per_rendition else 0,
    )


def _lambda(pricing: Pricing, execution: Execution, step: Step, share: float, ledger: Ledger) -> None:
    invocation = _invocation(pricing.synthesis, execution, step)
    milliseconds = lambda_milliseconds(invocation.work, invocation.memory_mb, invocation.renditions,
                                       pricing.assumptions)  # fmt: skip
    gb_seconds = milliseconds / 1000 * invocation.memory_mb / 1024
    ledger.add("Lambda requests", share, prices.LAMBDA_REQUEST)
    ledger.add(f"Lambda duration (GB-s, {invocation.architecture})", share * gb_seconds,
               prices.LAMBDA_GB_SECOND[invocation.architecture],
               "CPU scales with memory up to 1,769 MB (one vCPU)")  # fmt: skip
    _handler_calls(invocation.work, invocation.renditions, share, ledger)


def lambda_milliseconds(work: HandlerWork, memory_mb: int, renditions: int, assumptions: Assumptions) -> float:
    """Compute slowed by the CPU share the memory buys, plus the requests and the download."""
    figures = {"validate": assumptions.validate_cpu_ms, "render": assumptions.render_cpu_ms}
    cpu_ms = sum(figures[figure] for figure in work.cpu)
    requests = work.s3_get_class + work.s3_puts_per_rendition * renditions + work.dynamodb_calls
    download_ms = work.downloads * assumptions.upload_mb / assumptions.s3_mb_per_second * 1000
    return cpu_ms * _cpu_scale(memory_mb) + requests * assumptions.request_ms + download_ms


def _cpu_scale(memory_mb: int) -> float:
    """How much slower than on one full core: Lambda's CPU share grows with memory up to one vCPU."""
    return max(1.0, LAMBDA_MB_PER_VCPU / memory_mb)


def _handler_calls(work: HandlerWork, renditions: int, share: float, ledger: Ledger) -> None:
    ledger.object_requests += share * (work.downloads + work.s3_puts_per_rendition * renditions)
    ledger.add("S3 GET and HEAD requests", share * work.s3_get_class, prices.S3_GET)
    if work.s3_puts_per_rendition:
        ledger.add("S3 PUT: renditions", share * work.s3_puts_per_rendition * renditions, prices.S3_PUT)
    ledger.add("DynamoDB write request units", share * work.dynamodb_write_units, prices.DYNAMODB_WRITE,
               "records and idempotency: items of 0.3-1.1 KB")  # fmt: skip
    ledger.add("DynamoDB read request units", 0, prices.DYNAMODB_READ,
               "none on the happy path: conditional writes, no reads")  # fmt: skip
    ledger.add("CloudWatch Logs: handler logs (GB)", share * work.log_bytes / GB, prices.LOGS_INGESTED_GB)


def _fargate(pricing: Pricing, step: Step, share: float, ledger: Ledger) -> None:
    """The task's own seconds, and apart from them what Fargate's one-minute minimum bills beyond them."""
    task = _task_definition(pricing.synthesis, step)
    architecture = (task.inputs.get("runtimePlatform") or {}).get("cpuArchitecture", "X86_64")
    vcpu = int(task.inputs["cpu"]) / 1024
    memory_gb = int(task.inputs["memory"]) / 1024
    seconds = pricing.assumptions.fargate_task_seconds
    topped_up = max(prices.FARGATE_MINIMUM_SECONDS - seconds, 0)
    billed = (("Fargate", seconds, f"{seconds} s per task (pull, start, render)"),
              ("Fargate minimum billing:", topped_up,
               f"{topped_up} s more per task: Fargate bills at least {prices.FARGATE_MINIMUM_SECONDS} s"))  # fmt: skip
    for label, billed_seconds, note in billed:
        if billed_seconds:
            hours = share * billed_seconds / SECONDS_PER_HOUR
            ledger.add(f"{label} vCPU-hours ({vcpu:g} vCPU)", hours * vcpu, prices.FARGATE_VCPU_HOUR[architecture],
                       note)  # fmt: skip
            ledger.add(f"{label} GB-hours ({memory_gb:g} GB)", hours * memory_gb, prices.FARGATE_GB_HOUR[architecture])
    network = step.parameters.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
    if network.get("AssignPublicIp") == "ENABLED":
        ledger.add("Public IPv4 address of the task (hours)", share * seconds / SECONDS_PER_HOUR,
                   prices.PUBLIC_IPV4_HOUR, "egress public-ip: the task's address bills while it runs")  # fmt: skip
    _handler_calls(WORKER, _renditions(_container_environment(task)), share, ledger)


def _insert(assumptions: Assumptions, step: Step, share: float, ledger: Ledger) -> None:
    ledger.add("RDS Data API requests", share, prices.DATA_API_REQUEST)
    ledger.add("Aurora Serverless v2 ACU-hours for the insert", share * assumptions.insert_acu
               * assumptions.data_api_ms / 1000 / SECONDS_PER_HOUR, prices.AURORA_ACU_HOUR,
               f"{assumptions.insert_acu:g} ACU for {assumptions.data_api_ms:g} ms")  # fmt: skip
    if step.parameters.get("SecretArn"):
        ledger.add("Secrets Manager calls by the Data API", share, prices.SECRETS_MANAGER_CALL, DATA_API_SECRET_NOTE)


def _storage(pricing: Pricing) -> None:
    """`storage_days` of the upload (every one, refused included), the accepted images' renditions and the logs
    the other parts ingest, each for as long as the stack keeps it within those days."""
    synthesis, assumptions = pricing.synthesis, pricing.assumptions
    ledger, window = pricing.ledgers[STORAGE], assumptions.storage_days
    upload_days = _kept_days(window, expiration_days(synthesis, *uploads(synthesis)))
    ledger.add("S3 Standard storage: the upload (GB-month)", assumptions.upload_mb / 1024 * _months(upload_days),
               prices.S3_STANDARD_GB_MONTH, _kept_note(f"{assumptions.upload_mb:g} MB", upload_days, window,
                                                       "the uploads bucket's expiration"))  # fmt: skip
    renditions_days = _kept_days(window, expiration_days(synthesis, results_bucket(synthesis), RENDITIONS_PREFIX))
    accepted = 1 - assumptions.refused_share
    ledger.add("S3 Standard storage: renditions (GB-month)",
               accepted * assumptions.rendition_bytes / GB * _months(renditions_days), prices.S3_STANDARD_GB_MONTH,
               _kept_note(f"{assumptions.rendition_bytes / 1024:,.0f} KB", renditions_days, window,
                          "the results bucket's expiration"))  # fmt: skip
    logged_gb = sum(item.quantity for part in ONE_OFF_PARTS for item in pricing.ledgers[part].items.values()
                    if item.price is prices.LOGS_INGESTED_GB)  # fmt: skip
    log_days = _kept_days(window, log_retention_days(synthesis))
    ledger.add("CloudWatch Logs storage (GB-month)", logged_gb * _months(log_days), prices.LOGS_STORED_GB_MONTH,
               _kept_note("every log line above, as ingested (an upper bound)", log_days, window,
                          "the log groups' retention"))  # fmt: skip


def _months(days: int) -> float:
    return days * 24 / HOURS_PER_MONTH


def _kept_days(window: int, expires_after: int | None) -> int:
    return window if expires_after is None else min(window, expires_after)


def _kept_note(what: str, days: int, window: int, because: str) -> str:
    return f"{what} for {days} days" + (f" ({because})" if days < window else "")


def _kms(pricing: Pricing, ledger: Ledger) -> None:
    """Object reads and writes on SSE-KMS buckets; Bucket Keys make most of them never reach KMS."""
    encryption = [r for r in pricing.synthesis.resources if r.type.endswith(":BucketServerSideEncryptionConfiguration")]
    rules = [rule for config in encryption for rule in config.inputs.get("rules", [])]
    kms_rules = [r for r in rules if r.get("applyServerSideEncryptionByDefault", {}).get("sseAlgorithm") == "aws:kms"]
    if not kms_rules or not ledger.object_requests:
        return
    data_requests = ledger.object_requests
    bucket_keys = all(rule.get("bucketKeyEnabled") for rule in kms_rules)
    factor = 1 - pricing.assumptions.bucket_key_reduction if bucket_keys else 1.0
    note = (f"{data_requests:.2g} object reads and writes per image, {1 - factor:.0%} avoided by S3 Bucket Keys"
            if bucket_keys else f"{data_requests:.2g} object reads and writes per image")  # fmt: skip
    ledger.add("KMS requests (customer-managed key)", data_requests * factor, prices.KMS_REQUEST, note)


def _aurora_floor(synthesis: Synthesis) -> Iterator[str]:
    for cluster in synthesis.of_type("aws:rds/cluster:Cluster"):
        minimum = (cluster.inputs.get("serverlessv2ScalingConfiguration") or {}).get("minCapacity", 0)
        floor = max(float(minimum), 0.5)
        monthly = floor * prices.AURORA_ACU_HOUR.per_unit * HOURS_PER_MONTH
        yield (f"{cluster.name}: traffic with fewer than 5 idle minutes in a row keeps the cluster running at "
               f"{floor:g} ACU or more, ${monthly:,.2f}/month whatever the number of images; the insert line "
               "above is only the marginal capacity")  # fmt: skip


def _custom_metrics() -> str:
    return (f"custom metrics: the handlers publish up to {len(PUBLISHED_METRICS)} ({METRICS_NAMESPACE}, by route and "
            f"by refusal), each billed {_billed_by_the_hour(len(PUBLISHED_METRICS), 'uploads arrive')}")  # fmt: skip


def _billed_by_the_hour(metrics: int, activity: str) -> str:
    """How `metrics` custom metrics bill: for each hour one receives data, so a month of hourly activity bills each
    one in full, whatever the number of images."""
    price = prices.CUSTOM_METRIC_MONTH
    return (
        f"[{price.label}]({price.source}) for the hours it receives data: up to "
        f"${metrics * price.per_unit:,.2f}/month while {activity} every hour, whatever the number of images"
    )


def _container_insights(synthesis: Synthesis) -> Iterator[str]:
    """A note for each ECS cluster whose own setting turns Container Insights on. Its metrics are custom metrics that
    receive data only while a task runs: tasks at least hourly bill each one the whole month, whatever the number of
    images. Its performance log events, ingested as CloudWatch Logs for every task, are left unpriced: AWS shows their
    fields but not how often a task writes them, and a guessed cadence would look like a measured line."""
    logs = prices.LOGS_INGESTED_GB
    for cluster in synthesis.of_type(ECS_CLUSTER):
        level = _insights_level(cluster)
        if level == "enhanced":
            yield (f"Container Insights on {cluster.name}: not priced: enhanced observability is billed per "
                   "observation, which this model does not count")  # fmt: skip
        if level != "enabled":
            continue
        families = _families_run_on(synthesis, cluster)
        count = len(CLUSTER_METRICS) + len(TASK_METRICS) * (1 + len(families))
        group = performance_log_group_name(cluster.inputs.get("name", cluster.name))
        yield (f"Container Insights on {cluster.name}: up to {count} [metrics]({CONTAINER_INSIGHTS_METRICS}) in "
               f"{CONTAINER_INSIGHTS_NAMESPACE} ({len(TASK_METRICS)} of its tasks by cluster and again by task "
               f"definition family, {', '.join(families) or 'none run by a workflow'}; {len(CLUSTER_METRICS)} "
               "cluster counts; none by service, which a workflow's task has not), custom metrics that receive data "
               f"while a task runs, each billed {_billed_by_the_hour(count, 'tasks run')}; not priced: its "
               f"[performance log events]({CONTAINER_INSIGHTS_LOGS}) in {group}, ingested at "
               f"[{logs.label}]({logs.source}) for every task, as AWS does not document how often a task writes "
               "them")  # fmt: skip


def _insights_level(cluster: RecordedResource) -> str:
    """The cluster's `containerInsights` setting: `enabled`, `enhanced`, or `disabled` when it has none."""
    settings = cluster.inputs.get("settings") or []
    return next((str(s.get("value")) for s in settings if s.get("name") == "containerInsights"), "disabled")


def _families_run_on(synthesis: Synthesis, cluster: RecordedResource) -> list[str]:
    """The task definition families the stack's workflows run on the cluster: a TaskDefinitionFamily dimension
    value each."""
    names = {cluster.outputs.get("arn"), cluster.inputs.get("name")} - {None}
    families = set()
    for machine in synthesis.of_type(STATE_MACHINE):
        for name, state in definition_of(machine.inputs).get("States", {}).items():
            parameters = state.get("Parameters") or {}
            if str(state.get("Resource", "")).startswith(ECS_RUN_TASK) and parameters.get("Cluster") in names:
                task = _task_definition_named(synthesis, parameters.get("TaskDefinition"), name)
                families.add(str(task.inputs.get("family")))
    return sorted(families)


def _function(synthesis: Synthesis, step: Step) -> RecordedResource:
    arn = str(step.parameters.get("FunctionName", step.resource)).split(":$")[0]
    for function in synthesis.of_type("aws:lambda/function:Function"):
        if arn in (function.outputs.get("arn"), function.inputs.get("name")):
            return function
    raise WorkloadError(f"state {step.state} invokes {arn!r}, which this stack does not declare")


def _task_definition(synthesis: Synthesis, step: Step) -> RecordedResource:
    return _task_definition_named(synthesis, step.parameters.get("TaskDefinition"), step.state)


def _task_definition_named(synthesis: Synthesis, arn: object, state: str) -> RecordedResource:
    for task in synthesis.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        if arn in (task.outputs.get("arn"), task.outputs.get("arnWithoutRevision"), task.inputs.get("family")):
            return task
    raise WorkloadError(f"state {state} runs task definition {arn!r}, which this stack does not declare")


def _container_environment(task: RecordedResource) -> dict[str, str]:
    containers = json.loads(task.inputs["containerDefinitions"])
    return {pair["name"]: pair["value"] for c in containers for pair in c.get("environment", [])}


def _renditions(environment: Mapping[str, Any]) -> int:
    sizes = str(environment.get(RENDITION_SIZES_ENV, ""))
    if not sizes:
        raise WorkloadError(f"a rendering handler has no {RENDITION_SIZES_ENV} in its environment (app/environment.py)")
    return len(sizes.split(","))
