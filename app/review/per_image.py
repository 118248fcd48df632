"""The cost of a million images with a stack's configuration: every billed request, second and byte an image
causes, from the state machines the stack declares (app/review/workload.py), the Lambda and Fargate sizes it
declares, and the handlers' measured calls (app/review/assumptions.py), each priced from policy/rules/prices.py.

Two routes: most images validate and render in Lambda; `heavy_share` of them are handed to the Fargate worker.
The rule's state machine is walked once per route, and any workflow it hands over to with the same share.
"""

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.review.assumptions import HANDLERS, LAMBDA_MB_PER_VCPU, WORKER, Assumptions, HandlerWork
from app.review.workload import Execution, Step, WorkloadError, executions
from handlers.pipeline.contract import RENDITION_SIZES_ENV, ROUTE_FARGATE, ROUTE_LAMBDA
from policy.rules import prices
from policy.rules.prices import HOURS_PER_MONTH, Price
from synth.program import RecordedResource, Synthesis

ROUTE_VARIABLE = "$.validation.route"
"""The Choice variable that sends an upload to the Lambda or to Fargate (app/definition.py)."""
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
ECS_RUN_TASK = "arn:aws:states:::ecs:runTask"
DATA_API = "arn:aws:states:::aws-sdk:rdsdata:executeStatement"
DYNAMODB_TASK = "arn:aws:states:::dynamodb:"
START_EXECUTION = "arn:aws:states:::states:startExecution"
GB = 1024**3
TASK_EVENTS = 5
"""Entered, Scheduled, Started, Succeeded, Exited (a `.sync` task adds Submitted)."""


@dataclass(frozen=True)
class LineItem:
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
    """Quantities per image, merged by what and price, in the order first added."""

    items: dict[tuple[str, Price], LineItem] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    object_requests: float = 0.0
    """Whole-object reads and writes per image: the S3 requests that need the bucket's KMS key."""

    def add(self, what: str, quantity: float, price: Price, note: str = "") -> None:
        key = (what, price)
        known = self.items.get(key)
        total = quantity + (known.quantity if known else 0.0)
        self.items[key] = LineItem(what, total, price, note or (known.note if known else ""))


@dataclass(frozen=True)
class Estimate:
    items: list[LineItem]
    notes: list[str]
    assumptions: Assumptions

    @property
    def total_per_million(self) -> float:
        return sum(item.per_million for item in self.items)


def estimate(synthesis: Synthesis, assumptions: Assumptions) -> Estimate:
    """Line items per image for the stack. Raises WorkloadError when the definitions hold something unmodelled."""
    routes = {
        ROUTE_LAMBDA: (1 - assumptions.heavy_share, {ROUTE_VARIABLE: ROUTE_LAMBDA}),
        ROUTE_FARGATE: (assumptions.heavy_share, {ROUTE_VARIABLE: ROUTE_FARGATE}),
    }
    ledger = Ledger()
    _upload(synthesis, ledger)
    for execution in executions(synthesis, routes):
        _workflow(synthesis, execution, assumptions, ledger)
        for step in execution.steps:
            _step(synthesis, step, execution.share, assumptions, ledger)
    _kms(synthesis, ledger, assumptions)
    ledger.notes.extend(_aurora_floor(synthesis))
    return Estimate(list(ledger.items.values()), ledger.notes, assumptions)


def _upload(synthesis: Synthesis, ledger: Ledger) -> None:
    """The client's PUT, and the events the uploads bucket sends to EventBridge for it (it sends all of its
    events, matched or not: an expiring upload sends an Object Deleted later)."""
    ledger.add("S3 PUT: the upload", 1, prices.S3_PUT)
    ledger.object_requests += 1
    bucket = _uploads_bucket(synthesis)
    expires = bucket is not None and _expires(synthesis, bucket)
    note = "Object Created, then Object Deleted when the lifecycle rule expires it" if expires else "Object Created"
    ledger.add("EventBridge events from the uploads bucket", 2 if expires else 1, prices.EVENTBRIDGE_EVENT, note)


def _workflow(synthesis: Synthesis, execution: Execution, assumptions: Assumptions, ledger: Ledger) -> None:
    share, name = execution.share, execution.machine.name
    if execution.workflow_type == "EXPRESS":
        milliseconds = sum(_step_ms(synthesis, step, assumptions) + assumptions.state_overhead_ms
                           for step in execution.steps)  # fmt: skip
        billed_seconds = math.ceil(milliseconds / 100) / 10
        ledger.add("Step Functions Express requests", share, prices.EXPRESS_REQUEST)
        ledger.add("Step Functions Express duration (GB-s)", share * billed_seconds * assumptions.express_memory_gb,
                   prices.EXPRESS_GB_SECOND, "64 MB steps, 100 ms rounding")  # fmt: skip
    else:
        ledger.add("Step Functions Standard state transitions", share * len(execution.steps),
                   prices.STANDARD_TRANSITION, f"{name}: {len(execution.steps)} states on the happy path")  # fmt: skip
    logged = _logged_bytes(execution, assumptions)
    if logged:
        ledger.add("CloudWatch Logs: workflow execution history (GB)", share * logged / GB, prices.LOGS_INGESTED_GB,
                   "level ALL with execution data")  # fmt: skip
    traced = (execution.machine.inputs.get("tracingConfiguration") or {}).get("enabled")
    if traced and not execution.handed_over:  # a handed-over execution continues the trace it was started in
        ledger.add("X-Ray traces recorded", share, prices.XRAY_TRACE,
                   "at most: the default sampling rule traces the first request each second, then 5%")  # fmt: skip


def _logged_bytes(execution: Execution, assumptions: Assumptions) -> float:
    """Execution history events a happy path logs: started and succeeded, two per state, three more per task."""
    logging = execution.machine.inputs.get("loggingConfiguration") or {}
    if logging.get("level") != "ALL":
        return 0.0
    events = 2 + sum(_history_events(step) for step in execution.steps)
    per_event = assumptions.log_event_bytes if logging.get("includeExecutionData") else 400
    return float(events * per_event)


def _history_events(step: Step) -> int:
    if not step.is_task:
        return 2
    return TASK_EVENTS + (1 if step.resource.endswith(".sync") else 0)


def _step_ms(synthesis: Synthesis, step: Step, assumptions: Assumptions) -> float:
    """Time a state takes inside an Express execution (what its duration bills)."""
    if _is_lambda(step):
        invocation = _invocation(synthesis, step)
        return lambda_milliseconds(invocation.work, invocation.memory_mb, invocation.renditions, assumptions)
    if step.resource == DATA_API:
        return assumptions.data_api_ms
    if step.resource.startswith((START_EXECUTION, DYNAMODB_TASK)):
        return assumptions.api_call_ms
    return 0.0


def _step(synthesis: Synthesis, step: Step, share: float, assumptions: Assumptions, ledger: Ledger) -> None:
    if not step.is_task or step.resource == START_EXECUTION:
        return
    if _is_lambda(step):
        _lambda(synthesis, step, share, assumptions, ledger)
    elif step.resource.startswith(ECS_RUN_TASK):
        _fargate(synthesis, step, share, assumptions, ledger)
    elif step.resource == DATA_API:
        _insert(step, share, assumptions, ledger)
    elif step.resource.startswith(DYNAMODB_TASK):
        ledger.add("DynamoDB write request units", share, prices.DYNAMODB_WRITE)
    else:
        ledger.notes.append(f"not priced: state {step.state} calls {step.resource}")


def _is_lambda(step: Step) -> bool:
    return step.resource.startswith("arn:aws:lambda:") or step.resource.startswith(LAMBDA_INVOKE)


@dataclass(frozen=True)
class Invocation:
    """A Lambda task's function as the stack declares it, and the work its handler does."""

    function: RecordedResource
    work: HandlerWork
    memory_mb: int
    architecture: str
    renditions: int


def _invocation(synthesis: Synthesis, step: Step) -> Invocation:
    function = _function(synthesis, step)
    work = HANDLERS.get(str(function.inputs.get("handler")))
    if work is None:
        raise WorkloadError(
            f"{function.name}: no measured work for handler {function.inputs.get('handler')!r}; "
            "add it to HANDLERS in app/review/assumptions.py"
        )
    variables = (function.inputs.get("environment") or {}).get("variables", {})
    return Invocation(
        function=function,
        work=work,
        memory_mb=int(function.inputs["memorySize"]),
        architecture=(function.inputs.get("architectures") or ["x86_64"])[0],
        renditions=_renditions(variables) if work.s3_puts_per_rendition else 0,
    )


def _lambda(synthesis: Synthesis, step: Step, share: float, assumptions: Assumptions, ledger: Ledger) -> None:
    invocation = _invocation(synthesis, step)
    milliseconds = lambda_milliseconds(invocation.work, invocation.memory_mb, invocation.renditions, assumptions)
    gb_seconds = milliseconds / 1000 * invocation.memory_mb / 1024
    ledger.add("Lambda requests", share, prices.LAMBDA_REQUEST)
    ledger.add(f"Lambda duration (GB-s, {invocation.architecture})", share * gb_seconds,
               prices.LAMBDA_GB_SECOND[invocation.architecture],
               "CPU scales with memory up to 1,769 MB (one vCPU)")  # fmt: skip
    _handler_calls(invocation.work, invocation.renditions, share, ledger)


def lambda_milliseconds(work: HandlerWork, memory_mb: int, renditions: int, assumptions: Assumptions) -> float:
    """Compute slowed by the CPU share the memory buys, plus the requests and the download."""
    cpu_ms = assumptions.render_cpu_ms if work.cpu == "render" else assumptions.validate_cpu_ms
    cpu_scale = max(1.0, LAMBDA_MB_PER_VCPU / memory_mb)
    requests = work.s3_get_class + work.s3_puts_per_rendition * renditions + work.dynamodb_calls
    download_ms = work.downloads * assumptions.upload_mb / assumptions.s3_mb_per_second * 1000
    return cpu_ms * cpu_scale + requests * assumptions.request_ms + download_ms


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


def _fargate(synthesis: Synthesis, step: Step, share: float, assumptions: Assumptions, ledger: Ledger) -> None:
    task = _task_definition(synthesis, step)
    architecture = (task.inputs.get("runtimePlatform") or {}).get("cpuArchitecture", "X86_64")
    vcpu = int(task.inputs["cpu"]) / 1024
    memory_gb = int(task.inputs["memory"]) / 1024
    hours = assumptions.fargate_billed_seconds / 3600
    ledger.add(f"Fargate vCPU-hours ({vcpu:g} vCPU)", share * vcpu * hours, prices.FARGATE_VCPU_HOUR[architecture],
               f"{assumptions.fargate_billed_seconds} s billed per task (the minimum)")  # fmt: skip
    ledger.add(f"Fargate GB-hours ({memory_gb:g} GB)", share * memory_gb * hours, prices.FARGATE_GB_HOUR[architecture])
    network = step.parameters.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
    if network.get("AssignPublicIp") == "ENABLED":
        ledger.add("Public IPv4 address of the task (hours)", share * hours, prices.PUBLIC_IPV4_HOUR,
                   "egress public-ip: the task's address bills while it runs")  # fmt: skip
    _handler_calls(WORKER, _renditions(_container_environment(task)), share, ledger)


def _insert(step: Step, share: float, assumptions: Assumptions, ledger: Ledger) -> None:
    ledger.add("RDS Data API requests", share, prices.DATA_API_REQUEST)
    ledger.add("Aurora Serverless v2 ACU-hours for the insert", share * assumptions.insert_acu
               * assumptions.data_api_ms / 1000 / 3600, prices.AURORA_ACU_HOUR,
               f"{assumptions.insert_acu:g} ACU for {assumptions.data_api_ms:g} ms")  # fmt: skip
    if step.parameters.get("SecretArn"):
        ledger.add("Secrets Manager calls by the Data API", share, prices.SECRETS_MANAGER_CALL,
                   "upper bound: one GetSecretValue per statement")  # fmt: skip


def _kms(synthesis: Synthesis, ledger: Ledger, assumptions: Assumptions) -> None:
    """Object reads and writes on SSE-KMS buckets; Bucket Keys make most of them never reach KMS."""
    encryption = [r for r in synthesis.resources if r.type.endswith(":BucketServerSideEncryptionConfiguration")]
    rules = [rule for config in encryption for rule in config.inputs.get("rules", [])]
    kms_rules = [r for r in rules if r.get("applyServerSideEncryptionByDefault", {}).get("sseAlgorithm") == "aws:kms"]
    if not kms_rules:
        return
    data_requests = ledger.object_requests
    bucket_keys = all(rule.get("bucketKeyEnabled") for rule in kms_rules)
    factor = 1 - assumptions.bucket_key_reduction if bucket_keys else 1.0
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


def _uploads_bucket(synthesis: Synthesis) -> RecordedResource | None:
    """The bucket whose events start the entry workflow: named in the rule's event pattern."""
    names: set[str] = set()
    for rule in synthesis.of_type("aws:cloudwatch/eventRule:EventRule"):
        pattern = json.loads(rule.inputs.get("eventPattern") or "{}")
        names.update(pattern.get("detail", {}).get("bucket", {}).get("name", []))
    buckets = [b for b in synthesis.of_type("aws:s3/bucket:Bucket") if b.inputs.get("bucket") in names]
    return buckets[0] if len(buckets) == 1 else None


def _expires(synthesis: Synthesis, bucket: RecordedResource) -> bool:
    for lifecycle in synthesis.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        if lifecycle.inputs.get("bucket") == bucket.inputs.get("bucket"):
            return any(rule.get("expiration") and rule.get("status") == "Enabled" for rule in lifecycle.inputs["rules"])
    return False


def _function(synthesis: Synthesis, step: Step) -> RecordedResource:
    arn = str(step.parameters.get("FunctionName", step.resource)).split(":$")[0]
    for function in synthesis.of_type("aws:lambda/function:Function"):
        if arn in (function.outputs.get("arn"), function.inputs.get("name")):
            return function
    raise WorkloadError(f"state {step.state} invokes {arn!r}, which this stack does not declare")


def _task_definition(synthesis: Synthesis, step: Step) -> RecordedResource:
    arn = step.parameters.get("TaskDefinition")
    for task in synthesis.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        if arn in (task.outputs.get("arn"), task.outputs.get("arnWithoutRevision"), task.inputs.get("family")):
            return task
    raise WorkloadError(f"state {step.state} runs task definition {arn!r}, which this stack does not declare")


def _container_environment(task: RecordedResource) -> dict[str, str]:
    containers = json.loads(task.inputs["containerDefinitions"])
    return {pair["name"]: pair["value"] for c in containers for pair in c.get("environment", [])}


def _renditions(environment: Mapping[str, Any]) -> int:
    sizes = str(environment.get(RENDITION_SIZES_ENV, ""))
    if not sizes:
        raise WorkloadError(f"a rendering handler has no {RENDITION_SIZES_ENV} in its environment (app/environment.py)")
    return len(sizes.split(","))
