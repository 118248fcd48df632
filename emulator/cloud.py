"""The local cloud: a synthesized stack deployed into an in-process moto, its functions and tasks running in-process.

    with LocalCloud(synthesis, region="eu-west-1", workdir=Path(".build/local"),
                    code_roots=[CODE.root]) as cloud:                   # CODE: the functions' CodeSource
        upload = cloud.put_object(bucket, "uploads/cat.jpg", data)     # S3 -> EventBridge -> Step Functions
        [settled] = cloud.settle([upload])                             # every execution it started, ended
        settled.executions, cloud.history(settled.executions[0].arn)
        cloud.metric_summaries()                                        # what the handlers' EMF lines counted

What reaches the stack goes through the emulator's APIs only: an upload is a PutObject, and everything after it
(the event, the rule, the executions, the functions, the tasks, their writes) follows from what was deployed. The
emulator knows nothing of the application: where its functions' code is (`code_roots`) and how its handler
packages take their clients (`injections`) are given by the caller; what an upload's records mean is the
application's to read, through `client()`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.secretsmanager.exceptions import SecretsManagerClientError
from moto.secretsmanager.models import secretsmanager_backends

from emulator import adaptations, models
from emulator.accounts import check_account
from emulator.adaptations import Delivery, Hooks
from emulator.dataapi import RESUME_SECONDS, DataApi
from emulator.deploy import Deployment, deploy
from emulator.faults import FaultPlan
from emulator.iam import OPERATOR_KEY, Authorizer, Denial
from emulator.metrics import InvalidEmf, MetricDatum, MetricSummary, summarize
from emulator.runtime import Injection, Runtime
from synth.program import Synthesis

MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    # The Docker-backed Lambda backend, whose invoke path the in-process adaptation replaces: were the adaptation
    # ever not applied, an invoke would fail loudly ("error running docker") instead of answering canned results
    # as the `use_docker: False` backend does.
    "lambda": {"use_docker": True},
    "core": {"mock_credentials": True, "reset_boto3_session": True},
}
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
FUNCTION = "aws:lambda/function:Function"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
EMULATOR_LOGGERS = ("moto",)
"""moto's Step Functions interpreter logs every Fail state as an error; in a run they belong to the run's log."""
POLL_SECONDS = 0.05
DATABASES_DIR = "postgres"
"""Under the workdir: one data directory per deployed cluster's embedded PostgreSQL, removed when the cloud closes."""


class UndeliveredEvent(RuntimeError):
    """The rule took the upload's event but could not start the workflow (it went to the dead-letter queue)."""


@dataclass(frozen=True)
class Upload:
    """An object put into a bucket, and the event S3 sent to EventBridge for it."""

    bucket: str
    key: str
    etag: str
    version_id: str | None
    uploaded_at: float
    """time.time() when PutObject returned (the event was delivered synchronously inside it)."""
    event: dict[str, Any]


@dataclass(frozen=True)
class Execution:
    arn: str
    state_machine: str
    status: str
    started: datetime
    stopped: datetime | None
    error: str | None
    cause: str | None
    input: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Settled:
    """An upload whose executions have all ended: those its event started, directly or through another workflow."""

    upload: Upload
    executions: list[Execution]
    """Oldest first."""
    settled_at: float
    """time.time() when every execution was seen ended."""

    @property
    def seconds(self) -> float:
        """From the end of the upload to the end of the last execution it started."""
        ends = [e.stopped.timestamp() for e in self.executions if e.stopped]
        return max(ends, default=self.settled_at) - self.upload.uploaded_at


class LocalCloud:
    """Synthesized program -> emulator, with the adaptations applied and the in-process runtime ready."""

    def __init__(
        self,
        synthesis: Synthesis,
        *,
        region: str,
        workdir: Path,
        code_roots: Sequence[Path] = (),
        injections: Sequence[Injection] = (),
    ) -> None:
        """`code_roots`: the directories the functions' handler packages are imported from (what each function's
        zip is built from, e.g. its `CodeSource.root`); a function whose package none of them holds stops the
        deployment before it starts (emulator.deploy.CodeNotFound). Images need none: they run from their build
        context. `injections`: how handler packages with module-level clients take those of the function running
        (emulator.runtime.Injection); none by default."""
        self.synthesis = synthesis
        self.region = region
        self.workdir = workdir
        self.code_roots = [Path(root) for root in code_roots]
        self.injections = tuple(injections)
        self.faults = FaultPlan()
        self._stack = ExitStack()
        self._known: dict[str, Execution] = {}
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.deployment: Deployment
        self.hooks: Hooks
        self.authorizer: Authorizer
        self.session: boto3.Session
        self.log: IO[str]
        self.data_api: DataApi
        """The deployed clusters' Data API, on their embedded PostgreSQL (emulator/dataapi/)."""

    def __enter__(self) -> LocalCloud:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        check_account(self.synthesis, self.account)  # as the AWS provider does when it starts: before anything
        self.workdir.mkdir(parents=True, exist_ok=True)
        scratch = self.workdir / "scratch"
        scratch.mkdir(exist_ok=True)
        self.log = self._stack.enter_context(open(self.workdir / "handlers.log", "w", encoding="utf-8"))  # noqa: SIM115
        # A task's code may point `tempfile` at its scratch volume while it runs (several at once here): put it back.
        self._stack.callback(setattr, tempfile, "tempdir", tempfile.tempdir)
        self._stack.enter_context(mock.patch.dict(os.environ, self._process_environment()))
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):  # restored on exit with the rest of the environment
            os.environ.pop(name, None)
        self._stack.enter_context(_logs_to(self.log, EMULATOR_LOGGERS))
        self._stack.enter_context(models.shared())
        self._stack.enter_context(mock_aws(config=MOTO_CONFIG))
        # Stopped after every handler and task has ended (the ExitStack closes in reverse): their databases too.
        self._stack.callback(_remove_if_empty, self.workdir / DATABASES_DIR)
        self.data_api = DataApi(self._secret_value)
        self._stack.callback(self.data_api.close)
        self.authorizer = Authorizer(self.account, self.region)
        self._stack.enter_context(self.authorizer.installed())
        self.session = boto3.Session(aws_access_key_id=OPERATOR_KEY, aws_secret_access_key="operator",
                                     region_name=self.region)  # fmt: skip
        deployment = Deployment(self.synthesis, code_roots=list(self.code_roots), data_api=self.data_api,
                                database_root=self.workdir / DATABASES_DIR)  # fmt: skip
        runtime = Runtime(deployment.code_roots, _Locked(self.log), self.authorizer, self.injections)
        self._stack.callback(runtime.close)
        self.hooks = Hooks(runtime, deployment.entrypoints, str(scratch), self.authorizer, self.faults,
                           databases=deployment.databases, data_api=self.data_api)  # fmt: skip
        self._stack.enter_context(adaptations.applied(self.hooks))
        self.faults.running = runtime.running
        self._stack.enter_context(self.faults.applied())
        self._stack.callback(self._join_tasks)
        self.deployment = deploy(deployment, self.session)

    def _process_environment(self) -> dict[str, str]:
        """Process-wide settings, set once: the region every client defaults to, the account moto answers as
        (whatever the credentials), no AWS configuration of the user's (moto's mock supplies fake credentials), and
        what Powertools reads when the handler modules are imported (no X-Ray daemon here, and the functions' own
        service name), and no public AMIs: moto loads its catalogue of them into each account's EC2 backend, for
        a stack that launches no instance (half a second of every deployment)."""
        functions = self.synthesis.of_type(FUNCTION)
        services = Counter(
            (f.inputs.get("environment") or {}).get("variables", {}).get("POWERTOOLS_SERVICE_NAME") for f in functions
        )
        service = next((name for name, _ in services.most_common() if name), "local")
        nowhere = str(self.workdir / "no-aws-config")  # no profile, credential process or endpoint of the user's
        return {
            "AWS_DEFAULT_REGION": self.region,
            "MOTO_ACCOUNT_ID": self.account,
            "AWS_CONFIG_FILE": nowhere,
            "AWS_SHARED_CREDENTIALS_FILE": nowhere,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_SERVICE_NAME": service,
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }

    def _secret_value(self, secret_id: str) -> str:
        """A secret's current string, as the Data API reads it (after IAM let the caller read it): LookupError when
        it does not exist or has no value. Read from Secrets Manager's backend, not through its API: with hundreds
        of executions in flight, a request through the whole stack waits its turn for the interpreter many times."""
        backend = secretsmanager_backends[self.account][self.region]
        try:
            value = backend.get_secret_value(secret_id=secret_id, version_id=None, version_stage=None)
        except SecretsManagerClientError as error:
            raise LookupError(error.message) from error
        if value.get("SecretString") is None:
            raise LookupError(f"the secret {secret_id} has no string value")
        return str(value["SecretString"])

    def _join_tasks(self) -> None:
        """Let running containers and handlers finish before the emulator goes away under them (bounded)."""
        deadline = time.monotonic() + 30
        for thread in list(self.hooks.tasks.values()):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.hooks.runtime.join(grace_seconds=max(0.0, deadline - time.monotonic()))

    # Using it

    @contextmanager
    def stretched_timeouts(self, factor: int) -> Iterator[None]:
        """Every function's timeout and every task's TimeoutSeconds times `factor`, through the emulator's APIs as
        an operator would change them, then back. For runs that put more executions in flight than one process
        serves at AWS's pace (the load test, the burst benchmark): here they share one interpreter, where on AWS
        each invocation has its own sandbox, so a call that takes milliseconds there waits seconds here."""
        functions = self.client("lambda")
        timeouts = {f.inputs["name"]: int(f.inputs["timeout"]) for f in self.synthesis.of_type(FUNCTION)}
        for name, seconds in timeouts.items():
            functions.update_function_configuration(FunctionName=name, Timeout=min(900, seconds * factor))
        try:
            with self._definitions_changed(functools.partial(_stretch, factor=factor)):
                yield
        finally:
            for name, seconds in timeouts.items():
                functions.update_function_configuration(FunctionName=name, Timeout=seconds)

    @contextmanager
    def shortened_retries(self) -> Iterator[None]:
        """Every Retry of every workflow waits at most a second (IntervalSeconds and MaxDelaySeconds 1, the least
        Step Functions takes), through UpdateStateMachine as an operator would change it, then back: the errors
        each Retry matches and its attempts are unchanged. moto's interpreter sleeps every wait for real
        (RetrierDecl), so a test of what is retried, such as waiting out a paused cluster's resume (5 s, then 7.5 s,
        ...: components.database.RESUME_RETRY), would otherwise wait as long as on AWS."""
        with self._definitions_changed(_shorten_retries):
            yield

    @contextmanager
    def _definitions_changed(self, change: Callable[[dict[str, Any]], None]) -> Iterator[None]:
        """Every deployed workflow's definition as `change` edits its document, then the one it had before."""
        stepfunctions = self.client("stepfunctions")
        arns = [machine.outputs["arn"] for machine in self.synthesis.of_type(STATE_MACHINE)]
        before = {arn: stepfunctions.describe_state_machine(stateMachineArn=arn)["definition"] for arn in arns}
        for arn, definition in before.items():
            document = json.loads(definition)
            change(document)
            stepfunctions.update_state_machine(stateMachineArn=arn, definition=json.dumps(document))
        try:
            yield
        finally:
            for arn, definition in before.items():
                stepfunctions.update_state_machine(stateMachineArn=arn, definition=definition)

    def pause_database(self, cluster_arn: str, *, resume_seconds: float = RESUME_SECONDS) -> None:
        """Pause the cluster as Aurora Serverless v2 auto-pauses at 0 ACUs: its next Data API request is answered
        DatabaseResumingException and starts the resume, as is every request for `resume_seconds` (AWS: up to 15 s),
        then statements run (emulator.dataapi.DataApi.pause). A test gives a short resume, and `shortened_retries`
        so that the workflow's Retry does not wait its 5 s first. Only a cluster whose minimum capacity is 0 ACUs
        pauses, as on AWS: another is refused (ValueError)."""
        self.data_api.pause(cluster_arn, instance=self._pausable_writer(cluster_arn), resume_seconds=resume_seconds)

    def database_down(self, cluster_arn: str) -> AbstractContextManager[None]:
        """The cluster's writer down for the duration (its embedded PostgreSQL stopped), then up again with its data:
        meanwhile the Data API answers DatabaseUnavailableException (emulator.dataapi.DataApi.down)."""
        return self.data_api.down(cluster_arn)

    def _pausable_writer(self, cluster_arn: str) -> str:
        """The resource id (`db-...`) of the cluster's writer instance, as RDS describes them, if the cluster can
        pause."""
        rds = self.client("rds")
        [cluster] = rds.describe_db_clusters(DBClusterIdentifier=cluster_arn)["DBClusters"]
        minimum = cluster["ServerlessV2ScalingConfiguration"]["MinCapacity"]
        if minimum != 0:
            raise ValueError(f"{cluster_arn} keeps {minimum} ACUs at least: only a cluster of 0 ACUs minimum pauses")
        [writer] = [member for member in cluster["DBClusterMembers"] if member["IsClusterWriter"]]
        [instance] = rds.describe_db_instances(DBInstanceIdentifier=writer["DBInstanceIdentifier"])["DBInstances"]
        return str(instance["DbiResourceId"])

    def client(self, service: str) -> Any:
        """A client of the emulator, one per service (boto3 sessions cannot build clients concurrently)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(service)
            return self._clients[service]

    @property
    def account(self) -> str:
        """The account the program was synthesized for (its ARNs name it): the emulator's too, refused unless the
        stack's provider allows it (emulator/accounts.py)."""
        return self.synthesis.account

    @property
    def denials(self) -> list[Denial]:
        """Every call IAM refused so far: principal, action, resource and why."""
        return list(self.authorizer.denials)

    @property
    def metrics(self) -> list[MetricDatum]:
        """Every datapoint CloudWatch would have extracted so far from the embedded metric format lines the
        functions and containers printed, in the order printed (emulator/metrics.py)."""
        return self.hooks.runtime.metrics.data

    @property
    def invalid_metrics(self) -> list[InvalidEmf]:
        """The printed lines CloudWatch would have refused as embedded metric format, each with the rule it broke."""
        return self.hooks.runtime.metrics.invalid

    def metric_summaries(self, namespace: str | None = None) -> list[MetricSummary]:
        """Count, sum, average and maximum of every metric so far per dimension set and unit (of `namespace` only,
        when given)."""
        return summarize(d for d in self.metrics if namespace is None or d.namespace == namespace)

    def put_object(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> Upload:
        """PutObject, as a client would; returns the upload with the event S3 sent for it. Raises when no rule
        took the event, or UndeliveredEvent when the rules that took it started no execution."""
        put = self.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        etag = put["ETag"].strip('"')
        uploaded_at = time.time()
        deliveries = [d for d in self.deliveries() if _names(d.event, bucket, key, etag)]
        if not deliveries:
            raise RuntimeError(f"no rule took the event of {key}; deployment failures: {self.deployment.failed}")
        if not any(d.execution_arn for d in deliveries):
            raise UndeliveredEvent(f"the event of {key} started no execution: {[d.error for d in deliveries]}")
        return Upload(bucket, key, etag, put.get("VersionId"), uploaded_at, deliveries[-1].event)

    def deliver_again(self, upload: Upload) -> None:
        """EventBridge delivers at least once: hand the same event to every rule again, as a duplicate would be."""
        from moto.events.models import events_backends

        bus = events_backends[self.account][self.region].event_buses["default"]
        for rule in list(bus.rules.values()):
            rule.send_to_targets(upload.event, transform_input=False)

    def deliveries(self) -> list[Delivery]:
        with self.hooks.lock:
            return list(self.hooks.deliveries)

    def settle(self, uploads: Iterable[Upload], timeout: float = 60.0) -> list[Settled]:
        """Wait until every execution each upload's event started (directly, or through another workflow) has
        ended, polling the Step Functions API; a workflow's hand-over starts the child before the parent ends.
        An execution belongs to the event whose `id` its input carries (the rule's target passes the whole event;
        a workflow that hands over passes the id on)."""
        pending = {upload.event["id"]: upload for upload in uploads}
        settled: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while True:
            by_event = self._executions_by_event()
            for event_id in pending.keys() - settled.keys():
                executions = by_event.get(event_id, [])
                if executions and all(e.status in TERMINAL for e in executions):
                    settled[event_id] = time.time()
            if len(settled) == len(pending):
                break
            if time.monotonic() > deadline:
                missing = [pending[i].key for i in pending.keys() - settled.keys()]
                raise TimeoutError(f"{len(missing)} upload(s) still running after {timeout} s: {missing[:10]}")
            time.sleep(POLL_SECONDS)
        by_event = self._executions_by_event()
        return [Settled(upload, by_event[event_id], settled[event_id]) for event_id, upload in pending.items()]

    def executions(self, upload: Upload) -> list[Execution]:
        """The executions the upload's event started, directly (the rule's) or through another workflow."""
        return self._executions_by_event().get(upload.event["id"], [])

    def _executions_by_event(self) -> dict[str, list[Execution]]:
        """Every execution of every deployed state machine, by the id of the event in its input. The listing gives
        each one's status; an execution is described (for its input, error and cause) only when it is new or its
        status changed, so a poll costs a few requests however many executions are running."""
        stepfunctions = self.client("stepfunctions")
        by_event: dict[str, list[Execution]] = {}
        for machine in self.synthesis.of_type(STATE_MACHINE):
            pages = stepfunctions.get_paginator("list_executions").paginate(stateMachineArn=machine.outputs["arn"])
            for listed in (item for page in pages for item in page["executions"]):
                execution = self._known.get(listed["executionArn"])
                if execution is None or execution.status != listed["status"]:
                    execution = self._describe(machine.inputs["name"], listed["executionArn"])
                    self._known[execution.arn] = execution
                event_id = execution.input.get("id") if isinstance(execution.input, dict) else None
                if event_id:
                    by_event.setdefault(event_id, []).append(execution)
        return {event_id: sorted(found, key=lambda e: e.started) for event_id, found in by_event.items()}

    def _describe(self, machine: str, arn: str) -> Execution:
        described = self.client("stepfunctions").describe_execution(executionArn=arn)
        return Execution(
            arn=arn,
            state_machine=machine,
            status=described["status"],
            started=described["startDate"],
            stopped=described.get("stopDate"),
            error=described.get("error"),
            cause=described.get("cause"),
            input=json.loads(described.get("input") or "{}"),
        )

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]

    def original(self, upload: Upload) -> bytes:
        """The object as it was uploaded (its version, when the bucket keeps versions)."""
        extra = {"VersionId": upload.version_id} if upload.version_id else {}
        return self.client("s3").get_object(Bucket=upload.bucket, Key=upload.key, **extra)["Body"].read()


def _remove_if_empty(directory: Path) -> None:
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


def _stretch(document: dict[str, Any], factor: int) -> None:
    for state in document["States"].values():
        if "TimeoutSeconds" in state:
            state["TimeoutSeconds"] *= factor
    if "TimeoutSeconds" in document:
        document["TimeoutSeconds"] *= factor


def _shorten_retries(document: dict[str, Any]) -> None:
    for state in document["States"].values():
        for retrier in state.get("Retry", []):
            retrier.update(IntervalSeconds=1, MaxDelaySeconds=1)


def _names(event: dict[str, Any], bucket: str, key: str, etag: str) -> bool:
    detail = event.get("detail", {})
    obj = detail.get("object", {})
    return detail.get("bucket", {}).get("name") == bucket and obj.get("key") == key and obj.get("etag") == etag


@contextmanager
def _logs_to(stream: IO[str], names: Iterable[str]) -> Iterator[None]:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, before, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate


class _Locked:
    """A text stream that several handler threads write whole lines to."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return self._stream.write(text)

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()
