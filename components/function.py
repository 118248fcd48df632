"""A Lambda function that builds its own deployment package, logs to its own group and owns a least-privilege role."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import iam
from components.environment import secret_looking
from components.iam import Statement
from components.key import EncryptionKey
from components.logs import log_group
from components.naming import physical_name
from components.packaging import CodeSource, build_package
from components.profile import EnvironmentProfile

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
    """`module.function` inside the package, e.g. `pipeline.record.handler`."""
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


class Function(iam.RoleOwner, pulumi.ComponentResource):
    """arm64, Python 3.13, JSON logs to an explicit group, X-Ray active tracing, and a role with nothing by default."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    role: aws.iam.Role

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline:compute:Function", name, None, opts)
        self._logical_name = name
        settings = args.profile.lambda_
        self.physical_name = physical_name(name, "function")
        self.timeout_seconds = args.timeout_seconds or settings.timeout_seconds
        self.package = build_package(
            args.code, python_version=PYTHON_VERSION, architecture=settings.architecture.value, build_dir=BUILD_DIR
        )
        self.log_group = log_group(f"{name}-logs", f"/aws/lambda/{self.physical_name}", args.profile, args.key, self)
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.base_policy, self.log_group]),
        )
        self.name = self.function.name
        self.arn = self.function.arn
        self.register_outputs({"name": self.name, "arn": self.arn, "role_arn": self.role.arn})

    def invoke_statements(self) -> list[Statement]:
        """What a caller needs to invoke this function: the function and its versions/aliases, nothing else."""
        qualified = self.arn.apply(lambda arn: f"{arn}:*")
        return [Statement(actions=["lambda:InvokeFunction"], resources=[self.arn, qualified], sid="Invoke")]

    def _create_role(self, name: str) -> aws.iam.Role:
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        return aws.iam.Role(
            f"{name}-role",
            name=physical_name(name, "role"),
            assume_role_policy=iam.trust_policy("lambda.amazonaws.com", identity.account_id),
            opts=pulumi.ResourceOptions(parent=self),
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
