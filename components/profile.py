"""The environment profile: one typed, validated object that decides how every component behaves in a stack.

It is read from the stack file's `platform:profile` object (by the loader in components/config.py). Every field but
one has a default, and the defaults are the safe ones (protected, retained, customer-managed keys, versioned): a new
`Pulumi.<stack>.yaml` that says nothing else gets production-grade behaviour, and anything cheaper or destructive has
to be switched on by name. The exception is `allowedAccountIds`, the AWS accounts the stack may deploy to: no value
of it is safe for every stack (an empty list would allow any account), so the stack file must name them. It holds
platform settings only: what an application built on the components decides (the sample's image limits) is the
application's own settings.

Bad config fails here, before any resource is declared, with every problem listed by key, value and what is
allowed.
"""

import enum
import ipaddress
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from components.config import (
    ConfigError,
    camel_keys,
    current_config,
    decode,
    load_section,
    parse_section,
    plain,
    setting,
)

if TYPE_CHECKING:
    from components.profile_args import ProfileArgs

CONFIG_NAMESPACE = "platform"
"""Fixed, not the project's name, so that renaming the project (a fork, `pulumi new`) keeps the stack files valid."""
PROFILE_KEY = "profile"
PROVIDER_FIELDS = frozenset({"allowed_account_ids", "deploy_role_arn"})
"""Settings of the stack's AWS provider, not of any component: a component's args carry every other field."""

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip
"""The values CloudWatch Logs accepts for a retention policy."""

REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::(?P<account>\d{12}):role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
"""An IAM role's ARN: partition, 12-digit account, optional path, and a name of up to 64 characters."""
ALLOWED_ACCOUNT_IDS_KEY = "allowedAccountIds"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HTTPS_URL = re.compile(r"^https://[^\s/]+(/\S*)?$")
BACKUP_SCHEDULE = re.compile(r"^cron\(\S+( \S+){5}\)$")
"""AWS's cron form: six fields (minutes, hours, day of month, month, day of week, year)."""
SET_ACCOUNT_COMMAND = (
    f"pulumi config set --path '{CONFIG_NAMESPACE}:{PROFILE_KEY}.{ALLOWED_ACCOUNT_IDS_KEY}[0]' <account-id> "
    "--type string"
)
"""How to name the stack's account (`--type string`: with `--path` the CLI stores digits as a number otherwise)."""


class ProfileError(ConfigError):
    """The environment profile cannot be deployed."""


class Encryption(enum.StrEnum):
    """Which KMS keys encrypt data at rest."""

    CUSTOMER_MANAGED = "customer-managed"
    """A KMS key of the stack's own, with rotation: auditable and revocable, $1/month."""
    AWS_MANAGED = "aws-managed"
    """Each service's AWS-owned or AWS-managed key: encrypted at rest at no idle cost."""


class WorkflowType(enum.StrEnum):
    """Step Functions workflow type."""

    EXPRESS = "EXPRESS"
    """$1 per million requests plus duration: right for short, frequent workflows."""
    STANDARD = "STANDARD"
    """$25 per million state transitions; needed for `.sync` and task-token integrations and runs over 5 minutes."""


class Architecture(enum.StrEnum):
    """Lambda instruction set."""

    ARM64 = "arm64"
    """Graviton: 20% less per GB-second."""
    X86_64 = "x86_64"
    """Intel/AMD, for dependencies without arm64 builds."""


@dataclass(frozen=True)
class LambdaSettings:
    memory_mb: int = setting(1024, "Memory (and so CPU) of each function.", low=128, high=10240)
    timeout_seconds: int = setting(
        30, "Timeout of each function; a workflow task invoking it waits 11 s more, for a cold start's INIT "
        "(Express: 300 s in all).",
        low=1, high=900,
    )  # fmt: skip
    reserved_concurrency: int | None = setting(
        None, "Concurrency reserved for each function; null leaves it unreserved (new accounts have only 10).",
        low=1, high=10000,
    )  # fmt: skip
    architecture: Architecture = setting(Architecture.ARM64, "Instruction set; arm64 costs 20% less per GB-second.")


@dataclass(frozen=True)
class RetrySettings:
    """Retry policy for transient service errors in every workflow task (AWS's recommended shape)."""

    max_attempts: int = setting(3, "Retries after the first attempt.", low=0, high=10)
    interval_seconds: int = setting(2, "Wait before the first retry.", low=1, high=300)
    backoff_rate: float = setting(2.0, "Multiplier for each following wait.", low=1.0, high=10.0)
    max_delay_seconds: int = setting(30, "Cap on any single wait.", low=1, high=3600)
    jitter: bool = setting(True, "Randomise waits (FULL jitter) so that retries of a burst do not stay in step.")


class HistoryLevel(enum.StrEnum):
    """Which execution history events a workflow logs. Step Functions also has FATAL and OFF; they are not offered
    because an Express workflow keeps no history of its own: at FATAL its failed executions would leave only their
    end (not the state that failed, nor its input), at OFF nothing at all."""

    ALL = "ALL"
    """Every event of every execution: the audit trail, and with execution data about 24 KB of log per execution
    of the sample (`make review` prices it)."""
    ERROR = "ERROR"
    """Error events only: each failed task and each failed execution's Fail state and end; a successful execution
    logs nothing (its workflow's metrics count it)."""


@dataclass(frozen=True)
class HistorySettings:
    """What every workflow logs of its executions to its own log group. For an Express workflow that log group is the
    only execution history (Step Functions keeps none), and at level ALL with execution data it is the largest cost
    per execution after the S3 PUTs: `make review` prices it by level."""

    level: HistoryLevel = setting(
        HistoryLevel.ALL, "Which events are logged: ALL (every execution's every state) or ERROR (failed tasks and "
        "executions only).",
    )  # fmt: skip
    include_execution_data: bool = setting(
        True, "Log each event's input and output (the state's JSON): what a failed execution is debugged from, and "
        "most of each event's bytes.",
    )  # fmt: skip


@dataclass(frozen=True)
class TracingSettings:
    """Which executions X-Ray records: each workflow gets a sampling rule of its own with these values
    (components/workflow.py). A Lambda task invoked from an execution follows the execution's decision, so the rule
    also decides which invocations are traced. Traces are billed per trace recorded: `make review` prices them."""

    reservoir: int = setting(
        1, "Executions traced each second before sampleRate applies, shared by every caller of the rule; 1 (X-Ray's "
        "default) traces nearly every execution of a quiet workflow, 0 traces exactly sampleRate of them.",
        low=0, high=10000,
    )  # fmt: skip
    sample_rate: float = setting(
        0.05, "Share of the executions beyond the reservoir that are traced (0.05: one in twenty, X-Ray's default).",
        low=0.0, high=1.0,
    )  # fmt: skip


@dataclass(frozen=True)
class WorkflowSettings:
    type: WorkflowType = setting(
        WorkflowType.EXPRESS, "Step Functions type of a workflow that names none (`.sync` tasks need STANDARD)."
    )
    retry: RetrySettings = setting(RetrySettings(), "Retries on service exceptions.")
    history: HistorySettings = setting(
        HistorySettings(), "The execution history each workflow logs to its own log group (for Express, the only one)."
    )
    tracing: TracingSettings = setting(
        TracingSettings(), "Which executions X-Ray traces: each workflow's own sampling rule."
    )


class EgressMode(enum.StrEnum):
    """How tasks in the VPC reach AWS APIs and the internet."""

    PUBLIC_IP = "public-ip"
    """The task gets a public IP in a public subnet; its security group allows only outbound 443. No idle cost."""
    NAT = "nat"
    """Private subnets reach the internet through a NAT gateway (about $33/month plus data)."""
    ENDPOINTS = "endpoints"
    """Private subnets with no internet route: interface endpoints for ECR, logs, STS and Secrets Manager."""


class FlowLogTraffic(enum.StrEnum):
    """Which traffic VPC flow logs record."""

    REJECT = "REJECT"
    """Refused connections only: what an audit of the security groups needs, at a fraction of the volume."""
    ALL = "ALL"
    """Accepted and refused traffic."""


@dataclass(frozen=True)
class NetworkSettings:
    cidr_block: str = setting("10.20.0.0/16", "The VPC's address range (a /16 to /24 private range).")
    egress: EgressMode = setting(EgressMode.ENDPOINTS, "How the Fargate task reaches AWS APIs.")
    flow_log_traffic: FlowLogTraffic = setting(FlowLogTraffic.ALL, "Which traffic VPC flow logs record.")


FARGATE_CPU = (256, 512, 1024, 2048, 4096, 8192, 16384)
FARGATE_MEMORY_MB_BY_CPU = {
    256: (512, 2048),
    512: (1024, 4096),
    1024: (2048, 8192),
    2048: (4096, 16384),
    4096: (8192, 30720),
    8192: (16384, 61440),
    16384: (32768, 122880),
}
"""Fargate's allowed memory range for each CPU size (in steps of 1 GB above 1 GB)."""


@dataclass(frozen=True)
class FargateSettings:
    cpu: int = setting(2048, "CPU units of each Fargate task (1024 = 1 vCPU).", choices=FARGATE_CPU)
    memory_mb: int = setting(8192, "Memory of each Fargate task; must suit the CPU size.", low=512, high=122880)
    ephemeral_storage_gib: int = setting(21, "Scratch space for downloads (Fargate's minimum is 21).", low=21, high=200)
    timeout_seconds: int = setting(
        900, "How long a task run by a workflow may take, image pull and start included; then it is stopped.",
        low=60, high=86400,
    )  # fmt: skip
    container_insights: bool = setting(True, "ECS Container Insights metrics (billed per metric).")


@dataclass(frozen=True)
class DatabaseSettings:
    min_capacity: float = setting(0.5, "Minimum ACUs; 0 lets the cluster pause when idle.", low=0, high=256)
    max_capacity: float = setting(4.0, "Maximum ACUs.", low=1, high=256)
    auto_pause_seconds: int = setting(300, "Idle seconds before a 0-ACU cluster pauses.", low=300, high=86400)
    backup_retention_days: int = setting(7, "Days of automated backups.", low=1, high=35)
    readers: int = setting(1, "Reader instances to fail over to (in another zone); each bills its minimum ACUs.", low=0,
                         high=15)  # fmt: skip


@dataclass(frozen=True)
class MonitoringSettings:
    """What the stack's operations watch and whom they tell (components/operations.py). Alarms and a dashboard are
    billed by the month whether or not anything happens, so they are idle costs: the review report prices them."""

    alarms: bool = setting(
        True, "CloudWatch alarms on every component that can fail, thresholds derived from each one's settings, "
        "each sending ALARM and OK to the stack's topic (billed per alarm metric a month: `make review` prices them).",
    )  # fmt: skip
    emails: tuple[str, ...] = setting(
        (), "Addresses subscribed to the stack's alarm topic (each confirms by email before it receives anything).",
        pattern=EMAIL, expected="an email address", min_items=0,
    )  # fmt: skip
    webhooks: tuple[str, ...] = setting(
        (), "HTTPS endpoints subscribed to the stack's alarm topic (a chat or paging webhook that confirms "
        "SNS's subscription).",
        pattern=HTTPS_URL, expected="an https:// URL", min_items=0,
    )  # fmt: skip
    dashboard: bool = setting(
        True, "A CloudWatch dashboard of the stack, one row per component (billed by the month beyond the account's "
        "three free ones: `make review` prices it).",
    )  # fmt: skip
    performance_insights: bool = setting(
        True, "Performance Insights on every Aurora instance at its free retention (7 days), where the minimum "
        "capacity is at least 2 ACUs: below that it would hold each instance at 2 ACUs (components/database.py).",
    )  # fmt: skip


@dataclass(frozen=True)
class BackupSettings:
    enabled: bool = setting(
        True, "An AWS Backup plan for every table and database, into a vault encrypted with the stack's key "
        "(billed per GB stored: nothing while empty).",
    )  # fmt: skip
    retention_days: int = setting(35, "Days each recovery point is kept.", low=1, high=36500)
    schedule: str = setting(
        "cron(0 3 * * ? *)", "When the daily backup starts (UTC), as an AWS cron expression.",
        pattern=BACKUP_SCHEDULE, expected="an AWS cron expression such as cron(0 3 * * ? *)",
    )  # fmt: skip


@dataclass(frozen=True)
class EnvironmentProfile:
    allowed_account_ids: tuple[str, ...] = setting(
        (), "The AWS accounts this stack may deploy to, as 12-digit strings. The stack's AWS provider gets them as "
        "`allowed_account_ids` and refuses any other account when it starts, before any change. Required in the "
        "stack file (an empty list would allow any account): the empty default only serves profiles built in code, "
        "and `components.provider.aws_provider` refuses it.",
        pattern=ACCOUNT_ID_PATTERN, expected="a 12-digit AWS account ID in quotes (a number would lose leading zeros)",
        required=f"an empty list would allow any account, so there is no default; name the stack's account with "
                 f"`{SET_ACCOUNT_COMMAND}`",
    )  # fmt: skip
    deploy_role_arn: str | None = setting(
        None, "An IAM role, in one of allowedAccountIds, that the AWS provider assumes to deploy (session name "
        "`pulumi-<project>-<stack>`); null deploys with the caller's own credentials.",
        pattern=ROLE_ARN, expected="an IAM role ARN such as arn:aws:iam::111122223333:role/deploy",
    )  # fmt: skip
    log_retention_days: int = setting(365, "Retention of every log group.", choices=LOG_RETENTION_DAYS)
    protect: bool = setting(True, "Pulumi `protect` on stateful resources: deleting them needs an explicit unprotect.")
    retain_on_delete: bool = setting(True, "Keep stateful resources in AWS when they leave the program or stack.")
    force_destroy: bool = setting(False, "Let `pulumi destroy` empty buckets that still hold objects.")
    point_in_time_recovery: bool = setting(True, "DynamoDB point-in-time recovery (35 days of restores).")
    deletion_protection: bool = setting(True, "Deletion protection of the DynamoDB tables and the Aurora cluster.")
    encryption: Encryption = setting(Encryption.CUSTOMER_MANAGED, "Which KMS keys encrypt data at rest.")
    kms_deletion_window_days: int = setting(30, "Waiting period before a deleted KMS key is gone.", low=7, high=30)
    versioning: bool = setting(True, "S3 object versioning.")
    access_logging: bool = setting(True, "S3 server access logs for every bucket, kept in a log bucket of the stack.")
    access_log_retention_days: int = setting(365, "Days access logs are kept.", low=1, high=36500)
    lambda_: LambdaSettings = setting(LambdaSettings(), "Lambda function settings.")
    workflow: WorkflowSettings = setting(WorkflowSettings(), "Step Functions settings.")
    network: NetworkSettings = setting(NetworkSettings(), "The VPC that Fargate tasks and databases live in.")
    fargate: FargateSettings = setting(
        FargateSettings(), "Every Fargate task: size, scratch space, time limit, metrics."
    )
    database: DatabaseSettings = setting(
        DatabaseSettings(), "Every Aurora Serverless v2 cluster: capacity, pausing, backups."
    )
    monitoring: MonitoringSettings = setting(
        MonitoringSettings(), "Alarms, notifications, the dashboard and Performance Insights."
    )
    backup: BackupSettings = setting(BackupSettings(), "AWS Backup of the tables and databases.")
    tags: dict[str, str] = setting({}, "Tags added to every taggable resource, beside Project/Environment/ManagedBy.")

    def __post_init__(self) -> None:
        problems = _contradictions(self)
        if problems:
            raise ProfileError(problems)

    @property
    def customer_managed_keys(self) -> bool:
        return self.encryption is Encryption.CUSTOMER_MANAGED

    @property
    def args(self) -> "ProfileArgs":
        """This profile as the plain data a component's args carry (what another language passes)."""
        return typing.cast("ProfileArgs", plain(self, exclude=PROVIDER_FIELDS))

    def stateful(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a resource that holds data. Set on each child: the SDK does not inherit retain_on_delete."""
        return pulumi.ResourceOptions(parent=parent, protect=self.protect, retain_on_delete=self.retain_on_delete)


def profile_from_args(args: Mapping[str, Any]) -> EnvironmentProfile:
    """The profile a component's args carry, validated by the same rules as the stack file's (`ProfileArgs`)."""
    problems: list[str] = []
    profile = parse_section(EnvironmentProfile, camel_keys(args), "profile", problems, exclude=PROVIDER_FIELDS)
    if problems:
        raise ProfileError(problems)
    return profile


def load_profile(config: Mapping[str, Any] | None = None) -> EnvironmentProfile:
    """Read and validate the stack's profile. With no argument it reads the running stack's configuration."""
    config = {key: decode(value) for key, value in (current_config() if config is None else config).items()}
    problems = _region_problems(config)
    profile = load_section(EnvironmentProfile, config, CONFIG_NAMESPACE, PROFILE_KEY, problems)
    if problems:
        raise ProfileError(problems)
    return profile


def _region_problems(config: Mapping[str, Any]) -> list[str]:
    region = config.get("aws:region")
    if region is None:
        return ["aws:region: missing; set it with `pulumi config set aws:region <region>`, e.g. eu-west-1"]
    if not isinstance(region, str) or not REGION.match(region):
        return [f"aws:region: {region!r} is not allowed; expected an AWS region name such as eu-west-1"]
    return []


def _contradictions(profile: "EnvironmentProfile") -> list[str]:
    """Settings that are each valid but cannot hold together."""
    prefix = f"{CONFIG_NAMESPACE}:{PROFILE_KEY}"
    problems = []
    if profile.force_destroy and (profile.retain_on_delete or profile.protect):
        problems.append(
            f"{prefix}.forceDestroy: true is not allowed while retainOnDelete or protect is true; "
            "emptying a bucket on delete contradicts keeping it: set forceDestroy: false, "
            "or set both retainOnDelete: false and protect: false"
        )
    role = ROLE_ARN.match(profile.deploy_role_arn or "")
    if role and profile.allowed_account_ids and role["account"] not in profile.allowed_account_ids:
        problems.append(
            f"{prefix}.deployRoleArn: {profile.deploy_role_arn!r} is not allowed; its account {role['account']} is "
            f"not in allowedAccountIds ({', '.join(profile.allowed_account_ids)}): the provider would assume it and "
            "then refuse the account; use a role in an allowed account, or add its account"
        )
    low, high = FARGATE_MEMORY_MB_BY_CPU[profile.fargate.cpu]
    if not low <= profile.fargate.memory_mb <= high:
        problems.append(
            f"{prefix}.fargate.memoryMb: {profile.fargate.memory_mb} is not allowed with cpu {profile.fargate.cpu}; "
            f"expected {low} to {high}"
        )
    database = profile.database
    if database.min_capacity * 2 != int(database.min_capacity * 2) or database.min_capacity > database.max_capacity:
        problems.append(
            f"{prefix}.database.minCapacity: {database.min_capacity} is not allowed; expected a multiple of 0.5 "
            f"no greater than maxCapacity ({database.max_capacity})"
        )
    monitoring = profile.monitoring
    if (monitoring.emails or monitoring.webhooks) and not monitoring.alarms:
        problems.append(
            f"{prefix}.monitoring.alarms: false is not allowed with emails or webhooks; nothing would be sent to "
            "them: set alarms: true, or remove the subscriptions"
        )
    if not _is_private_cidr(profile.network.cidr_block):
        problems.append(
            f"{prefix}.network.cidrBlock: {profile.network.cidr_block!r} is not allowed; expected a private range "
            "(10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) of size /16 to /24"
        )
    return problems


def _is_private_cidr(cidr: str) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return False
    return isinstance(network, ipaddress.IPv4Network) and network.is_private and 16 <= network.prefixlen <= 24
