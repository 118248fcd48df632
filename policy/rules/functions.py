"""Lambda (baseline §3): a current runtime, active tracing, explicit memory and timeout, log groups with retention,
no secrets in environment variables (ECS containers too, ECS.8), invoke permissions scoped to their source, and a
failure destination for anything invoked asynchronously."""

from collections.abc import Iterable

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity, StackValidationArgs

from .base import Finding, as_list, known, of_type, refers_to, resource_rule, stack_rule
from .containers import TASK_DEFINITION, container_definitions
from .environment import secret_looking

FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SUPPORTED_RUNTIMES = frozenset(
    {
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.14",
        "nodejs20.x",
        "nodejs22.x",
        "nodejs24.x",
        "java11",
        "java17",
        "java21",
        "java25",
        "java8.al2",
        "dotnet8",
        "dotnet10",
        "ruby3.3",
        "ruby3.4",
        "provided.al2",
        "provided.al2023",
    }
)
"""AWS Lambda's "Supported runtimes" table (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html): a runtime
past its deprecation date gets no security patches (Lambda.2). Update this set when AWS deprecates one."""
ASYNC_INVOKERS = ("s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com",
                  "ses.amazonaws.com", "iot.amazonaws.com", "logs.amazonaws.com", "config.amazonaws.com",
                  "codecommit.amazonaws.com")  # fmt: skip
"""Services that invoke Lambda asynchronously: a failed event is retried twice and then dropped, unless the function
has a failure destination or dead-letter queue."""


def _check_runtime(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("packageType") == "Image":
        return
    runtime = args.props.get("runtime")
    if runtime not in SUPPORTED_RUNTIMES:
        yield f"runtime {runtime!r} is not a supported Lambda runtime"


def _check_tracing(args: ResourceValidationArgs) -> Iterable[str]:
    if (args.props.get("tracingConfig") or {}).get("mode") != "Active":
        yield "X-Ray tracing is not Active"


def _check_limits(args: ResourceValidationArgs) -> Iterable[str]:
    missing = [key for key in ("memorySize", "timeout") if args.props.get(key) is None]
    if missing:
        yield f"{missing} left to Lambda's defaults (128 MB, 3 s); set them for the work the function does"


def _environment_names(args: ResourceValidationArgs) -> list[tuple[str, list[str]]]:
    if args.resource_type == FUNCTION:
        variables = (args.props.get("environment") or {}).get("variables") or {}
        return [("function", list(variables))]
    return [
        (f"container {c.get('name', '?')!r}", [str(e.get("name")) for e in as_list(c.get("environment"))])
        for c in container_definitions(args.props)
    ]


def _check_secrets(args: ResourceValidationArgs) -> Iterable[str]:
    for owner, names in _environment_names(args):
        leaked = secret_looking(names)
        if leaked:
            yield f"{owner} environment variables {leaked} look like secrets"


def _check_permission(args: ResourceValidationArgs) -> Iterable[str]:
    principal = str(args.props.get("principal") or "")
    if principal == "*":
        yield "anyone may invoke the function (principal '*')"
    elif principal.endswith(".amazonaws.com") and not args.props.get("sourceArn"):
        yield f"{principal} may invoke the function for any resource of any account: set source_arn"
    elif principal == "s3.amazonaws.com" and not args.props.get("sourceAccount"):
        yield "s3.amazonaws.com permission without source_account: bucket ARNs do not name their account"


def _check_retention(args: ResourceValidationArgs) -> Iterable[str]:
    if not args.props.get("retentionInDays"):
        yield "log group keeps its events forever; set retention_in_days from the profile"


def _has_failure_destination(args: StackValidationArgs, function: PolicyResource) -> bool:
    if known(function.props, "deadLetterConfig", "targetArn"):
        return True
    configs = [c for c in of_type(args, INVOKE_CONFIG) if refers_to(c, "functionName", function, "name")]
    return any(known(c.props, "destinationConfig", "onFailure", "destination") for c in configs)


def _check_async_failures(args: StackValidationArgs) -> Iterable[Finding]:
    permissions = of_type(args, PERMISSION)
    for function in of_type(args, FUNCTION):
        invokers = sorted(
            str(known(p.props, "principal"))
            for p in permissions
            if refers_to(p, "function", function, "name") and known(p.props, "principal") in ASYNC_INVOKERS
        )
        if invokers and not _has_failure_destination(args, function):
            yield (
                f"function {function.name!r} is invoked asynchronously by {invokers} but has no failure destination",
                function.urn,
            )


POLICIES = [
    resource_rule(
        name="lambda-supported-runtime",
        description="Lambda functions use a runtime AWS still supports",
        severity=Severity.HIGH,
        remediation="Move to a current runtime (components.function uses python3.13).",
        types=[FUNCTION],
        check=_check_runtime,
        controls=["Lambda.2"],
    ),
    resource_rule(
        name="lambda-active-tracing",
        description="Lambda functions trace with X-Ray in Active mode",
        severity=Severity.LOW,
        remediation="Set tracing_config={'mode': 'Active'} and allow xray:PutTraceSegments/PutTelemetryRecords.",
        types=[FUNCTION],
        check=_check_tracing,
        controls=["Lambda.7"],
    ),
    resource_rule(
        name="lambda-explicit-limits",
        description="Lambda functions set their memory and timeout explicitly",
        severity=Severity.LOW,
        remediation="Set memory_size and timeout (the profile's `lambda` section, or FunctionArgs overrides).",
        types=[FUNCTION],
        check=_check_limits,
        controls=["Lambda sizing"],
    ),
    resource_rule(
        name="no-secrets-in-environment",
        description="No Lambda or ECS container environment variable looks like a secret",
        severity=Severity.HIGH,
        remediation="Keep the secret in Secrets Manager and pass its ARN (`*_ARN`), or use ECS `secrets` (valueFrom).",
        types=[FUNCTION, TASK_DEFINITION],
        check=_check_secrets,
        controls=["ECS.8", "secrets by reference"],
    ),
    resource_rule(
        name="lambda-scoped-permissions",
        description="Lambda invoke permissions name no `*` principal and pin service principals to a source ARN",
        severity=Severity.HIGH,
        remediation="Set source_arn (and source_account for S3) on aws.lambda_.Permission.",
        types=[PERMISSION],
        check=_check_permission,
        controls=["Lambda.1"],
    ),
    resource_rule(
        name="log-group-retention",
        description="Every log group has a retention period",
        severity=Severity.MEDIUM,
        remediation="Create log groups with components.logs.log_group, which takes the profile's logRetentionDays.",
        types=[LOG_GROUP],
        check=_check_retention,
        controls=["CloudWatch.16"],
    ),
    stack_rule(
        name="lambda-async-failure-destination",
        description="A function that a service invokes asynchronously has a failure destination or dead-letter queue",
        severity=Severity.MEDIUM,
        remediation="Declare an aws.lambda_.FunctionEventInvokeConfig with destination_config.on_failure (an "
        "encrypted SQS queue), or a dead_letter_config on the function.",
        check=_check_async_failures,
        controls=["Lambda async"],
    ),
]
