"""The environment profile: one typed, validated object that decides how every component behaves in a stack.

It is read from the stack file's `pipeline:profile` object. Every field but one has a default, and the defaults are
the safe ones (protected, retained, customer-managed keys, versioned): a new `Pulumi.<stack>.yaml` that says nothing
else gets production-grade behaviour, and anything cheaper or destructive has to be switched on by name. The
exception is `allowedAccountIds`, the AWS accounts the stack may deploy to: no value of it is safe for every stack
(an empty list would allow any account), so the stack file must name them. YAML keys are the camelCase form of
the field names (`log_retention_days` -> `logRetentionDays`, `lambda_` -> `lambda`).

Bad config fails here, before any resource is declared, with every problem listed by key, value and what is
allowed.
"""

import dataclasses
import difflib
import enum
import ipaddress
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

CONFIG_NAMESPACE = "pipeline"
"""Fixed, not the project's name, so that renaming the project (a fork, `pulumi new`) keeps the stack files valid."""
PROFILE_KEY = "profile"
KNOWN_KEYS = frozenset({PROFILE_KEY})

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip
"""The values CloudWatch Logs accepts for a retention policy."""

REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
TAG_KEY = re.compile(r"^(?!aws:)[\w .:/=+\-@]{1,128}$")
TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{0,256}$")
ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::(?P<account>\d{12}):role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
"""An IAM role's ARN: partition, 12-digit account, optional path, and a name of up to 64 characters."""
ALLOWED_ACCOUNT_IDS_KEY = "allowedAccountIds"
SET_ACCOUNT_COMMAND = (
    f"pulumi config set --path '{CONFIG_NAMESPACE}:{PROFILE_KEY}.{ALLOWED_ACCOUNT_IDS_KEY}[0]' <account-id> "
    "--type string"
)
"""How to name the stack's account (`--type string`: with `--path` the CLI stores digits as a number otherwise)."""


class ProfileError(pulumi.RunError):
    """Stack configuration that cannot be deployed. `RunError` makes the Pulumi CLI print it without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {problem}" for problem in problems))


class Encryption(enum.StrEnum):
    CUSTOMER_MANAGED = "customer-managed"
    """A KMS key of the stack's own, with rotation: auditable and revocable, $1/month."""
    AWS_MANAGED = "aws-managed"
    """Each service's AWS-owned or AWS-managed key: encrypted at rest at no idle cost."""


class WorkflowType(enum.StrEnum):
    EXPRESS = "EXPRESS"
    """$1 per million requests plus duration: right for a short workflow run once per upload."""
    STANDARD = "STANDARD"
    """$25 per million state transitions; needed for `.sync` and task-token integrations and runs over 5 minutes."""


class Architecture(enum.StrEnum):
    ARM64 = "arm64"
    X86_64 = "x86_64"


def _spec(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
          choices: tuple[Any, ...] | None = None, pattern: re.Pattern[str] | None = None,
          expected: str | None = None, required: str | None = None) -> Any:  # fmt: skip
    """A dataclass field carrying its documentation and the bounds the loader enforces: for a string, the `pattern`
    it must match and the `expected` description of one; `required` makes the key mandatory in the stack file and
    says why and how to set it (the default then only serves profiles built in code)."""
    meta = {"doc": doc, "low": low, "high": high, "choices": choices, "pattern": pattern, "expected": expected,
            "required": required}  # fmt: skip
    if isinstance(default, (dict, list)) or dataclasses.is_dataclass(default):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class LambdaSettings:
    memory_mb: int = _spec(1024, "Memory (and so CPU) of each function.", low=128, high=10240)
    timeout_seconds: int = _spec(
        30, "Timeout of each function; a workflow task invoking it times out with it (Express: 300 s in all).",
        low=1, high=900,
    )  # fmt: skip
    reserved_concurrency: int | None = _spec(
        None, "Concurrency reserved for each function; null leaves it unreserved (new accounts have only 10).",
        low=1, high=10000,
    )  # fmt: skip
    architecture: Architecture = _spec(Architecture.ARM64, "Instruction set; arm64 costs 20% less per GB-second.")


@dataclass(frozen=True)
class RetrySettings:
    """Retry policy for transient service errors in every workflow task (AWS's recommended shape)."""

    max_attempts: int = _spec(3, "Retries after the first attempt.", low=0, high=10)
    interval_seconds: int = _spec(2, "Wait before the first retry.", low=1, high=300)
    backoff_rate: float = _spec(2.0, "Multiplier for each following wait.", low=1.0, high=10.0)
    max_delay_seconds: int = _spec(30, "Cap on any single wait.", low=1, high=3600)
    jitter: bool = _spec(True, "Randomise waits (FULL jitter) so that retries of a burst do not stay in step.")


@dataclass(frozen=True)
class WorkflowSettings:
    type: WorkflowType = _spec(WorkflowType.EXPRESS, "Step Functions workflow type of the per-upload workflow.")
    retry: RetrySettings = _spec(RetrySettings(), "Retries on service exceptions.")


class RenditionFormat(enum.StrEnum):
    AUTO = "auto"
    """JPEG for opaque images, WebP for images with transparency."""
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"


@dataclass(frozen=True)
class ImageSettings:
    rendition_sizes: tuple[int, ...] = _spec((1024, 512, 128), "Longest side of each rendition.", low=16, high=8192)
    format: RenditionFormat = _spec(RenditionFormat.AUTO, "Output format of the renditions.")
    quality: int = _spec(82, "JPEG/WebP quality of the renditions.", low=1, high=100)
    max_megabytes: int = _spec(40, "Uploads over this size are refused before they are read.", low=1, high=5120)
    max_megapixels: int = _spec(200, "Images whose header declares more are refused before decoding.", low=1, high=1000)
    keep_personal_exif: bool = _spec(False, "Keep GPS position, owner and serial numbers in the image records.")


class EgressMode(enum.StrEnum):
    PUBLIC_IP = "public-ip"
    """The task gets a public IP in a public subnet; its security group allows only outbound 443. No idle cost."""
    NAT = "nat"
    """Private subnets reach the internet through a NAT gateway (about $33/month plus data)."""
    ENDPOINTS = "endpoints"
    """Private subnets with no internet route: interface endpoints for ECR, logs, STS and Secrets Manager."""


class FlowLogTraffic(enum.StrEnum):
    REJECT = "REJECT"
    ALL = "ALL"


@dataclass(frozen=True)
class NetworkSettings:
    cidr_block: str = _spec("10.20.0.0/16", "The VPC's address range (a /16 to /24 private range).")
    egress: EgressMode = _spec(EgressMode.ENDPOINTS, "How the Fargate task reaches AWS APIs.")
    flow_log_traffic: FlowLogTraffic = _spec(FlowLogTraffic.ALL, "Which traffic VPC flow logs record.")


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
    cpu: int = _spec(2048, "CPU units of the worker task (1024 = 1 vCPU).", choices=FARGATE_CPU)
    memory_mb: int = _spec(8192, "Memory of the worker task; must suit the CPU size.", low=512, high=122880)
    ephemeral_storage_gib: int = _spec(21, "Scratch space for downloads (Fargate's minimum is 21).", low=21, high=200)
    timeout_seconds: int = _spec(
        900, "How long the worker may take for one image, image pull and start included; then it is stopped.",
        low=60, high=86400,
    )  # fmt: skip
    container_insights: bool = _spec(True, "ECS Container Insights metrics (billed per metric).")


@dataclass(frozen=True)
class DatabaseSettings:
    catalog: bool = _spec(True, "Keep an Aurora Serverless v2 catalog of processed images.")
    min_capacity: float = _spec(0.5, "Minimum ACUs; 0 lets the cluster pause when idle.", low=0, high=256)
    max_capacity: float = _spec(4.0, "Maximum ACUs.", low=1, high=256)
    auto_pause_seconds: int = _spec(300, "Idle seconds before a 0-ACU cluster pauses.", low=300, high=86400)
    backup_retention_days: int = _spec(7, "Days of automated backups.", low=1, high=35)
    readers: int = _spec(1, "Reader instances to fail over to (in another zone); each bills its minimum ACUs.", low=0,
                         high=15)  # fmt: skip


@dataclass(frozen=True)
class EnvironmentProfile:
    allowed_account_ids: tuple[str, ...] = _spec(
        (), "The AWS accounts this stack may deploy to, as 12-digit strings. The stack's AWS provider gets them as "
        "`allowed_account_ids` and refuses any other account when it starts, before any change. Required in the "
        "stack file (an empty list would allow any account): the empty default only serves profiles built in code, "
        "and `components.provider.aws_provider` refuses it.",
        pattern=ACCOUNT_ID_PATTERN, expected="a 12-digit AWS account ID in quotes (a number would lose leading zeros)",
        required=f"an empty list would allow any account, so there is no default; name the stack's account with "
                 f"`{SET_ACCOUNT_COMMAND}`",
    )  # fmt: skip
    deploy_role_arn: str | None = _spec(
        None, "An IAM role, in one of allowedAccountIds, that the AWS provider assumes to deploy (session name "
        "`pulumi-<project>-<stack>`); null deploys with the caller's own credentials.",
        pattern=ROLE_ARN, expected="an IAM role ARN such as arn:aws:iam::111122223333:role/deploy",
    )  # fmt: skip
    log_retention_days: int = _spec(365, "Retention of every log group.", choices=LOG_RETENTION_DAYS)
    protect: bool = _spec(True, "Pulumi `protect` on stateful resources: deleting them needs an explicit unprotect.")
    retain_on_delete: bool = _spec(True, "Keep stateful resources in AWS when they leave the program or stack.")
    force_destroy: bool = _spec(False, "Let `pulumi destroy` empty buckets that still hold objects.")
    point_in_time_recovery: bool = _spec(True, "DynamoDB point-in-time recovery (35 days of restores).")
    deletion_protection: bool = _spec(True, "Deletion protection of the DynamoDB tables and the Aurora cluster.")
    encryption: Encryption = _spec(Encryption.CUSTOMER_MANAGED, "Which KMS keys encrypt data at rest.")
    kms_deletion_window_days: int = _spec(30, "Waiting period before a deleted KMS key is gone.", low=7, high=30)
    versioning: bool = _spec(True, "S3 object versioning.")
    access_logging: bool = _spec(True, "S3 server access logs for every bucket, kept in a log bucket of the stack.")
    access_log_retention_days: int = _spec(365, "Days access logs are kept.", low=1, high=36500)
    upload_expiration_days: int | None = _spec(
        None, "Delete uploaded originals after this many days; null keeps them.", low=1, high=36500
    )
    lambda_: LambdaSettings = _spec(LambdaSettings(), "Lambda function settings.")
    workflow: WorkflowSettings = _spec(WorkflowSettings(), "Step Functions settings.")
    images: ImageSettings = _spec(ImageSettings(), "What the pipeline accepts and the renditions it makes.")
    network: NetworkSettings = _spec(NetworkSettings(), "The VPC the Fargate task and the database live in.")
    fargate: FargateSettings = _spec(FargateSettings(), "The worker task for images too big for the Lambda.")
    database: DatabaseSettings = _spec(DatabaseSettings(), "The Aurora Serverless v2 image catalog.")
    tags: dict[str, str] = _spec({}, "Tags added to every taggable resource, beside Project/Environment/ManagedBy.")

    def __post_init__(self) -> None:
        problems = _contradictions(self)
        if problems:
            raise ProfileError(problems)

    @property
    def customer_managed_keys(self) -> bool:
        return self.encryption is Encryption.CUSTOMER_MANAGED

    def stateful(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a resource that holds data. Set on each child: the SDK does not inherit retain_on_delete."""
        return pulumi.ResourceOptions(parent=parent, protect=self.protect, retain_on_delete=self.retain_on_delete)


def load_profile(config: Mapping[str, Any] | None = None) -> EnvironmentProfile:
    """Read and validate the stack's profile. With no argument it reads the running stack's configuration."""
    config = {key: _decode(value) for key, value in (current_config() if config is None else config).items()}
    problems = _unknown_namespace_keys(config) + _region_problems(config)
    raw = config.get(f"{CONFIG_NAMESPACE}:{PROFILE_KEY}", {})
    profile = _parse_dataclass(EnvironmentProfile, raw, f"{CONFIG_NAMESPACE}:{PROFILE_KEY}", problems)
    if problems:
        raise ProfileError(problems)
    return profile


def current_config() -> dict[str, Any]:
    """Every config value of the running stack, as the CLI passed it (structured values as JSON text)."""
    return {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}


def yaml_key(field_name: str) -> str:
    head, *rest = field_name.rstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _unknown_namespace_keys(config: Mapping[str, Any]) -> list[str]:
    namespaces = {CONFIG_NAMESPACE, pulumi.get_project()}
    unknown = [key for key in config if key.split(":", 1)[0] in namespaces and key.split(":", 1)[1] not in KNOWN_KEYS]
    return [_unknown_key_problem(key, [f"{CONFIG_NAMESPACE}:{k}" for k in sorted(KNOWN_KEYS)]) for key in unknown]


def _region_problems(config: Mapping[str, Any]) -> list[str]:
    region = config.get("aws:region")
    if region is None:
        return ["aws:region: missing; set it with `pulumi config set aws:region <region>`, e.g. eu-west-1"]
    if not isinstance(region, str) or not REGION.match(region):
        return [f"aws:region: {region!r} is not allowed; expected an AWS region name such as eu-west-1"]
    return []


def _unknown_key_problem(path: str, allowed: list[str]) -> str:
    leaf = path.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(leaf, [a.rsplit(".", 1)[-1] for a in allowed], n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{path}: unknown key{hint}; allowed keys: {', '.join(allowed)}"


def _parse_dataclass(cls: type, raw: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: {raw!r} is not allowed; expected an object")
        return cls()
    fields = {yaml_key(f.name): f for f in dataclasses.fields(cls)}
    problems.extend(
        _unknown_key_problem(f"{path}.{key}", [f"{path}.{k}" for k in fields]) for key in raw if key not in fields
    )
    problems.extend(
        f"{path}.{key}: missing; {spec.metadata['required']}"
        for key, spec in fields.items()
        if spec.metadata.get("required") and key not in raw
    )
    hints = typing.get_type_hints(cls)
    values = {}
    for key, spec in fields.items():
        if key in raw:
            known = len(problems)
            value = _parse_value(hints[spec.name], spec.metadata, raw[key], f"{path}.{key}", problems)
            if len(problems) == known:  # a bad value keeps its default so that every other problem is still found
                values[spec.name] = value
    try:
        return cls(**values)
    except ProfileError as error:
        problems.extend(error.problems)
        return cls()


def _parse_value(hint: Any, meta: Mapping[str, Any], value: Any, path: str, problems: list[str]) -> Any:
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    if optional:
        if value is None:
            return None
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if dataclasses.is_dataclass(hint):
        return _parse_dataclass(hint, value, path, problems)
    if typing.get_origin(hint) is dict:
        return _parse_tags(value, path, problems)
    if typing.get_origin(hint) is tuple:
        return _parse_sizes(typing.get_args(hint)[0], meta, value, path, problems)
    parsed, expected = _coerce(hint, meta, value)
    if parsed is None:
        nullable = " or null" if optional else ""
        problems.append(f"{path}: {value!r} is not allowed; expected {expected}{nullable}")
    return parsed


def _coerce(hint: Any, meta: Mapping[str, Any], value: Any) -> tuple[Any, str]:
    """Return (parsed value or None, description of what is allowed)."""
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [member.value for member in hint]
        return (hint(value) if value in allowed else None), f"one of {', '.join(map(str, allowed))}"
    if hint is bool:
        return (value if isinstance(value, bool) else None), "true or false"
    if hint is str:
        pattern = meta.get("pattern")
        ok = isinstance(value, str) and (bool(pattern.match(value)) if pattern else bool(value))
        return (value if ok else None), meta.get("expected") or "a non-empty string"
    choices = meta.get("choices")
    if choices:
        ok = isinstance(value, int) and not isinstance(value, bool) and value in choices
        return (value if ok else None), f"one of {', '.join(map(str, choices))}"
    low, high = meta.get("low"), meta.get("high")
    number_types = (int,) if hint is int else (int, float)
    kind = "an integer" if hint is int else "a number"
    ok = isinstance(value, number_types) and not isinstance(value, bool) and low <= value <= high
    return (hint(value) if ok else None), f"{kind} from {low:g} to {high:g}"


def _parse_sizes(item: Any, meta: Mapping[str, Any], value: Any, path: str, problems: list[str]) -> tuple:
    """A non-empty list whose items each obey the field's bounds."""
    if not isinstance(value, list) or not value:
        why = f"; {meta['required']}" if meta.get("required") else ""
        problems.append(f"{path}: {value!r} is not allowed; expected a non-empty list{why}")
        return ()
    parsed = []
    for index, element in enumerate(value):
        result, expected = _coerce(item, meta, element)
        if result is None:
            problems.append(f"{path}[{index}]: {element!r} is not allowed; expected {expected}")
        parsed.append(result)
    return tuple(parsed)


def _parse_tags(value: Any, path: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        problems.append(f"{path}: {value!r} is not allowed; expected an object of tag names to string values")
        return {}
    for key, tag_value in value.items():
        if not TAG_KEY.match(str(key)):
            problems.append(f"{path}.{key}: tag name is not allowed; expected 1-128 characters, not starting 'aws:'")
        if not isinstance(tag_value, str) or not TAG_VALUE.match(tag_value):
            problems.append(f"{path}.{key}: {tag_value!r} is not allowed; expected a string of up to 256 characters")
    return {str(k): str(v) for k, v in value.items()}


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
