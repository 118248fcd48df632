"""The reference program: every component of the platform, wired as an application wires them, run under a stack's
own configuration (its `platform:profile`, region and accounts) with code and an image of its own.

Platform tests that need a resource of some kind (a state machine, a database, a Fargate task, an access-log
bucket) read it here rather than in the stacks' program, which is the sample's or, in a fork, the team's own and
may have none. The stacks' program is still checked wherever a property holds for any program.

    inbox ─Object Created─> on-arrival rule ─> intake (Express) ─> check ─> convert (Lambda) ─> Done
    bucket                   (retries, DLQ)      │ too big for the Lambda
                                                 └─> long-run (Standard) ─> batch (Fargate) ─> Record (ledger) ─> Done
    jobs table: failures recorded by the workflows     outbox bucket: converted/
    operations: every component's alarms, failure events, dashboard rows and backups
"""

import atexit
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.bucket import Bucket, BucketArgs, BucketExpiration, access_log_bucket
from components.database import DatabaseUser, ServerlessDatabase, ServerlessDatabaseArgs
from components.fargate import ContainerImage, FargateTask, FargateTaskArgs, TaskPlacement
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.monitoring import alarm, metric
from components.network import Network, NetworkArgs
from components.operations import Operations, OperationsArgs
from components.packaging import CodeSource
from components.profile import EnvironmentProfile, WorkflowType, load_profile
from components.provider import aws_provider
from components.states import Catch, Choice, Definition, Fail, State, Succeed, When
from components.table import Table, TableArgs
from components.trigger import ObjectCreatedTrigger, ObjectCreatedTriggerArgs
from components.workflow import Workflow, WorkflowArgs
from synth.program import Synthesis, synthesize

INCOMING = "incoming/"
CONVERTED = "converted/"
JOB_KEY = "jobId"
JOBS_FAILED = metric("Reference", "JobsFailed", {"service": "jobs"})
"""The program's own business metric: an application alarm and a dashboard widget."""
LEDGER_WRITER = "ledger_writer"
RECORD_SQL = "INSERT INTO jobs (job_id, finished_at) VALUES (:job_id, CAST(:finished_at AS timestamptz))"
RECORD_PARAMETERS = [
    {"Name": "job_id", "Value": {"StringValue.$": "$.detail.object.key"}},
    {"Name": "finished_at", "Value": {"StringValue.$": "$$.State.EnteredTime"}},
]
CODE_FILES = {
    "jobs/__init__.py": "",
    "jobs/handler.py": "def check(event, context):\n    return {'route': 'lambda'}\n\n\n"
    "def convert(event, context):\n    return event\n\n\n"
    "def migrate(event, context):\n    return None\n",
}
IMAGE_FILES = {
    "Dockerfile": "FROM public.ecr.aws/docker/library/python:3.13-slim\nCOPY batch /batch\nUSER 10001\n"
    'ENTRYPOINT ["python", "-m", "batch"]\n',
    "batch/__init__.py": "",
    "batch/__main__.py": "print('done')\n",
}

_programs: dict[tuple[str, bool], Synthesis] = {}
_sources: list[Path] = []


def reference_program(stack: str, preview: bool = False) -> Synthesis:
    """The reference program synthesized as `stack`, once per stack and mode in each test process."""
    if (stack, preview) not in _programs:
        _programs[stack, preview] = synthesize(stack, preview=preview, program=declare)
    return _programs[stack, preview]


def sources() -> Path:
    """A directory holding the program's Lambda code (`code/`) and image context (`image/`), made once per process."""
    if not _sources:
        root = Path(tempfile.mkdtemp(prefix="reference-program-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        for directory, files in (("code", CODE_FILES), ("image", IMAGE_FILES)):
            for name, text in files.items():
                (root / directory / name).parent.mkdir(parents=True, exist_ok=True)
                (root / directory / name).write_text(text)
        _sources.append(root)
    return _sources[0]


def image() -> ContainerImage:
    """The program's container image: a Dockerfile and the package it copies, in `sources()`."""
    context = sources() / "image"
    return ContainerImage(context=str(context), dockerfile=str(context / "Dockerfile"), include=["batch"])


def declare() -> None:
    """The program: the reference's `__main__.py`, as `synthesize(stack, program=declare)` runs it."""
    profile = load_profile()
    opts = pulumi.ResourceOptions(providers=[aws_provider(profile)])
    key = (
        EncryptionKey("data", EncryptionKeyArgs(profile=profile.args), opts) if profile.customer_managed_keys else None
    )
    kms_key_arn = key.arn if key else None

    # Storage
    access_logs = access_log_bucket("access-logs", profile, opts)
    log_target = access_logs.access_log_target if access_logs else None
    inbox = Bucket(
        "inbox",
        BucketArgs(profile=profile.args, kms_key_arn=kms_key_arn, event_bridge=True, access_log_bucket=log_target,
                   expirations=[BucketExpiration(prefix=INCOMING, days=7)]),
        opts,
    )  # fmt: skip
    outbox = Bucket(
        "outbox", BucketArgs(profile=profile.args, kms_key_arn=kms_key_arn, access_log_bucket=log_target), opts
    )
    jobs = Table(
        "jobs",
        TableArgs(profile=profile.args, partition_key=JOB_KEY, attributes={JOB_KEY: "S"}, kms_key_arn=kms_key_arn),
        opts,
    )
    network = Network("network", NetworkArgs(profile=profile.args, kms_key_arn=kms_key_arn), opts)
    ledger = ServerlessDatabase(
        "ledger",
        ServerlessDatabaseArgs(profile=profile.args, subnet_ids=network.database_subnet_ids, vpc_id=network.vpc_id,
                               kms_key_arn=kms_key_arn),
        opts,
    )  # fmt: skip
    writer = ledger.database_user("writer", LEDGER_WRITER)

    # Compute
    environment = {"TABLE_NAME": jobs.name}
    # A check reads headers only: 5 s, so that intake's worst case (each Lambda task allows a cold start's INIT on
    # top of its timeout) fits Express's five minutes under prod's retries.
    check = _function("check", profile, kms_key_arn, opts, environment=environment, timeout_seconds=5)
    convert = _function("convert", profile, kms_key_arn, opts, environment=environment)
    migrate = _function("migrate", profile, kms_key_arn, opts, reserve_concurrency=False)
    ledger.grant_migrate(migrate, [writer])
    # A resource of the program's own, outside every component: the migration, run on each deployment.
    aws.lambda_.Invocation("migrate-now", function_name=migrate.name, input=json.dumps({"schema": 1}), opts=opts)
    group = network.security_group("batch", "The batch task: no ingress, HTTPS out only")
    placement = TaskPlacement(
        subnet_ids=network.task_subnet_ids,
        security_group_ids=[group.id],
        assign_public_ip=network.task_assign_public_ip,
    )
    batch = FargateTask(
        "batch",
        FargateTaskArgs(profile=profile.args, image=image(), placement=placement, environment=environment,
                        kms_key_arn=kms_key_arn),
        opts,
    )  # fmt: skip
    for processor in (check, convert, batch):
        inbox.grant_read(processor, prefix=INCOMING)
        jobs.grant_update(processor)
    jobs.grant_read(check)  # a second operation on the table: its SystemErrors alarm sums two metrics
    for processor in (convert, batch):
        outbox.grant_write(processor, prefix=CONVERTED)

    # Orchestration
    long_run_flow = _long_run(batch, ledger, writer, jobs, profile.fargate.timeout_seconds)
    long_run = _workflow("long-run", long_run_flow, profile, kms_key_arn, opts, WorkflowType.STANDARD)
    intake = _workflow("intake", _intake(check, convert, long_run, jobs), profile, kms_key_arn, opts)
    ObjectCreatedTrigger(
        "on-arrival",
        ObjectCreatedTriggerArgs(profile=profile.args, bucket_name=inbox.name, prefix=INCOMING,
                                 state_machine_arn=intake.arn, kms_key_arn=kms_key_arn),
        opts,
    )  # fmt: skip
    Operations(
        "operations",
        OperationsArgs(profile=profile.args, kms_key_arn=kms_key_arn, metrics=[JOBS_FAILED],
                       alarms=[alarm("jobs-failed", "Jobs failed.", JOBS_FAILED, 5, period_seconds=3600)]),
        opts,
    )  # fmt: skip


def _function(
    name: str,
    profile: EnvironmentProfile,
    kms_key_arn: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
    **settings: Any,
) -> Function:
    """A function running `jobs.handler.<name>` of the program's code."""
    code = CodeSource(sources() / "code", packages=("jobs",)).args
    args = FunctionArgs(profile=profile.args, code=code, handler=f"jobs.handler.{name}", kms_key_arn=kms_key_arn)
    return Function(name, FunctionArgs(**args, **settings), opts)


def _workflow(
    name: str,
    definition: Definition,
    profile: EnvironmentProfile,
    kms_key_arn: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
    workflow_type: WorkflowType | None = None,
) -> Workflow:
    args = WorkflowArgs(profile=profile.args, **definition.workflow_args(profile), kms_key_arn=kms_key_arn)
    if workflow_type:
        args["type"] = workflow_type
    return Workflow(name, args, opts)


def _failure(jobs: Table) -> list[State]:
    """Every failure recorded on the job's item, then the execution fails."""
    return [
        jobs.update_item_task(
            "RecordFailure",
            key={JOB_KEY: {"S.$": "$.detail.object.key"}},
            update_expression="SET failure = :cause",
            attribute_values={":cause": {"S.$": "$.error.Cause"}},
            next="Failed",
        ),
        Fail("Failed", error="Failed", cause="the job failed; its item says why"),
        Succeed("Done"),
    ]


def _intake(check: Function, convert: Function, long_run: Workflow, jobs: Table) -> Definition:
    failed = [Catch(next="RecordFailure", result_path="$.error")]
    return Definition(
        start_at="Check",
        states=[
            check.invoke_task("Check", next="Route", result_path="$.check", catch=failed),
            Choice("Route", [When("$.check.route", "lambda", "Convert")], default="HandOver"),
            convert.invoke_task("Convert", next="Done", catch=failed),
            long_run.start_execution_task(
                "HandOver", execution_name="States.Format('{}', $.id)", next="Done", catch=failed
            ),
            *_failure(jobs),
        ],
    )


def _long_run(
    batch: FargateTask, ledger: ServerlessDatabase, writer: DatabaseUser, jobs: Table, timeout_seconds: int
) -> Definition:
    failed = [Catch(next="RecordFailure", result_path="$.error")]
    return Definition(
        start_at="Run",
        states=[
            batch.run_task(
                "Run",
                environment={"JOB_KEY.$": "$.detail.object.key"},
                timeout_seconds=timeout_seconds,
                result_path=None,
                next="Record",
                catch=failed,
            ),
            ledger.execute_statement_task(
                "Record", RECORD_SQL, RECORD_PARAMETERS, user=writer, next="Done", catch=failed
            ),
            *_failure(jobs),
        ],
    )
