"""A Lambda function that builds its own deployment package, logs to its own group and owns a least-privilege role."""

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.base import ChildTransform, Component
from components.environment import secret_looking
from components.iam import Statement
from components.logs import log_group
from components.monitoring import Comparison, Watch, alarm, metric
from components.naming import physical_name
from components.packaging import CodeSource, FunctionCode, build_package
from components.profile import LambdaSettings, profile_from_args
from components.profile_args import ProfileArgs
from components.states import LAMBDA_TRANSIENT_ERRORS, Catch, Task

PYTHON_RUNTIME = "python3.13"
PYTHON_VERSION = "3.13"
BUILD_DIR = Path(__file__).resolve().parent.parent / ".build" / "lambda"

LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
TRACE_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
"""X-Ray has no resource-level permissions: these are the one place the role uses `"Resource": "*"`."""
LAMBDA_METRICS = "AWS/Lambda"
DURATION_ALARM_SHARE = 0.95
"""The duration alarm fires when the p99 invocation reaches this share of the timeout: about to time out."""
CONCURRENCY_ALARM_SHARE = 0.8
"""The concurrency alarm fires at this share of the reserved concurrency: throttling is near."""
DURATION_PERIOD_SECONDS = 300
"""A p99 needs more than a minute's invocations to mean anything."""
INIT_LIMIT_SECONDS = 10
"""A cold start's INIT phase runs before the handler and outside the function's timeout, for up to 10 s (AWS: "The
Init phase is limited to 10 seconds"; beyond, it is retried within the timeout)."""
INVOKE_MARGIN_SECONDS = 1
"""Beyond INIT and the timeout, so that an invocation that runs out of time fails with the function's own timeout
error (which says how long it ran) before the state's `States.Timeout`."""
OVERRIDE_LIMITS = {
    spec.name: (spec.metadata["low"], spec.metadata["high"])
    for spec in dataclasses.fields(LambdaSettings)
    if spec.name in ("memory_mb", "timeout_seconds")
}
"""What Lambda accepts for a function's own memory and timeout: the bounds the profile's settings have."""


class FunctionArgs(TypedDict):
    """The arguments of a Function."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    code: FunctionCode
    """Where the code is (`CodeSource.args` in Python): the zip is built from it, with its dependencies."""
    handler: str
    """`module.function` inside the package, e.g. `pipeline.process.handler`."""
    description: NotRequired[str]
    """What the function does, shown in the Lambda console. Default: empty."""
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    """Environment variables: plain settings only, never a secret's value (a name that looks like a secret, such as
    `DB_PASSWORD`, is refused; pass the secret's ARN instead). Default: none."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed KMS key for the environment variables and the log group. Default: none, AWS-managed keys."""
    memory_mb: NotRequired[int]
    """Memory (and so CPU) of this function, for one with unusual needs. Default: the profile's `lambda.memoryMb`."""
    timeout_seconds: NotRequired[int]
    """Timeout of this function; a workflow task invoking it waits 11 s more, for a cold start's INIT. Default: the
    profile's `lambda.timeoutSeconds`."""
    reserve_concurrency: NotRequired[bool]
    """Apply the profile's reserved concurrency. Off for a function that runs once per deployment (a schema
    migration): a reservation would take concurrency from the account's pool for a function that is idle.
    Default: true."""


class Function(iam.RoleOwner, Component):
    """A Lambda function on arm64 (by default) and Python 3.13 that builds its own deployment package: JSON logs to
    an explicit group, X-Ray active tracing, and a role with nothing but its own logs and traces."""

    name: pulumi.Output[str]
    """The function's name."""
    arn: pulumi.Output[str]
    """The function's ARN: what a workflow's task invokes."""
    role_arn: pulumi.Output[str]
    """The function's execution role, which grants extend."""
    timeout_seconds: int
    """The function's timeout: a workflow task invoking it should time out with it."""

    def __init__(
        self,
        name: str,
        args: FunctionArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        profile = profile_from_args(args["profile"])
        _check(args)
        super().__init__(name, opts, transform)
        settings = profile.lambda_
        kms_key_arn = args.get("kms_key_arn")
        environment = dict(args.get("environment") or {})
        self.physical_name = physical_name(name, "function")
        self.timeout_seconds = args.get("timeout_seconds") or settings.timeout_seconds
        self.reserved_concurrency = settings.reserved_concurrency if args.get("reserve_concurrency", True) else None
        self.package = build_package(
            CodeSource.from_args(args["code"]),
            python_version=PYTHON_VERSION,
            architecture=settings.architecture.value,
            build_dir=BUILD_DIR,
        )
        self.log_group = log_group(f"{name}-logs", f"/aws/lambda/{self.physical_name}", profile, kms_key_arn, self)
        self.role = self._create_role(name)
        self.base_policy = self._allow_logs_and_traces()
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=self.physical_name,
            description=args.get("description", ""),
            runtime=PYTHON_RUNTIME,
            architectures=[settings.architecture.value],
            handler=args["handler"],
            code=pulumi.FileArchive(str(self.package.path)),
            source_code_hash=self.package.sha256_base64,
            role=self.role.arn,
            memory_size=args.get("memory_mb") or settings.memory_mb,
            timeout=self.timeout_seconds,
            reserved_concurrent_executions=self.reserved_concurrency,
            tracing_config={"mode": "Active"},
            logging_config={
                "log_format": "JSON",
                "log_group": self.log_group.name,
                "application_log_level": "INFO",
                "system_log_level": "WARN",
            },
            environment={"variables": environment} if environment else None,
            kms_key_arn=kms_key_arn,
            # The function must not run before it may write its logs and traces.
            opts=self.child(depends_on=[self.base_policy, self.log_group]),
        )
        self.name = self.function.name
        self.arn = self.function.arn
        self.role_arn = self.role.arn
        self.finish(
            {"name": self.name, "arn": self.arn, "role_arn": self.role_arn, "timeout_seconds": self.timeout_seconds}
        )

    def grant_invoke(self, grantee: iam.Grantable) -> aws.iam.RolePolicy | None:
        """Invoke this function and its versions/aliases, nothing else."""
        qualified = self.arn.apply(lambda arn: f"{arn}:*")
        statement = Statement(actions=["lambda:InvokeFunction"], resources=[self.arn, qualified], sid="Invoke")
        return grantee.add_to_role_policy(f"invoke-{self.logical_name}", [statement])

    def invoke_task(
        self,
        name: str,
        *,
        next: str | None = None,
        result_path: str | None = "$.result",
        retry_also: Sequence[str] = (),
        catch: Sequence[Catch] = (),
        comment: str = "",
    ) -> Task:
        """A workflow state that invokes this function synchronously with the state as the payload.

        The function's ARN as the resource (rather than `arn:aws:states:::lambda:invoke`) returns the payload without
        the invocation metadata around it, so later states read `$.result.field`, not `$.result.Payload.field`.
        `retry_also` adds errors of the function's own that are worth retrying (e.g. a concurrent duplicate). The
        state allows a cold start's INIT on top of the function's timeout: a state bounded by the timeout alone would
        cut a cold invocation short while the function, still running, might yet complete the work. The workflow's
        worst case follows from these limits.
        """
        return Task(
            name=name,
            resource=self.arn,
            parameters=None,
            result_path=result_path,
            statements=iam.statements_of(self.grant_invoke),
            transient_errors=(*LAMBDA_TRANSIENT_ERRORS, *retry_also),
            timeout_seconds=self.timeout_seconds + INIT_LIMIT_SECONDS + INVOKE_MARGIN_SECONDS,
            next=next,
            catch=catch,
            comment=comment,
        )

    def watch(self) -> Watch:
        """Errors and throttles at the first one; duration near the timeout; concurrency near its reservation."""
        dimensions = {"FunctionName": self.name}
        timeout_ms = self.timeout_seconds * 1000
        alarms = [
            alarm("errors", "Invocations failed: the handler raised, ran out of memory or timed out.",
                  metric(LAMBDA_METRICS, "Errors", dimensions)),
            alarm("throttles", "Invocations were refused for lack of concurrency (reserved or the account's).",
                  metric(LAMBDA_METRICS, "Throttles", dimensions)),
            alarm("duration", f"The p99 invocation took {DURATION_ALARM_SHARE:.0%} of the {self.timeout_seconds} s "
                  "timeout: invocations are about to time out.",
                  metric(LAMBDA_METRICS, "Duration", dimensions, "p99"), DURATION_ALARM_SHARE * timeout_ms,
                  Comparison.GREATER_OR_EQUAL, DURATION_PERIOD_SECONDS),
        ]  # fmt: skip
        if self.reserved_concurrency:
            alarms.append(
                alarm("concurrency", f"Concurrent executions reached {CONCURRENCY_ALARM_SHARE:.0%} of the "
                      f"{self.reserved_concurrency} reserved: throttling is near.",
                      metric(LAMBDA_METRICS, "ConcurrentExecutions", dimensions, "Maximum"),
                      CONCURRENCY_ALARM_SHARE * self.reserved_concurrency, Comparison.GREATER_OR_EQUAL)
            )  # fmt: skip
        return Watch(title=f"Function {self.logical_name}", alarms=alarms, log_groups=[self.log_group.name])

    def _create_role(self, name: str) -> aws.iam.Role:
        return aws.iam.Role(
            f"{name}-role",
            name=physical_name(name, "role"),
            assume_role_policy=iam.trust_policy("lambda.amazonaws.com", self.account_id),
            opts=self.child(),
        )

    def _allow_logs_and_traces(self) -> aws.iam.RolePolicy:
        streams = self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:*")
        return self.add_to_role_policy(
            "logs-and-traces",
            [
                Statement(actions=LOG_ACTIONS, resources=[streams], sid="WriteOwnLogGroup"),
                Statement(actions=TRACE_ACTIONS, resources=["*"], sid="XRayHasNoResourceScope"),
            ],
        )


def _check(args: FunctionArgs) -> None:
    """Refuse args that cannot be deployed as given, before anything is declared."""
    secrets = secret_looking(args.get("environment") or {})
    if secrets:
        raise ValueError(
            f"environment: variables {secrets} look like secrets; keep secrets in Secrets Manager and pass the "
            "secret's ARN instead"
        )
    for key, (low, high) in OVERRIDE_LIMITS.items():
        value = args.get(key)
        if value is not None and not low <= value <= high:
            raise ValueError(f"{key}: {value} is not allowed; expected {low} to {high}")
