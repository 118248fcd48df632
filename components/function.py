"""A Lambda function that builds its own deployment package, logs to its own group and owns a least-privilege role."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import iam
from components.base import ChildTransform, Component
from components.environment import secret_looking
from components.iam import Statement
from components.key import EncryptionKey
from components.logs import log_group
from components.naming import physical_name
from components.packaging import CodeSource, build_package
from components.profile import EnvironmentProfile
from components.states import LAMBDA_TRANSIENT_ERRORS, Catch, Task

PYTHON_RUNTIME = "python3.13"
PYTHON_VERSION = "3.13"
BUILD_DIR = Path(__file__).resolve().parent.parent / ".build" / "lambda"

LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
TRACE_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
"""X-Ray has no resource-level permissions: these are the one place the role uses `"Resource": "*"`."""


@dataclass(frozen=True)
class FunctionArgs:
    profile: EnvironmentProfile
    code: CodeSource
    handler: str
    """`module.function` inside the package, e.g. `pipeline.validate.handler`."""
    description: str = ""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    key: EncryptionKey | None = None
    """Encrypts the environment variables and the log group; None uses AWS-managed keys."""
    memory_mb: int | None = None
    """Overrides the profile's memory for a function with unusual needs."""
    timeout_seconds: int | None = None
    """Overrides the profile's timeout; a workflow task invoking the function times out with it."""
    reserve_concurrency: bool = True
    """Apply the profile's reserved concurrency. Off for a function that runs once per deployment (a schema
    migration): a reservation would take concurrency from the account's pool for a function that is idle."""

    def __post_init__(self) -> None:
        secrets = secret_looking(self.environment)
        if secrets:
            raise ValueError(
                f"environment variables {secrets} look like secrets; keep secrets in Secrets Manager and pass "
                "the secret's ARN instead"
            )


class Function(iam.RoleOwner, Component):
    """arm64, Python 3.13, JSON logs to an explicit group, X-Ray active tracing, and a role with nothing by default."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    role: aws.iam.Role

    def __init__(
        self,
        name: str,
        args: FunctionArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        super().__init__(name, opts, transform)
        settings = args.profile.lambda_
        self.physical_name = physical_name(name, "function")
        self.timeout_seconds = args.timeout_seconds or settings.timeout_seconds
        self.package = build_package(
            args.code, python_version=PYTHON_VERSION, architecture=settings.architecture.value, build_dir=BUILD_DIR
        )
        self.log_group = log_group(
            f"{name}-logs", f"/aws/lambda/{self.physical_name}", args.profile, args.key.arn if args.key else None, self
        )
        self.role = self._create_role(name)
        self.base_policy = self._allow_logs_and_traces()
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=self.physical_name,
            description=args.description,
            runtime=PYTHON_RUNTIME,
            architectures=[settings.architecture.value],
            handler=args.handler,
            code=pulumi.FileArchive(str(self.package.path)),
            source_code_hash=self.package.sha256_base64,
            role=self.role.arn,
            memory_size=args.memory_mb or settings.memory_mb,
            timeout=self.timeout_seconds,
            reserved_concurrent_executions=settings.reserved_concurrency if args.reserve_concurrency else None,
            tracing_config={"mode": "Active"},
            logging_config={
                "log_format": "JSON",
                "log_group": self.log_group.name,
                "application_log_level": "INFO",
                "system_log_level": "WARN",
            },
            environment={"variables": dict(args.environment)} if args.environment else None,
            kms_key_arn=args.key.arn if args.key else None,
            # The function must not run before it may write its logs and traces.
            opts=self.child(depends_on=[self.base_policy, self.log_group]),
        )
        self.name = self.function.name
        self.arn = self.function.arn
        self.finish({"name": self.name, "arn": self.arn, "role_arn": self.role.arn})

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
        state times out with the function, so the workflow's worst case follows from the function's own limit.
        """
        return Task(
            name=name,
            resource=self.arn,
            parameters=None,
            result_path=result_path,
            statements=iam.statements_of(self.grant_invoke),
            transient_errors=(*LAMBDA_TRANSIENT_ERRORS, *retry_also),
            timeout_seconds=self.timeout_seconds,
            next=next,
            catch=catch,
            comment=comment,
        )

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
