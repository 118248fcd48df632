"""The environment profile: safe defaults, every class of bad value named by key, value and what is allowed."""

import pytest

from components.config import yaml_key
from components.profile import (
    LOG_RETENTION_DAYS,
    Architecture,
    Encryption,
    EnvironmentProfile,
    HistoryLevel,
    HistorySettings,
    ProfileError,
    TracingSettings,
    WorkflowType,
    load_profile,
)

REGION = {"aws:region": "eu-west-1"}
ACCOUNT = "111122223333"
ACCOUNTS = {"allowedAccountIds": [ACCOUNT]}
"""The one key without a default: every profile below names its account."""
MINIMAL = {**REGION, "platform:profile": ACCOUNTS}


def profile_config(**profile: object) -> dict[str, object]:
    return {**REGION, "platform:profile": {**ACCOUNTS, **profile}}


def problems(config: dict[str, object]) -> list[str]:
    with pytest.raises(ProfileError) as raised:
        load_profile(config)
    return raised.value.problems


def test_defaults_are_the_safe_ones():
    profile = load_profile(MINIMAL)
    assert profile.protect
    assert profile.retain_on_delete
    assert not profile.force_destroy
    assert profile.point_in_time_recovery
    assert profile.deletion_protection
    assert profile.versioning
    assert profile.encryption is Encryption.CUSTOMER_MANAGED
    assert profile.lambda_.architecture is Architecture.ARM64
    assert profile.workflow.type is WorkflowType.EXPRESS
    assert profile.workflow.history == HistorySettings(level=HistoryLevel.ALL, include_execution_data=True)
    assert profile.workflow.tracing == TracingSettings(reservoir=1, sample_rate=0.05), "X-Ray's default rule"
    assert profile.log_retention_days == 365


def test_values_are_read_from_camel_case_keys():
    profile = load_profile(
        profile_config(logRetentionDays=14, **{"lambda": {"memoryMb": 512, "reservedConcurrency": 5}})
    )
    assert profile.log_retention_days == 14
    assert profile.lambda_.memory_mb == 512
    assert profile.lambda_.reserved_concurrency == 5


def test_the_execution_history_is_read_from_the_workflow_section():
    history = {"level": "ERROR", "includeExecutionData": False}
    profile = load_profile(profile_config(workflow={"history": history}))
    assert profile.workflow.history == HistorySettings(level=HistoryLevel.ERROR, include_execution_data=False)
    assert profile.args["workflow"]["history"] == {"level": "ERROR", "include_execution_data": False}


def test_the_tracing_rates_are_read_from_the_workflow_section():
    profile = load_profile(profile_config(workflow={"tracing": {"reservoir": 0, "sampleRate": 0.1}}))
    assert profile.workflow.tracing == TracingSettings(reservoir=0, sample_rate=0.1)
    assert profile.args["workflow"]["tracing"] == {"reservoir": 0, "sample_rate": 0.1}


def test_structured_config_arrives_as_json_text_and_is_decoded():
    profile = load_profile(
        {**REGION, "platform:profile": '{"allowedAccountIds": ["111122223333"], "versioning": false}'}
    )
    assert profile.versioning is False


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"logRetentionDays": 8}, "platform:profile.logRetentionDays: 8 is not allowed; expected one of 1, 3, 5"),
        ({"protect": "yes"}, "platform:profile.protect: 'yes' is not allowed; expected true or false"),
        ({"encryption": "kms"}, "platform:profile.encryption: 'kms' is not allowed; expected one of customer-managed"),
        (
            {"lambda": {"memoryMb": 64}},
            "platform:profile.lambda.memoryMb: 64 is not allowed; expected an integer from 128 to 10240",
        ),
        ({"lambda": {"timeoutSeconds": 1.5}}, "platform:profile.lambda.timeoutSeconds: 1.5 is not allowed"),
        ({"lambda": {"reservedConcurrency": 0}}, "expected an integer from 1 to 10000 or null"),
        (
            {"lambda": {"architecture": "arm"}},
            "platform:profile.lambda.architecture: 'arm' is not allowed; expected one of arm64, x86_64",
        ),
        (
            {"workflow": {"type": "FAST"}},
            "platform:profile.workflow.type: 'FAST' is not allowed; expected one of EXPRESS, STANDARD",
        ),
        (
            {"workflow": {"retry": {"backoffRate": 0.5}}},
            "platform:profile.workflow.retry.backoffRate: 0.5 is not allowed; expected a number from 1 to 10",
        ),
        ({"workflow": "STANDARD"}, "platform:profile.workflow: 'STANDARD' is not allowed; expected an object"),
        (
            {"workflow": {"history": {"level": "FATAL"}}},
            "platform:profile.workflow.history.level: 'FATAL' is not allowed; expected one of ALL, ERROR",
        ),
        (
            {"workflow": {"history": {"level": "OFF"}}},
            "platform:profile.workflow.history.level: 'OFF' is not allowed; expected one of ALL, ERROR",
        ),
        (
            {"workflow": {"history": {"includeExecutionData": "yes"}}},
            "platform:profile.workflow.history.includeExecutionData: 'yes' is not allowed; expected true or false",
        ),
        (
            {"workflow": {"tracing": {"sampleRate": 5}}},
            "platform:profile.workflow.tracing.sampleRate: 5 is not allowed; expected a number from 0 to 1",
        ),
        ({"kmsDeletionWindowDays": 3}, "platform:profile.kmsDeletionWindowDays: 3 is not allowed"),
        ({"tags": {"aws:owner": "me"}}, "platform:profile.tags.aws:owner: tag name is not allowed"),
        ({"tags": {"Owner": 7}}, "platform:profile.tags.Owner: 7 is not allowed; expected a string"),
        ({"tags": ["Owner"]}, "platform:profile.tags: ['Owner'] is not allowed"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_each_bad_value_names_key_value_and_what_is_allowed(profile, expected):
    (problem,) = problems({**REGION, "platform:profile": {**ACCOUNTS, **profile}})
    assert expected in problem


def test_booleans_are_not_numbers():
    (problem,) = problems(profile_config(**{"lambda": {"memoryMb": True}}))
    assert "memoryMb: True is not allowed" in problem


def test_unknown_keys_are_refused_with_a_suggestion_at_every_level():
    found = problems({**profile_config(lamda={}, workflow={"retry": {"jiter": True}}), "platform:profle": {}})
    assert any(p.startswith("platform:profle: unknown key (did you mean 'platform:profile'?)") for p in found)
    assert any(p.startswith("platform:profile.lamda: unknown key (did you mean 'lambda'?)") for p in found)
    assert any(
        p.startswith("platform:profile.workflow.retry.jiter: unknown key (did you mean 'jitter'?)") for p in found
    )
    assert len(found) == 3


def test_every_problem_is_reported_at_once():
    found = problems(profile_config(logRetentionDays=8, protect="no", versioning=1))
    assert [p.split(":")[1] for p in found] == ["profile.logRetentionDays", "profile.protect", "profile.versioning"]


def test_contradictory_settings_are_refused_with_the_way_out():
    (problem,) = problems(profile_config(forceDestroy=True))
    assert "platform:profile.forceDestroy: true is not allowed while retainOnDelete or protect is true" in problem
    assert "set both retainOnDelete: false and protect: false" in problem


def test_contradictions_are_refused_when_built_in_code_too():
    with pytest.raises(ProfileError):
        EnvironmentProfile(force_destroy=True)


@pytest.mark.parametrize(
    ("region", "expected"),
    [(None, "aws:region: missing"), ("Ireland", "aws:region: 'Ireland' is not allowed")],
)
def test_region_is_required_and_checked(region, expected):
    config = {"platform:profile": ACCOUNTS} | ({} if region is None else {"aws:region": region})
    (problem,) = problems(config)
    assert problem.startswith(expected)


def test_the_error_message_lists_every_problem_on_its_own_line():
    with pytest.raises(ProfileError) as raised:
        load_profile(profile_config(logRetentionDays=8, protect="no"))
    lines = str(raised.value).splitlines()
    assert lines[0] == "invalid stack configuration:"
    assert len(lines) == 3
    assert all(line.startswith("  - platform:profile.") for line in lines[1:])


def test_retention_choices_are_cloudwatch_values():
    assert 7 in LOG_RETENTION_DAYS
    assert 365 in LOG_RETENTION_DAYS
    assert 8 not in LOG_RETENTION_DAYS


def test_yaml_keys_are_camel_case():
    assert yaml_key("log_retention_days") == "logRetentionDays"
    assert yaml_key("lambda_") == "lambda"


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"fargate": {"cpu": 256, "memoryMb": 8192}},
         "platform:profile.fargate.memoryMb: 8192 is not allowed with cpu 256; expected 512 to 2048"),
        ({"fargate": {"cpu": 300}}, "platform:profile.fargate.cpu: 300 is not allowed; expected one of 256, 512"),
        ({"database": {"minCapacity": 0.3}}, "platform:profile.database.minCapacity: 0.3 is not allowed; expected a "
         "multiple of 0.5"),
        ({"database": {"minCapacity": 8, "maxCapacity": 4}}, "no greater than maxCapacity (4.0)"),
        ({"network": {"cidrBlock": "8.8.8.0/24"}}, "platform:profile.network.cidrBlock: '8.8.8.0/24' is not allowed; "
         "expected a private range"),
        ({"network": {"egress": "vpn"}}, "platform:profile.network.egress: 'vpn' is not allowed; expected one of "
         "public-ip, nat, endpoints"),
    ],
    ids=["fargate-memory", "fargate-cpu", "acu-step", "acu-order", "cidr", "egress"],
)  # fmt: skip
def test_later_sections_name_their_bad_values_too(profile, expected):
    (problem,) = problems({**REGION, "platform:profile": {**ACCOUNTS, **profile}})
    assert expected in problem


def test_the_allowed_accounts_are_read_as_strings():
    profile = load_profile(profile_config(allowedAccountIds=[ACCOUNT, "444455556666"]))
    assert profile.allowed_account_ids == (ACCOUNT, "444455556666")
    assert profile.deploy_role_arn is None, "no role to assume unless the stack names one"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (REGION, "platform:profile.allowedAccountIds: missing; an empty list would allow any account, so there is no "
         "default; name the stack's account with `pulumi config set --path 'platform:profile.allowedAccountIds[0]' "
         "<account-id> --type string`"),
        (profile_config(allowedAccountIds=[]), "platform:profile.allowedAccountIds: [] is not allowed; expected a "
         "non-empty list; an empty list would allow any account"),
        (profile_config(allowedAccountIds=ACCOUNT), "platform:profile.allowedAccountIds: '111122223333' is not "
         "allowed; expected a non-empty list"),
        (profile_config(allowedAccountIds=[111122223333]), "platform:profile.allowedAccountIds[0]: 111122223333 is not "
         "allowed; expected a 12-digit AWS account ID in quotes"),
        (profile_config(allowedAccountIds=["1111-2222-3333"]), "platform:profile.allowedAccountIds[0]: "
         "'1111-2222-3333' is not allowed; expected a 12-digit AWS account ID"),
        (profile_config(deployRoleArn="deploy"), "platform:profile.deployRoleArn: 'deploy' is not allowed; expected an "
         "IAM role ARN such as arn:aws:iam::111122223333:role/deploy or null"),
        (profile_config(deployRoleArn="arn:aws:iam::111122223333:user/deploy"), "platform:profile.deployRoleArn: "
         "'arn:aws:iam::111122223333:user/deploy' is not allowed; expected an IAM role ARN"),
        (profile_config(deployRoleArn="arn:aws:iam::444455556666:role/deploy"), "platform:profile.deployRoleArn: "
         "'arn:aws:iam::444455556666:role/deploy' is not allowed; its account 444455556666 is not in "
         "allowedAccountIds (111122223333)"),
    ],
    ids=["missing", "empty", "not-a-list", "number", "malformed", "not-an-arn", "not-a-role", "other-account"],
)  # fmt: skip
def test_the_account_guard_names_the_key_and_what_is_allowed(config, expected):
    (problem,) = problems(config)
    assert problem.startswith(expected)


def test_a_deploy_role_in_an_allowed_account_is_kept():
    role = "arn:aws:iam::111122223333:role/ci/image-pipeline-deploy"
    assert load_profile(profile_config(deployRoleArn=role)).deploy_role_arn == role


def test_monitoring_and_backup_default_to_alarms_a_dashboard_and_a_daily_backup_telling_nobody():
    profile = load_profile(MINIMAL)
    assert (profile.monitoring.alarms, profile.monitoring.dashboard) == (True, True)
    assert (profile.monitoring.emails, profile.monitoring.webhooks) == ((), ())
    assert (profile.backup.enabled, profile.backup.retention_days, profile.backup.schedule) == (
        True, 35, "cron(0 3 * * ? *)"
    )  # fmt: skip


def test_subscriptions_and_the_backup_plan_are_read_from_the_stack_file():
    profile = load_profile(
        profile_config(monitoring={"emails": ["ops@example.com"], "webhooks": ["https://hooks.example.com/a?b=c"]},
                       backup={"retentionDays": 90, "schedule": "cron(30 1 ? * MON *)"})
    )  # fmt: skip
    assert profile.monitoring.emails == ("ops@example.com",)
    assert profile.monitoring.webhooks == ("https://hooks.example.com/a?b=c",)
    assert (profile.backup.retention_days, profile.backup.schedule) == (90, "cron(30 1 ? * MON *)")
    assert load_profile(profile_config(monitoring={"emails": []})).monitoring.emails == (), "nobody told is allowed"


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"monitoring": {"emails": ["ops@example.com", "ops.example.com"]}},
         "platform:profile.monitoring.emails[1]: 'ops.example.com' is not allowed; expected an email address"),
        ({"monitoring": {"emails": "ops@example.com"}},
         "platform:profile.monitoring.emails: 'ops@example.com' is not allowed; expected a list"),
        ({"monitoring": {"webhooks": ["http://hooks.example.com/alarms"]}},
         "platform:profile.monitoring.webhooks[0]: 'http://hooks.example.com/alarms' is not allowed; expected an "
         "https:// URL"),
        ({"monitoring": {"alarms": "yes"}},
         "platform:profile.monitoring.alarms: 'yes' is not allowed; expected true or false"),
        ({"backup": {"schedule": "daily at 3"}},
         "platform:profile.backup.schedule: 'daily at 3' is not allowed; expected an AWS cron expression such as "
         "cron(0 3 * * ? *)"),
        ({"backup": {"schedule": "rate(1 day)"}},
         "platform:profile.backup.schedule: 'rate(1 day)' is not allowed; expected an AWS cron expression"),
        ({"backup": {"retentionDays": 0}},
         "platform:profile.backup.retentionDays: 0 is not allowed; expected an integer from 1 to 36500"),
        ({"backup": {"retentionDays": 36501}},
         "platform:profile.backup.retentionDays: 36501 is not allowed; expected an integer from 1 to 36500"),
    ],
    ids=["email", "emails-not-a-list", "webhook-http", "alarms", "schedule", "schedule-rate", "retention-0",
         "retention-too-long"],
)  # fmt: skip
def test_monitoring_and_backup_values_name_key_value_and_what_is_allowed(profile, expected):
    (problem,) = problems(profile_config(**profile))
    assert problem.startswith(expected), problem


@pytest.mark.parametrize(
    "subscriptions", [{"emails": ["ops@example.com"]}, {"webhooks": ["https://hooks.example.com"]}]
)
def test_subscriptions_without_alarms_are_a_contradiction_with_the_way_out(subscriptions):
    (problem,) = problems(profile_config(monitoring={"alarms": False, **subscriptions}))
    assert problem == (
        "platform:profile.monitoring.alarms: false is not allowed with emails or webhooks; nothing would be sent to "
        "them: set alarms: true, or remove the subscriptions"
    )


@pytest.mark.parametrize("schedule", ["cron(0 3 * *)", "cron(daily)"])
def test_a_backup_schedule_without_six_cron_fields_is_refused_before_deployment(schedule):
    (problem,) = problems(profile_config(backup={"schedule": schedule}))
    assert problem.startswith(f"platform:profile.backup.schedule: {schedule!r} is not allowed")
