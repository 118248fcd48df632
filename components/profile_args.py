"""The environment profile as plain data, for the components' args: generated from components/profile.py
(which documents and validates every field) by `python -m components.package`; do not edit by hand."""

from typing import NotRequired, TypedDict

from components.profile import Architecture, EgressMode, Encryption, FlowLogTraffic, HistoryLevel, WorkflowType


class ProfileLambda(TypedDict):
    """LambdaSettings of components/profile.py, as plain data."""

    memory_mb: NotRequired[int]
    """Memory (and so CPU) of each function. Default: 1024."""

    timeout_seconds: NotRequired[int]
    """Timeout of each function; a workflow task invoking it waits 11 s more, for a cold start's INIT (Express: 300 s
    in all). Default: 30."""

    reserved_concurrency: NotRequired[int]
    """Concurrency reserved for each function; null leaves it unreserved (new accounts have only 10). Default: null."""

    architecture: NotRequired[Architecture]
    """Instruction set; arm64 costs 20% less per GB-second. Default: "arm64"."""


class ProfileRetry(TypedDict):
    """RetrySettings of components/profile.py, as plain data."""

    max_attempts: NotRequired[int]
    """Retries after the first attempt. Default: 3."""

    interval_seconds: NotRequired[int]
    """Wait before the first retry. Default: 2."""

    backoff_rate: NotRequired[float]
    """Multiplier for each following wait. Default: 2.0."""

    max_delay_seconds: NotRequired[int]
    """Cap on any single wait. Default: 30."""

    jitter: NotRequired[bool]
    """Randomise waits (FULL jitter) so that retries of a burst do not stay in step. Default: true."""


class ProfileHistory(TypedDict):
    """HistorySettings of components/profile.py, as plain data."""

    level: NotRequired[HistoryLevel]
    """Which events are logged: ALL (every execution's every state) or ERROR (failed tasks and executions only).
    Default: "ALL"."""

    include_execution_data: NotRequired[bool]
    """Log each event's input and output (the state's JSON): what a failed execution is debugged from, and most of
    each event's bytes. Default: true."""


class ProfileTracing(TypedDict):
    """TracingSettings of components/profile.py, as plain data."""

    reservoir: NotRequired[int]
    """Executions traced each second before sampleRate applies, shared by every caller of the rule; 1 (X-Ray's
    default) traces nearly every execution of a quiet workflow, 0 traces exactly sampleRate of them. Default: 1."""

    sample_rate: NotRequired[float]
    """Share of the executions beyond the reservoir that are traced (0.05: one in twenty, X-Ray's default). Default:
    0.05."""


class ProfileWorkflow(TypedDict):
    """WorkflowSettings of components/profile.py, as plain data."""

    type: NotRequired[WorkflowType]
    """Step Functions type of a workflow that names none (`.sync` tasks need STANDARD). Default: "EXPRESS"."""

    retry: NotRequired[ProfileRetry]
    """Retries on service exceptions."""

    history: NotRequired[ProfileHistory]
    """The execution history each workflow logs to its own log group (for Express, the only one)."""

    tracing: NotRequired[ProfileTracing]
    """Which executions X-Ray traces: each workflow's own sampling rule."""


class ProfileNetwork(TypedDict):
    """NetworkSettings of components/profile.py, as plain data."""

    cidr_block: NotRequired[str]
    """The VPC's address range (a /16 to /24 private range). Default: "10.20.0.0/16"."""

    egress: NotRequired[EgressMode]
    """How the Fargate task reaches AWS APIs. Default: "endpoints"."""

    flow_log_traffic: NotRequired[FlowLogTraffic]
    """Which traffic VPC flow logs record. Default: "ALL"."""


class ProfileFargate(TypedDict):
    """FargateSettings of components/profile.py, as plain data."""

    cpu: NotRequired[int]
    """CPU units of each Fargate task (1024 = 1 vCPU). Default: 2048."""

    memory_mb: NotRequired[int]
    """Memory of each Fargate task; must suit the CPU size. Default: 8192."""

    ephemeral_storage_gib: NotRequired[int]
    """Scratch space for downloads (Fargate's minimum is 21). Default: 21."""

    timeout_seconds: NotRequired[int]
    """How long a task run by a workflow may take, image pull and start included; then it is stopped. Default: 900."""

    container_insights: NotRequired[bool]
    """ECS Container Insights metrics (billed per metric). Default: true."""


class ProfileDatabase(TypedDict):
    """DatabaseSettings of components/profile.py, as plain data."""

    min_capacity: NotRequired[float]
    """Minimum ACUs; 0 lets the cluster pause when idle. Default: 0.5."""

    max_capacity: NotRequired[float]
    """Maximum ACUs. Default: 4.0."""

    auto_pause_seconds: NotRequired[int]
    """Idle seconds before a 0-ACU cluster pauses. Default: 300."""

    backup_retention_days: NotRequired[int]
    """Days of automated backups. Default: 7."""

    readers: NotRequired[int]
    """Reader instances to fail over to (in another zone); each bills its minimum ACUs. Default: 1."""


class ProfileMonitoring(TypedDict):
    """MonitoringSettings of components/profile.py, as plain data."""

    alarms: NotRequired[bool]
    """CloudWatch alarms on every component that can fail, thresholds derived from each one's settings, each sending
    ALARM and OK to the stack's topic (billed per alarm metric a month: `make review` prices them). Default: true."""

    emails: NotRequired[list[str]]
    """Addresses subscribed to the stack's alarm topic (each confirms by email before it receives anything). Default:
    []."""

    webhooks: NotRequired[list[str]]
    """HTTPS endpoints subscribed to the stack's alarm topic (a chat or paging webhook that confirms SNS's
    subscription). Default: []."""

    dashboard: NotRequired[bool]
    """A CloudWatch dashboard of the stack, one row per component (billed by the month beyond the account's three
    free ones: `make review` prices it). Default: true."""

    performance_insights: NotRequired[bool]
    """Performance Insights on every Aurora instance at its free retention (7 days), where the minimum capacity is at
    least 2 ACUs: below that it would hold each instance at 2 ACUs (components/database.py). Default: true."""


class ProfileBackup(TypedDict):
    """BackupSettings of components/profile.py, as plain data."""

    enabled: NotRequired[bool]
    """An AWS Backup plan for every table and database, into a vault encrypted with the stack's key (billed per GB
    stored: nothing while empty). Default: true."""

    retention_days: NotRequired[int]
    """Days each recovery point is kept. Default: 35."""

    schedule: NotRequired[str]
    """When the daily backup starts (UTC), as an AWS cron expression. Default: "cron(0 3 * * ? *)"."""


class ProfileArgs(TypedDict):
    """EnvironmentProfile of components/profile.py, as plain data."""

    log_retention_days: NotRequired[int]
    """Retention of every log group. Default: 365."""

    protect: NotRequired[bool]
    """Pulumi `protect` on stateful resources: deleting them needs an explicit unprotect. Default: true."""

    retain_on_delete: NotRequired[bool]
    """Keep stateful resources in AWS when they leave the program or stack. Default: true."""

    force_destroy: NotRequired[bool]
    """Let `pulumi destroy` empty buckets that still hold objects. Default: false."""

    point_in_time_recovery: NotRequired[bool]
    """DynamoDB point-in-time recovery (35 days of restores). Default: true."""

    deletion_protection: NotRequired[bool]
    """Deletion protection of the DynamoDB tables and the Aurora cluster. Default: true."""

    encryption: NotRequired[Encryption]
    """Which KMS keys encrypt data at rest. Default: "customer-managed"."""

    kms_deletion_window_days: NotRequired[int]
    """Waiting period before a deleted KMS key is gone. Default: 30."""

    versioning: NotRequired[bool]
    """S3 object versioning. Default: true."""

    access_logging: NotRequired[bool]
    """S3 server access logs for every bucket, kept in a log bucket of the stack. Default: true."""

    access_log_retention_days: NotRequired[int]
    """Days access logs are kept. Default: 365."""

    lambda_: NotRequired[ProfileLambda]
    """Lambda function settings."""

    workflow: NotRequired[ProfileWorkflow]
    """Step Functions settings."""

    network: NotRequired[ProfileNetwork]
    """The VPC that Fargate tasks and databases live in."""

    fargate: NotRequired[ProfileFargate]
    """Every Fargate task: size, scratch space, time limit, metrics."""

    database: NotRequired[ProfileDatabase]
    """Every Aurora Serverless v2 cluster: capacity, pausing, backups."""

    monitoring: NotRequired[ProfileMonitoring]
    """Alarms, notifications, the dashboard and Performance Insights."""

    backup: NotRequired[ProfileBackup]
    """AWS Backup of the tables and databases."""

    tags: NotRequired[dict[str, str]]
    """Tags added to every taggable resource, beside Project/Environment/ManagedBy. Default: {}."""
