"""Every rule catches at least one deliberately bad stack: the reference program (tests/reference.py: every
component, under prod's profile) with one resource broken or removed, or a small program of raw resources built
with tests.helpers.run. All run with prod's configuration (every rule mandatory), so each case also proves the
violation would block a deployment; the reference program itself passes every rule (tests/policy/
test_policy_stacks.py), so each violation is the case's own."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.output import Unknown

from components.function import Function, FunctionArgs
from components.profile import HistoryLevel
from policy.evaluate import evaluate, load_config
from policy.rules import ALL_POLICIES
from policy.rules.workflows import HISTORY_LEVELS
from synth.program import Synthesis
from tests.helpers import DISPOSABLE, run, tiny_code
from tests.policy.fixtures import REMOVE, changed, find, name_of, violations, without
from tests.reference import reference_program


def prod() -> Synthesis:
    """The reference program as stack prod: every component under prod's profile."""
    return reference_program("prod")


def edited(name: str, key: str, edit: Callable[[object], object]) -> Synthesis:
    """prod with `edit` applied to one input of one resource (JSON text is decoded and re-encoded around it)."""
    value = find(prod(), name).inputs[key]
    if isinstance(value, str):
        return changed(prod(), name, **{key: json.dumps(edit(json.loads(value)))})
    return changed(prod(), name, **{key: edit(json.loads(json.dumps(value)))})


def statements(replace: Callable[[list], list]) -> Callable[[object], object]:
    def edit(document: object) -> object:
        document["Statement"] = replace(document["Statement"])  # type: ignore[index]
        return document

    return edit


def container(**settings: object) -> Callable[[object], object]:
    def edit(containers: object) -> object:
        containers[0].update(settings)  # type: ignore[index]
        return containers

    return edit


def dropped_keys(*keys: str) -> Callable[[object], object]:
    def edit(containers: object) -> object:
        for key in keys:
            containers[0].pop(key)  # type: ignore[index]
        return containers

    return edit


ANYONE_READS = {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}


def bare_bucket() -> Synthesis:
    return run(lambda: aws.s3.Bucket("bare", bucket="bare-bucket-123456789012"))


def admin_role() -> Synthesis:
    def build() -> None:
        role = aws.iam.Role("admin", assume_role_policy=json.dumps(_trust("lambda.amazonaws.com")))
        aws.iam.RolePolicyAttachment(
            "admin-s3", role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonS3FullAccess"
        )

    return run(build)


def _trust(service: str) -> dict:
    pinned = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", "Condition": pinned}
    return {"Version": "2012-10-17", "Statement": [statement]}


def unscoped_permission() -> Synthesis:
    return run(
        lambda: aws.lambda_.Permission(
            "anyone-on-events",
            function="some-function",
            action="lambda:InvokeFunction",
            principal="events.amazonaws.com",
        )
    )


def function_invoked_by_s3(tmp_path: Path) -> Synthesis:
    def build() -> None:
        function = Function(
            "thumbs", FunctionArgs(profile=DISPOSABLE.args, code=tiny_code(tmp_path), handler="app.main.handler")
        )
        aws.lambda_.Permission(
            "from-bucket",
            function=function.name,
            action="lambda:InvokeFunction",
            principal="s3.amazonaws.com",
            source_arn="arn:aws:s3:::some-bucket",
            source_account="123456789012",
        )

    return run(build)


def raw_function(tmp_path: Path) -> Synthesis:
    handler = tmp_path / "index.py"
    handler.write_text("def handler(event, context):\n    return event\n")

    def build() -> None:
        role = aws.iam.Role("raw", assume_role_policy=json.dumps(_trust("lambda.amazonaws.com")))
        aws.lambda_.Function(
            "raw",
            name="raw-function",
            runtime="python3.13",
            handler="index.handler",
            role=role.arn,
            code=pulumi.FileArchive(str(tmp_path)),
            memory_size=256,
            timeout=10,
            tracing_config={"mode": "Active"},
        )

    return run(build)


def ssh_from_anywhere() -> Synthesis:
    return run(
        lambda: aws.ec2.SecurityGroup(
            "ssh",
            vpc_id="vpc-123",
            description="bad",
            ingress=[{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}],
        )
    )


def nat_gateway() -> Synthesis:
    return run(lambda: aws.ec2.NatGateway("nat", subnet_id="subnet-123", allocation_id="eipalloc-123"))


def without_alarms_on(name: str) -> Synthesis:
    """prod without the alarms that depend on resource `name` (their dimensions are its outputs)."""
    urn = find(prod(), name).urn
    alarms = [r.name for r in prod().of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if urn in r.dependencies]
    return without(prod(), *alarms)


def logging_at(level: str) -> Synthesis:
    """prod with the intake workflow's execution history logged at `level`, to its own log group as before."""
    return edited("intake-state-machine", "loggingConfiguration", lambda config: {**config, "level": level})


def unknown_flag() -> Synthesis:
    return changed(prod(), "inbox-public-access-block", blockPublicAcls=Unknown())


@dataclass(frozen=True)
class Case:
    rule: str
    what: str
    build: Callable[..., Synthesis]
    at: str | None = None
    """The resource the violation must name (None: any)."""
    needs_tmp_path: bool = False


CASES = [
    Case("s3-public-access-block", "ignorePublicAcls off",
         lambda: changed(prod(), "inbox-public-access-block", ignorePublicAcls=False), "inbox-public-access-block"),
    Case("s3-bucket-owner-enforced", "ObjectWriter ownership",
         lambda: changed(prod(), "inbox-ownership", rule={"objectOwnership": "ObjectWriter"}), "inbox-ownership"),
    Case("s3-tls-only-policy", "policy without the SecureTransport deny",
         lambda: edited("inbox-policy", "policy", statements(lambda s: s[1:])), "inbox-policy"),
    Case("s3-default-encryption", "no encryption rule",
         lambda: changed(prod(), "inbox-encryption", rules=[]), "inbox-encryption"),
    Case("s3-abort-incomplete-uploads", "lifecycle without the abort rule",
         lambda: edited("inbox-lifecycle", "rules", lambda rules: rules[1:]), "inbox-lifecycle"),
    Case("s3-every-bucket-guarded", "a raw aws.s3.Bucket", bare_bucket, "bare"),
    Case("s3-every-bucket-guarded", "bucket whose public access block is gone",
         lambda: without(prod(), "outbox-public-access-block"), "outbox-bucket"),
    Case("s3-versioning", "versioning removed", lambda: without(prod(), "inbox-versioning"), "inbox-bucket"),
    Case("s3-access-logging", "access logging removed",
         lambda: without(prod(), "outbox-access-logging"), "outbox-bucket"),
    Case("s3-cmk-encryption", "SSE-S3 on a data bucket",
         lambda: changed(prod(), "inbox-encryption",
                         rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]), "inbox-bucket"),
    Case("s3-eventbridge-notifications", "rule on a bucket that sends no events",
         lambda: without(prod(), "inbox-notification"), "inbox-bucket"),
    Case("iam-no-wildcard-actions", "s3:* in a grant",
         lambda: edited("convert-write-outbox-converted", "policy",
                        statements(lambda s: [{**s[0], "Action": "s3:*"}, *s[1:]])), "convert-write-outbox-converted"),
    Case("iam-no-star-resources", "s3:GetObject on *",
         lambda: edited("convert-read-inbox-incoming", "policy",
                        statements(lambda s: [{**s[0], "Resource": "*"}, *s[1:]])), "convert-read-inbox-incoming"),
    Case("iam-no-broad-managed-policies", "AmazonS3FullAccess attached", admin_role, "admin-s3"),
    Case("iam-trust-pinned", "trust without a source condition",
         lambda: edited("check-role", "assumeRolePolicy",
                        statements(lambda s: [{k: v for k, v in s[0].items() if k != "Condition"}])), "check-role"),
    Case("iam-well-formed-documents", "an old policy Version",
         lambda: edited("convert-logs-and-traces", "policy", lambda d: {**d, "Version": "2008-10-17"}),
         "convert-logs-and-traces"),
    Case("resource-policy-no-public-allow", "bucket policy lets anyone read",
         lambda: edited("inbox-policy", "policy", statements(lambda s: [*s, ANYONE_READS])), "inbox-policy"),
    Case("lambda-supported-runtime", "python3.8",
         lambda: changed(prod(), "check-function", runtime="python3.8"), "check-function"),
    Case("lambda-active-tracing", "PassThrough tracing",
         lambda: changed(prod(), "check-function", tracingConfig={"mode": "PassThrough"}), "check-function"),
    Case("lambda-explicit-limits", "memory left to the default",
         lambda: changed(prod(), "convert-function", memorySize=REMOVE), "convert-function"),
    Case("no-secrets-in-environment", "DB_PASSWORD in a function",
         lambda: changed(prod(), "convert-function", environment={"variables": {"DB_PASSWORD": "hunter2"}}),
         "convert-function"),
    Case("no-secrets-in-environment", "API_TOKEN in a container",
         lambda: edited("batch-task-definition", "containerDefinitions",
                        container(environment=[{"name": "API_TOKEN", "value": "x"}])), "batch-task-definition"),
    Case("lambda-scoped-permissions", "events may invoke for any rule", unscoped_permission, "anyone-on-events"),
    Case("lambda-async-failure-destination", "S3 invokes a function without a destination",
         function_invoked_by_s3, "thumbs-function", needs_tmp_path=True),
    Case("log-group-retention", "log group kept forever",
         lambda: changed(prod(), "check-logs", retentionInDays=REMOVE), "check-logs"),
    Case("dynamodb-on-demand", "provisioned capacity",
         lambda: changed(prod(), "jobs-table", billingMode="PROVISIONED"), "jobs-table"),
    Case("dynamodb-point-in-time-recovery", "PITR off",
         lambda: changed(prod(), "jobs-table", pointInTimeRecovery={"enabled": False}), "jobs-table"),
    Case("dynamodb-deletion-protection", "deletion protection off",
         lambda: changed(prod(), "jobs-table", deletionProtectionEnabled=False), "jobs-table"),
    Case("rds-storage-encrypted", "unencrypted storage",
         lambda: changed(prod(), "ledger-cluster", storageEncrypted=False), "ledger-cluster"),
    Case("rds-not-public", "public writer",
         lambda: changed(prod(), "ledger-writer", publiclyAccessible=True), "ledger-writer"),
    Case("rds-iam-authentication", "IAM auth off",
         lambda: changed(prod(), "ledger-cluster", iamDatabaseAuthenticationEnabled=False), "ledger-cluster"),
    Case("rds-managed-master-password", "password in the program",
         lambda: changed(prod(), "ledger-cluster", manageMasterUserPassword=REMOVE, masterPassword="hunter2hunter2"),
         "ledger-cluster"),
    Case("rds-log-exports", "no log export",
         lambda: changed(prod(), "ledger-cluster", enabledCloudwatchLogsExports=[]), "ledger-cluster"),
    Case("rds-non-default-master-user", "postgres as master user",
         lambda: changed(prod(), "ledger-cluster", masterUsername="postgres"), "ledger-cluster"),
    Case("rds-copy-tags-to-snapshots", "tags not copied",
         lambda: changed(prod(), "ledger-cluster", copyTagsToSnapshot=False), "ledger-cluster"),
    Case("rds-deletion-protection", "deletion protection off",
         lambda: changed(prod(), "ledger-cluster", deletionProtection=False), "ledger-cluster"),
    Case("rds-backup-retention", "one day of backups",
         lambda: changed(prod(), "ledger-cluster", backupRetentionPeriod=1), "ledger-cluster"),
    Case("rds-multi-az", "no instance at all", lambda: without(prod(), "ledger-writer"), "ledger-cluster"),
    Case("sfn-logging", "ERROR-level logging, where prod's config allows only ALL",
         lambda: logging_at("ERROR"), "intake-state-machine"),
    Case("sfn-logging", "FATAL-level logging", lambda: logging_at("FATAL"), "intake-state-machine"),
    Case("sfn-logging", "logging OFF", lambda: logging_at("OFF"), "intake-state-machine"),
    Case("sfn-logging", "no log destination",
         lambda: edited("intake-state-machine", "loggingConfiguration", lambda c: {"level": c["level"]}),
         "intake-state-machine"),
    Case("sfn-xray-tracing", "tracing off",
         lambda: changed(prod(), "long-run-state-machine", tracingConfiguration={"enabled": False}),
         "long-run-state-machine"),
    Case("no-public-ip-for-workloads", "worker run with a public IP",
         lambda: changed(prod(), "long-run-state-machine", definition=find(prod(), "long-run-state-machine")
                         .inputs["definition"].replace('"DISABLED"', '"ENABLED"')), "long-run-state-machine"),
    Case("ecs-not-privileged", "privileged container",
         lambda: edited("batch-task-definition", "containerDefinitions", container(privileged=True)),
         "batch-task-definition"),
    Case("ecs-read-only-root-filesystem", "writable root filesystem",
         lambda: edited("batch-task-definition", "containerDefinitions", container(readonlyRootFilesystem=False)),
         "batch-task-definition"),
    Case("ecs-non-root-user", "no user: the image's root",
         lambda: edited("batch-task-definition", "containerDefinitions", dropped_keys("user")),
         "batch-task-definition"),
    Case("ecs-awslogs", "no log configuration",
         lambda: edited("batch-task-definition", "containerDefinitions", dropped_keys("logConfiguration")),
         "batch-task-definition"),
    Case("ecs-separate-roles", "one role for both",
         lambda: changed(prod(), "batch-task-definition",
                         taskRoleArn=find(prod(), "batch-task-definition").inputs["executionRoleArn"]),
         "batch-task-definition"),
    Case("ecs-container-insights", "Container Insights off",
         lambda: changed(prod(), "batch-cluster", settings=[{"name": "containerInsights", "value": "disabled"}]),
         "batch-cluster"),
    Case("ecr-scan-on-push", "no scan",
         lambda: changed(prod(), "batch-repository", imageScanningConfiguration={"scanOnPush": False}),
         "batch-repository"),
    Case("ecr-immutable-tags", "mutable tags",
         lambda: changed(prod(), "batch-repository", imageTagMutability="MUTABLE"), "batch-repository"),
    Case("ecr-lifecycle-policy", "lifecycle policy removed",
         lambda: without(prod(), "batch-repository-lifecycle"), "batch-repository"),
    Case("kms-rotation", "rotation off", lambda: changed(prod(), "data-key", enableKeyRotation=False), "data-key"),
    Case("kms-explicit-key-policy", "default key policy",
         lambda: changed(prod(), "data-key", policy=REMOVE), "data-key"),
    Case("kms-explicit-key-policy", "a bare * principal",
         lambda: edited("data-key", "policy", statements(lambda s: [*s, {**ANYONE_READS, "Action": "kms:Decrypt"}])),
         "data-key"),
    Case("kms-deletion-window", "window not chosen",
         lambda: changed(prod(), "data-key", deletionWindowInDays=REMOVE), "data-key"),
    Case("cmk-encryption", "table on the AWS-owned key",
         lambda: changed(prod(), "jobs-table", serverSideEncryption=REMOVE), "jobs-table"),
    Case("subnet-no-auto-public-ip", "public IPs by default",
         lambda: changed(prod(), "network-private-1", mapPublicIpOnLaunch=True), "network-private-1"),
    Case("no-ingress-from-anywhere", "endpoint HTTPS from anywhere",
         lambda: changed(prod(), "network-endpoints-https-in", cidrIpv4="0.0.0.0/0"), "network-endpoints-https-in"),
    Case("no-ingress-from-anywhere", "a raw group open to SSH", ssh_from_anywhere, "ssh"),
    Case("vpc-flow-logs", "flow log removed", lambda: without(prod(), "network-flow-log"), "network-vpc"),
    Case("vpc-default-security-group-closed", "default group not adopted",
         lambda: without(prod(), "network-default-sg"), "network-vpc"),
    Case("vpc-default-security-group-closed", "default group keeps a rule",
         lambda: changed(prod(), "network-default-sg", ingress=[{"protocol": "-1", "self": True}]), "network-vpc"),
    Case("vpc-gateway-endpoints", "no DynamoDB gateway endpoint",
         lambda: without(prod(), "network-dynamodb-endpoint"), "network-vpc"),
    Case("sqs-encrypted", "unencrypted queue",
         lambda: changed(prod(), "on-arrival-dlq", kmsMasterKeyId=REMOVE), "on-arrival-dlq"),
    Case("sqs-tls-only", "queue policy without the TLS deny",
         lambda: edited("on-arrival-dlq-policy", "policy", statements(lambda s: s[:1])), "on-arrival-dlq"),
    Case("eventbridge-target-retry-and-dlq", "no dead-letter queue",
         lambda: changed(prod(), "on-arrival-target", deadLetterConfig=REMOVE), "on-arrival-target"),
    Case("aws-resources-tagged", "provider without ManagedBy",
         lambda: changed(prod(), "aws", defaultTags=json.dumps({"tags": {"Project": "p", "Environment": "prod"}})),
         "inbox-bucket"),
    Case("aws-resources-tagged", "a resource on the default provider", bare_bucket, "bare"),
    Case("explicit-log-groups", "a function's log group removed",
         lambda: without(prod(), "check-logs"), "check-function"),
    Case("explicit-log-groups", "a raw function with no log group", raw_function, "raw", needs_tmp_path=True),
    Case("explicit-log-groups", "state machine logs to an undeclared group",
         lambda: without(prod(), "long-run-logs"), "long-run-state-machine"),
    Case("no-unplanned-idle-cost", "a NAT gateway, not among prod's allowances", nat_gateway, "nat"),
    Case("cloudwatch-alarms-notify", "a function's alarms removed", lambda: without_alarms_on("check-function"),
         "check-function"),
    Case("cloudwatch-alarms-notify", "an alarm that notifies nobody",
         lambda: changed(prod(), "operations-convert-errors", alarmActions=[]), "operations-convert-errors"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}: {c.what}" for c in CASES])
def test_rule_catches_its_bad_fixture(case, tmp_path):
    program = case.build(tmp_path) if case.needs_tmp_path else case.build()
    caught = violations(evaluate(program, "prod"), case.rule)
    assert caught, f"{case.rule} did not catch: {case.what}"
    assert {r.enforcement for r in caught} == {"mandatory"}
    if case.at:
        assert case.at in {name_of(r.urn) for r in caught}, [r.message for r in caught]


def test_every_rule_has_a_bad_fixture():
    covered = {case.rule for case in CASES}
    assert covered == {policy.name for policy in ALL_POLICIES}, {p.name for p in ALL_POLICIES} - covered


def test_dev_config_lets_no_idle_cost_through_that_prod_accepts():
    """The program under prod's profile judged with dev's configuration: its endpoints, key and warm writer all
    fail."""
    caught = violations(evaluate(prod(), "dev"), "no-unplanned-idle-cost")
    assert {name_of(r.urn) for r in caught} >= {"data-key", "ledger-writer", "network-ecr-api-endpoint"}
    assert {r.enforcement for r in caught} == {"mandatory"}


def test_execution_history_at_level_error_passes_unless_the_stack_requires_all():
    """ERROR (failed executions only) is the rule's own shape: allowed by the pack's defaults and by dev's config;
    prod's config narrows it to ALL and says why in the violation."""
    errors_only = logging_at("ERROR")
    assert violations(evaluate(errors_only, "prod", config={}), "sfn-logging") == []
    assert violations(evaluate(errors_only, "dev"), "sfn-logging") == []
    (caught,) = violations(evaluate(errors_only, "prod"), "sfn-logging")
    assert "this stack's config allows only ALL" in caught.message
    assert load_config("prod")["sfn-logging"].reason in caught.message


def test_the_packs_logging_levels_are_the_profiles():
    assert tuple(level.value for level in HistoryLevel) == HISTORY_LEVELS, "the pack cannot import the profile"


def test_a_value_unknown_in_preview_makes_the_rule_advisory_not_silent():
    results = violations(evaluate(unknown_flag(), "prod"), "s3-public-access-block")
    assert [(r.enforcement, "during preview" in r.message) for r in results] == [("advisory", True)]


def test_access_log_buckets_may_use_sse_s3():
    prod_results = violations(evaluate(prod(), "prod"), "s3-cmk-encryption")
    assert find(prod(), "access-logs-encryption").inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "AES256"
    }
    assert prod_results == []
