"""ServerlessDatabase: Aurora Serverless v2 per profile, the security baseline, Data API grants and workflow tasks."""

import dataclasses
import json

import botocore.session
import pytest

from components.database import (
    AUTO_PAUSE_MINIMUM_VERSIONS,
    DATA_API_RESUMING_ERRORS,
    DATA_API_TRANSIENT_ERRORS,
    DEFAULT_DATABASE_NAME,
    DEFAULT_MASTER_USERNAME,
    ENGINE_VERSION,
    PARAMETER_GROUP_FAMILY,
    RESUME_RETRY,
    ServerlessDatabase,
    ServerlessDatabaseArgs,
    named_parameters,
)
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.profile import DatabaseSettings, RetrySettings, WorkflowSettings
from components.states import Definition, Succeed
from components.workflow import Workflow, WorkflowArgs
from synth.program import SynthesisError
from tests.helpers import DISPOSABLE, PROTECTED, run, statements, tiny_code

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
IDENTIFIER = "image-pipeline-unit-catalog"
SUBNETS = ["subnet-private-a", "subnet-private-b"]
DATA_API_RESOURCE = "arn:aws:states:::aws-sdk:rdsdata:executeStatement"

DEV = dataclasses.replace(
    DISPOSABLE,
    database=DatabaseSettings(
        min_capacity=0, max_capacity=2, auto_pause_seconds=600, backup_retention_days=1, readers=0
    ),
)
PROD = dataclasses.replace(
    PROTECTED, database=DatabaseSettings(min_capacity=0.5, max_capacity=8, backup_retention_days=14)
)
PROFILES = pytest.mark.parametrize("profile", [DEV, PROD], ids=["dev", "prod"])


def uses_key(profile):
    return profile.customer_managed_keys


def database_args(profile, key=None, **overrides):
    """The args of a database in SUBNETS of `vpc-main`, its names left to the defaults unless overridden."""
    given = {
        "profile": profile.args,
        "subnet_ids": SUBNETS,
        "vpc_id": "vpc-main",
        "kms_key_arn": key.arn if key else None,
    }
    return ServerlessDatabaseArgs(**(given | overrides))


def declare(profile=DEV, *, preview=False, allow=(), then=None, **names):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if uses_key(profile) else None
        database = ServerlessDatabase("catalog", database_args(profile, key, **names))
        for name in allow:
            database.allow_from(name, f"sg-{name}")
        if then:
            then(database, profile, key)
        return database

    return run(build, preview=preview)


def test_dev_scales_to_zero_and_is_disposable():
    synthesis = declare(DEV)
    cluster, instance = synthesis.one(CLUSTER), synthesis.one(INSTANCE, "catalog-writer")
    assert cluster.inputs["serverlessv2ScalingConfiguration"] == {
        "minCapacity": 0,
        "maxCapacity": 2,
        "secondsUntilAutoPause": 600,
    }, cluster.urn
    assert cluster.inputs["skipFinalSnapshot"] is True, cluster.urn
    assert "finalSnapshotIdentifier" not in cluster.inputs, cluster.urn
    assert cluster.inputs["deletionProtection"] is False, cluster.urn
    assert cluster.inputs["deleteAutomatedBackups"] is True, cluster.urn
    assert cluster.inputs["backupRetentionPeriod"] == 1, cluster.urn
    for resource in (cluster, instance):
        assert (resource.protect, resource.retain_on_delete) == (False, False), resource.urn
    for absent in ("kmsKeyId", "masterUserSecretKmsKeyId"):
        assert absent not in cluster.inputs, f"{cluster.urn}: {absent} set without a customer-managed key"


def test_prod_stays_warm_and_is_protected_with_the_stacks_key():
    synthesis = declare(PROD)
    cluster, instance = synthesis.one(CLUSTER), synthesis.one(INSTANCE, "catalog-writer")
    key_arn = synthesis.one("aws:kms/key:Key").outputs["arn"]
    assert cluster.inputs["serverlessv2ScalingConfiguration"] == {"minCapacity": 0.5, "maxCapacity": 8}, (
        f"{cluster.urn}: auto-pause must only be set when the minimum is 0"
    )
    assert cluster.inputs["deletionProtection"] is True, cluster.urn
    assert cluster.inputs["skipFinalSnapshot"] is False, cluster.urn
    assert cluster.inputs["finalSnapshotIdentifier"] == f"{IDENTIFIER}-final", cluster.urn
    assert cluster.inputs["deleteAutomatedBackups"] is False, cluster.urn
    assert cluster.inputs["backupRetentionPeriod"] >= 7, cluster.urn
    assert cluster.inputs["kmsKeyId"] == key_arn, cluster.urn
    assert cluster.inputs["masterUserSecretKmsKeyId"] == key_arn, cluster.urn
    for resource in (cluster, instance):
        assert (resource.protect, resource.retain_on_delete) == (True, True), resource.urn


@PROFILES
def test_security_baseline_holds_in_every_profile(profile):
    synthesis = declare(profile)
    cluster, instance = synthesis.one(CLUSTER), synthesis.one(INSTANCE, "catalog-writer")
    assert cluster.inputs["storageEncrypted"] is True, f"{cluster.urn}: RDS.27"
    assert instance.inputs["publiclyAccessible"] is False, f"{instance.urn}: RDS.2"
    assert cluster.inputs["iamDatabaseAuthenticationEnabled"] is True, f"{cluster.urn}: RDS.12"
    assert cluster.inputs["manageMasterUserPassword"] is True, cluster.urn
    assert not {"masterPassword", "masterPasswordWo"} & set(cluster.inputs), f"{cluster.urn}: a password in state"
    assert cluster.inputs["masterUsername"] not in {"postgres", "admin", "root", "rdsadmin"}, f"{cluster.urn}: RDS.24"
    assert cluster.inputs["enabledCloudwatchLogsExports"] == ["postgresql"], f"{cluster.urn}: RDS.37"
    assert cluster.inputs["copyTagsToSnapshot"] is True, f"{cluster.urn}: RDS.16"
    assert cluster.inputs["enableHttpEndpoint"] is True, f"{cluster.urn}: the Data API is how callers connect"
    assert (cluster.inputs["engine"], cluster.inputs["engineMode"]) == ("aurora-postgresql", "provisioned")
    assert cluster.inputs["engineVersion"] == ENGINE_VERSION, cluster.urn
    assert instance.inputs["instanceClass"] == "db.serverless", instance.urn
    assert instance.inputs["clusterIdentifier"] == cluster.id, instance.urn
    assert instance.inputs["identifier"] == f"{IDENTIFIER}-writer", instance.urn


@PROFILES
def test_logs_go_to_a_group_created_first_with_the_profiles_retention(profile):
    synthesis = declare(profile)
    cluster, group = synthesis.one(CLUSTER), synthesis.one(LOG_GROUP)
    assert cluster.inputs["clusterIdentifier"] == IDENTIFIER
    assert group.inputs["name"] == f"/aws/rds/cluster/{IDENTIFIER}/postgresql", group.urn
    assert group.inputs["retentionInDays"] == profile.log_retention_days, group.urn
    assert group.urn in cluster.dependencies, f"{cluster.urn} must wait for {group.urn}, or RDS creates its own group"
    if uses_key(profile):
        assert group.inputs["kmsKeyId"] == synthesis.one("aws:kms/key:Key").outputs["arn"], group.urn


def test_the_pinned_engine_version_can_scale_to_zero():
    major, minor = (int(part) for part in ENGINE_VERSION.split(".")[:2])
    assert major in AUTO_PAUSE_MINIMUM_VERSIONS, f"no known auto-pause version for Aurora PostgreSQL {major}"
    assert (major, minor) >= AUTO_PAUSE_MINIMUM_VERSIONS[major], f"{ENGINE_VERSION} cannot scale to 0 ACUs"
    assert f"aurora-postgresql{major}" == PARAMETER_GROUP_FAMILY


@PROFILES
def test_parameter_group_forces_tls_and_logs_slow_statements(profile):
    synthesis = declare(profile)
    group, cluster = synthesis.one(PARAMETER_GROUP), synthesis.one(CLUSTER)
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1", group.urn
    assert int(parameters["log_min_duration_statement"]) > 0, group.urn
    assert parameters["log_statement"] in {"ddl", "mod"}, f"{group.urn}: 'all' would copy the rows into the logs"
    assert group.inputs["family"] == PARAMETER_GROUP_FAMILY, group.urn
    assert cluster.inputs["dbClusterParameterGroupName"] == group.inputs["name"], cluster.urn


def test_the_cluster_lives_in_the_given_private_subnets():
    synthesis = declare()
    subnets = synthesis.one("aws:rds/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnetIds"] == SUBNETS, subnets.urn
    assert synthesis.one(CLUSTER).inputs["dbSubnetGroupName"] == subnets.inputs["name"]
    assert synthesis.one(INSTANCE, "catalog-writer").inputs["dbSubnetGroupName"] == subnets.inputs["name"]


def test_security_group_has_no_rules_until_allow_from():
    synthesis = declare()
    group, cluster = synthesis.one(SECURITY_GROUP), synthesis.one(CLUSTER)
    assert group.inputs["vpcId"] == "vpc-main", group.urn
    assert not {"ingress", "egress"} & set(group.inputs), f"{group.urn}: inline rules"
    assert synthesis.of_type(INGRESS) == [], f"{group.urn}: ingress without allow_from"
    assert cluster.inputs["vpcSecurityGroupIds"] == [group.id], cluster.urn


def test_allow_from_opens_postgres_to_that_security_group_only():
    synthesis = declare(allow=["worker"])
    group = synthesis.one(SECURITY_GROUP)
    (rule,) = synthesis.of_type(INGRESS)
    assert rule.inputs == {
        "securityGroupId": group.id,
        "referencedSecurityGroupId": "sg-worker",
        "ipProtocol": "tcp",
        "fromPort": 5432,
        "toPort": 5432,
        "description": "PostgreSQL from worker",
    }, rule.urn
    assert rule.parent == synthesis.one("platform:index:ServerlessDatabase").urn


def test_allow_from_refuses_the_same_name_twice():
    with pytest.raises(SynthesisError, match=r"allow_from\('worker'\) was already called"):
        declare(allow=["worker", "worker"])


@pytest.mark.parametrize(("minimum", "insights"), [(0, False), (0.5, False), (2, True)])
def test_performance_insights_only_where_the_capacity_floor_already_pays_for_it(minimum, insights):
    profile = dataclasses.replace(PROTECTED, database=DatabaseSettings(min_capacity=minimum, max_capacity=4))
    synthesis = declare(profile)
    instance = synthesis.one(INSTANCE, "catalog-writer")
    assert instance.inputs["performanceInsightsEnabled"] is insights, instance.urn
    if insights:
        assert instance.inputs["performanceInsightsRetentionPeriod"] == 7, f"{instance.urn}: beyond the free tier"
        assert instance.inputs["performanceInsightsKmsKeyId"] == synthesis.one("aws:kms/key:Key").outputs["arn"]
    else:
        assert "performanceInsightsRetentionPeriod" not in instance.inputs, instance.urn


def test_outputs_are_the_public_attributes(mode):
    synthesis = declare(PROD, preview=mode)
    component = synthesis.one("platform:index:ServerlessDatabase")
    outputs = synthesis.component_outputs[component.urn]
    assert set(outputs) == {"cluster_arn", "secret_arn", "endpoint", "port", "database_name", "security_group_id"}
    assert set(outputs) == set(ServerlessDatabase.__annotations__), "the package schema's outputs are the annotations"
    assert outputs["database_name"] == DEFAULT_DATABASE_NAME
    if not mode:
        cluster = synthesis.one(CLUSTER)
        assert outputs["cluster_arn"] == cluster.outputs["arn"]
        assert outputs["secret_arn"] == cluster.outputs["masterUserSecrets"][0]["secretArn"]
        assert outputs["port"] == 5432


SECRET = "aws:secretsmanager/secret:Secret"


def key_arn(synthesis):
    return synthesis.one("aws:kms/key:Key").outputs["arn"]


def master_secret_arn(synthesis):
    return synthesis.one(CLUSTER).outputs["masterUserSecrets"][0]["secretArn"]


def expected_statements(synthesis, with_key, *, secret_arn=None, transactions=False):
    """A Data API caller's statements: ExecuteStatement (and the transaction actions), one secret and its key."""
    actions = ["rds-data:ExecuteStatement"]
    if transactions:
        actions = sorted([*actions, "rds-data:BeginTransaction", "rds-data:CommitTransaction",
                          "rds-data:RollbackTransaction"])  # fmt: skip
    expected = [
        {"Sid": "DataApi", "Effect": "Allow", "Action": actions, "Resource": [synthesis.one(CLUSTER).outputs["arn"]]},
        {
            "Sid": "ReadDatabaseSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [secret_arn or master_secret_arn(synthesis)],
        },
    ]
    if with_key:
        expected.append(
            {
                "Sid": "DecryptDatabaseSecret",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [key_arn(synthesis)],
            }
        )
    return expected


def with_writer(then=None):
    """Declares the catalog's writer login, then runs `then(database, profile, key, writer)`."""

    def build(database, profile, key):
        writer = database.database_user("writer", "catalog_writer")
        if then:
            then(database, profile, key, writer)

    return build


@PROFILES
def test_grant_data_api_as_the_master_user_is_exactly_one_statement_at_a_time_its_secret_and_key(tmp_path, profile):
    def grant(database, profile, key):
        database.grant_data_api(
            Function("record", FunctionArgs(profile=profile.args, code=tiny_code(tmp_path), handler="app.main.handler"))
        )

    synthesis = declare(profile, then=grant)
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "record-data-api-catalog")
    assert statements(policy) == expected_statements(synthesis, uses_key(profile)), policy.urn


@PROFILES
def test_grant_data_api_as_a_user_reads_that_users_secret_and_never_the_masters(tmp_path, profile):
    def grant(database, profile, key, writer):
        function = Function(
            "record", FunctionArgs(profile=profile.args, code=tiny_code(tmp_path), handler="app.main.handler")
        )
        database.grant_data_api(function, writer, transactions=True)

    synthesis = declare(profile, then=with_writer(grant))
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "record-data-api-catalog-writer")
    secret = synthesis.one(SECRET).outputs["arn"]
    expected = expected_statements(synthesis, uses_key(profile), secret_arn=secret, transactions=True)
    assert statements(policy) == expected, policy.urn
    assert master_secret_arn(synthesis) not in policy.inputs["policy"], f"{policy.urn}: the master secret"


@PROFILES
def test_database_user_declares_an_empty_secret_encrypted_and_kept_like_the_cluster(profile):
    synthesis = declare(profile, then=with_writer())
    secret, cluster = synthesis.one(SECRET), synthesis.one(CLUSTER)
    assert secret.name == "catalog-writer-secret"
    assert secret.parent == synthesis.one("platform:index:ServerlessDatabase").urn
    assert secret.inputs["name"] == "image-pipeline-unit-catalog-writer", secret.urn
    assert "catalog_writer" in secret.inputs["description"]
    assert (secret.protect, secret.retain_on_delete) == (cluster.protect, cluster.retain_on_delete), secret.urn
    if profile.protect:
        assert secret.inputs["recoveryWindowInDays"] == 30, f"{secret.urn}: a deleted secret can be restored"
    else:
        assert secret.inputs["recoveryWindowInDays"] == 0, f"{secret.urn}: a disposable stack deletes it at once"
    if uses_key(profile):
        assert secret.inputs["kmsKeyId"] == key_arn(synthesis), secret.urn
    else:
        assert "kmsKeyId" not in secret.inputs, f"{secret.urn}: Secrets Manager's AWS-managed key"
    assert not [r.urn for r in synthesis.of_type("aws:secretsmanager/secretVersion:SecretVersion")], (
        "the password is made by the migration function: no secret value is ever declared (or kept in the state)"
    )


def test_database_user_returns_the_secrets_arn():
    found = {}
    synthesis = declare(then=with_writer(lambda database, profile, key, writer: found.update(writer=writer)))
    writer = found["writer"]
    assert (writer.name, writer.username, writer.kms_key_arn) == ("writer", "catalog_writer", None)
    arn = synthesis.one(SECRET).outputs["arn"]
    assert arn.startswith("arn:aws:secretsmanager:eu-west-1:123456789012:secret:image-pipeline-unit-catalog-writer-")


@pytest.mark.parametrize(
    ("name", "username", "message"),
    [
        ("writer", "Catalog-Writer", "username 'Catalog-Writer' is not allowed"),
        ("writer", DEFAULT_MASTER_USERNAME, f"username '{DEFAULT_MASTER_USERNAME}' is not allowed"),
        ("writer", "rds_superuser", "username 'rds_superuser' is not allowed"),
        ("writer", "pg_monitor", "username 'pg_monitor' is not allowed"),
        ("reader", "catalog_writer", r"database_user\('reader', 'catalog_writer'\) repeats a user"),
    ],
)
def test_database_user_refuses_names_postgresql_or_rds_own_and_repeats(name, username, message):
    def twice(database, profile, key):
        database.database_user("writer", "catalog_writer")
        database.database_user(name, username)

    with pytest.raises(SynthesisError, match=message):
        declare(then=twice)


def migration_policy(profile, tmp_path):
    def grant(database, profile, key, writer):
        migrate = Function(
            "migrate", FunctionArgs(profile=profile.args, code=tiny_code(tmp_path), handler="app.main.handler")
        )
        database.grant_migrate(migrate, [writer])

    synthesis = declare(profile, then=with_writer(grant))
    return synthesis, synthesis.one("aws:iam/rolePolicy:RolePolicy", "migrate-migrate-catalog")


@PROFILES
def test_grant_migrate_is_the_master_with_transactions_and_the_logins_secrets_filled(tmp_path, profile):
    synthesis, policy = migration_policy(profile, tmp_path)
    secret = synthesis.one(SECRET).outputs["arn"]
    expected = [
        *expected_statements(synthesis, uses_key(profile), transactions=True),
        {
            "Sid": "FillLoginSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
            "Resource": [secret],
        },
    ]
    if uses_key(profile):
        expected.append(
            {"Sid": "EncryptLoginSecrets", "Effect": "Allow", "Action": ["kms:GenerateDataKey"],
             "Resource": [key_arn(synthesis)]}
        )  # fmt: skip
    assert statements(policy) == expected, policy.urn
    assert "rds-data:BatchExecuteStatement" not in policy.inputs["policy"], f"{policy.urn}: nothing runs a batch"


def test_grants_refuse_a_user_of_another_database(tmp_path):
    def build():
        first = ServerlessDatabase("catalog", database_args(DEV))
        second = ServerlessDatabase("archive", database_args(DEV))
        writer = first.database_user("writer", "catalog_writer")
        second.grant_data_api(
            Function("record", FunctionArgs(profile=DEV.args, code=tiny_code(tmp_path), handler="app.main.handler")),
            writer,
        )

    with pytest.raises(SynthesisError, match="'writer' is not a database_user of 'archive'"):
        run(build)


RETRY = RetrySettings(max_attempts=2, interval_seconds=1, backoff_rate=2.0, max_delay_seconds=10, jitter=True)


def record_image_flow(profile):
    profile = dataclasses.replace(profile, workflow=WorkflowSettings(retry=RETRY))
    parameters = [
        {"Name": "object_key", "Value": {"StringValue.$": "$.validation.objectKey"}},
        {"Name": "width", "Value": {"LongValue.$": "$.validation.metadata.width"}},
    ]

    def flow(database, profile, key, writer):
        task = database.execute_statement_task(
            "Record",
            "UPDATE images SET width = :width WHERE object_key = :object_key",
            parameters,
            user=writer,
            next="Done",
        )
        definition = Definition(start_at="Record", states=[task, Succeed("Done")])
        Workflow(
            "flow",
            WorkflowArgs(
                profile=profile.args, **definition.workflow_args(profile), kms_key_arn=key.arn if key else None
            ),
        )

    synthesis = declare(profile, then=with_writer(flow))
    definition = json.loads(synthesis.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    return synthesis, definition["States"]["Record"], parameters


def test_execute_statement_task_calls_the_data_api_as_its_user_with_the_parameters():
    synthesis, state, parameters = record_image_flow(DEV)
    cluster = synthesis.one(CLUSTER)
    assert state["Resource"] == DATA_API_RESOURCE
    assert state["Parameters"] == {
        "ResourceArn": cluster.outputs["arn"],
        "SecretArn": synthesis.one(SECRET).outputs["arn"],
        "Database": DEFAULT_DATABASE_NAME,
        "Sql": "UPDATE images SET width = :width WHERE object_key = :object_key",
        "Parameters": parameters,
    }
    assert state["ResultPath"] is None, "the Data API's answer must not replace the workflow state"
    assert state["Next"] == "Done"


def test_execute_statement_task_waits_for_a_paused_cluster_then_retries_transient_errors():
    _, state, _ = record_image_flow(DEV)
    resuming, transient = state["Retry"]
    assert resuming == {
        "ErrorEquals": ["RdsData.DatabaseResumingException"],
        "IntervalSeconds": 5,
        "MaxAttempts": 6,
        "BackoffRate": 1.5,
        "MaxDelaySeconds": 15,
        "JitterStrategy": "NONE",
    }
    waits, wait = [], RESUME_RETRY.interval_seconds
    for _ in range(RESUME_RETRY.max_attempts):
        waits.append(min(wait, RESUME_RETRY.max_delay_seconds))
        wait *= RESUME_RETRY.backoff_rate
    assert sum(waits) >= 60, f"{sum(waits)} s of retries is too short for a cluster resuming after a long pause"
    assert transient["ErrorEquals"] == list(DATA_API_TRANSIENT_ERRORS)
    assert (transient["MaxAttempts"], transient["IntervalSeconds"]) == (RETRY.max_attempts, RETRY.interval_seconds)


def test_the_resume_retry_stays_when_the_profile_turns_retries_off():
    no_retries = dataclasses.replace(RETRY, max_attempts=0)
    profile = dataclasses.replace(DEV, workflow=WorkflowSettings(retry=no_retries))

    def flow(database, profile, key, writer):
        task = database.execute_statement_task("Record", "SELECT 1", [], user=writer)
        definition = Definition(start_at="Record", states=[task])
        Workflow(
            "flow",
            WorkflowArgs(
                profile=profile.args, **definition.workflow_args(profile), kms_key_arn=key.arn if key else None
            ),
        )

    synthesis = declare(profile, then=with_writer(flow))
    state = json.loads(synthesis.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])["States"]["Record"]
    assert [retrier["ErrorEquals"] for retrier in state["Retry"]] == [list(DATA_API_RESUMING_ERRORS)]
    assert "Parameters" not in state["Parameters"], "an empty parameter list is left out"


@PROFILES
def test_the_workflow_role_gets_execute_statement_and_its_users_secret_only(profile):
    synthesis, _, _ = record_image_flow(profile)
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "flow-tasks")
    task_statements = [s for s in statements(policy) if not s["Sid"].endswith("HasNoResourceScope")]
    secret = synthesis.one(SECRET).outputs["arn"]
    assert task_statements == expected_statements(synthesis, uses_key(profile), secret_arn=secret), policy.urn
    assert master_secret_arn(synthesis) not in policy.inputs["policy"], f"{policy.urn}: a task never signs in as master"


@pytest.mark.parametrize("user", [None, "other-database"], ids=["none", "another-databases"])
def test_execute_statement_task_needs_a_user_of_its_own_database(user):
    def flow(database, profile, key):
        other = ServerlessDatabase("archive", database_args(profile))
        login = other.database_user("writer", "catalog_writer") if user else None
        database.execute_statement_task("Record", "SELECT 1", [], user=login)

    with pytest.raises(SynthesisError, match="user must be a DatabaseUser that database_user declared on 'catalog'"):
        declare(then=flow)


def test_retried_error_names_are_real_rds_data_exceptions():
    """As Step Functions names them: `Exception` appended to a shape whose name lacks it (`ServiceUnavailableError`)."""
    model = botocore.session.get_session().get_service_model("rds-data")
    shapes = [shape.name for shape in model.error_shapes]
    real = {shape if shape.endswith("Exception") else f"{shape}Exception" for shape in shapes}
    for name in (*DATA_API_RESUMING_ERRORS, *DATA_API_TRANSIENT_ERRORS):
        if name == "States.Timeout":  # the task's own timeout: a hung statement is retried (safe: ON CONFLICT)
            continue
        service, error = name.split(".")
        assert service == "RdsData", name
        assert error in real, f"{name} is not an error of the rds-data API; it has {sorted(real)}"


UPSERT_SQL = """INSERT INTO orders (order_id, revision, total_cents, lines, placed_at)
VALUES (:order_id, :revision, :total_cents, CAST(:lines AS jsonb), CAST(:placed_at AS timestamptz))
ON CONFLICT (order_id) DO UPDATE SET
    revision = EXCLUDED.revision,
    total_cents = EXCLUDED.total_cents,
    lines = EXCLUDED.lines
WHERE orders.revision < EXCLUDED.revision"""
"""A multi-line upsert of the kind an application records its work with: casts, a conflict clause, a WHERE."""
UPSERT_PARAMETERS = ("order_id", "revision", "total_cents", "lines", "placed_at")


def test_an_upsert_fits_a_task_sending_its_declared_parameters():
    parameters = [{"Name": name, "Value": {"StringValue.$": f"$.order.{name}"}} for name in UPSERT_PARAMETERS]

    def flow(database, profile, key, writer):
        task = database.execute_statement_task("Record", UPSERT_SQL, parameters, user=writer)
        definition = Definition(start_at="Record", states=[task])
        Workflow(
            "flow",
            WorkflowArgs(
                profile=profile.args, **definition.workflow_args(profile), kms_key_arn=key.arn if key else None
            ),
        )

    state = json.loads(declare(then=with_writer(flow)).one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    assert state["States"]["Record"]["Parameters"]["Sql"] == UPSERT_SQL
    assert [p["Name"] for p in state["States"]["Record"]["Parameters"]["Parameters"]] == list(UPSERT_PARAMETERS)


@pytest.mark.parametrize(
    ("sql", "parameters", "message"),
    [
        ("SELECT :a", [{"Name": "b", "Value": {"StringValue": "x"}}], r"missing \['a'\], not in the SQL \['b'\]"),
        ("SELECT :a", [{"name": "a", "value": {"stringValue": "x"}}], "PascalCase"),
        ("SELECT 1; SELECT 2", [], "one SQL statement per call"),
    ],
    ids=["names", "camel-case", "two-statements"],
)
def test_execute_statement_task_refuses_what_the_data_api_would(sql, parameters, message):
    def task(database, profile, key, writer):
        database.execute_statement_task("Bad", sql, parameters, user=writer)

    with pytest.raises(SynthesisError, match=message):
        declare(then=with_writer(task))


def test_named_parameters_skip_casts_and_string_literals():
    sql = "SELECT CAST(:a AS jsonb), '{}'::jsonb, ':not_a_parameter', :b, :a"
    assert named_parameters(sql) == ["a", "b"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subnet_ids": ["subnet-a"]}, "at least two Availability Zones"),
        ({"database_name": "postgres"}, "database_name 'postgres' is not allowed"),
        ({"database_name": "Image-Catalog"}, "database_name 'Image-Catalog' is not allowed"),
        ({"master_username": "postgres"}, "master_username 'postgres' is not allowed"),
        ({"master_username": "admin"}, "master_username 'admin' is not allowed"),
        ({"master_username": "rds_owner"}, "master_username 'rds_owner' is not allowed"),
        ({"master_username": "_owner"}, "master_username '_owner' is not allowed"),
    ],
)
def test_args_are_checked_before_anything_is_declared(kwargs, message):
    with pytest.raises(SynthesisError, match=message) as error:
        run(lambda: ServerlessDatabase("catalog", database_args(DEV, **kwargs)))
    assert not error.value.declared, "nothing may be declared before the args are checked"


def test_names_default_to_neutral_ones_and_given_names_reach_the_cluster():
    default = declare().one(CLUSTER).inputs
    assert (default["databaseName"], default["masterUsername"]) == ("app", "app_owner")
    assert (DEFAULT_DATABASE_NAME, DEFAULT_MASTER_USERNAME) == ("app", "app_owner")
    synthesis = declare(database_name="catalog", master_username="catalog_owner")
    cluster = synthesis.one(CLUSTER).inputs
    assert (cluster["databaseName"], cluster["masterUsername"]) == ("catalog", "catalog_owner")
    component = synthesis.one("platform:index:ServerlessDatabase")
    assert synthesis.component_outputs[component.urn]["database_name"] == "catalog"

    def owner_as_login(database, profile, key):
        database.database_user("owner", "catalog_owner")

    with pytest.raises(SynthesisError, match="username 'catalog_owner' is not allowed"):
        declare(then=owner_as_login, master_username="catalog_owner")


def test_a_name_rds_would_refuse_fails_before_the_cluster_is_declared():
    def build():
        ServerlessDatabase("image_catalog", database_args(DEV))

    with pytest.raises(SynthesisError, match="Aurora cluster identifier 'image-pipeline-unit-image_catalog'") as error:
        run(build)
    assert not [r for r in error.value.declared if r.type == CLUSTER]


def test_readers_follow_the_profile_in_promotion_tier_1():
    synthesis = declare(PROD)
    writer = synthesis.one(INSTANCE, "catalog-writer")
    (reader,) = [i for i in synthesis.of_type(INSTANCE) if i.name != "catalog-writer"]
    assert (writer.inputs["promotionTier"], reader.inputs["promotionTier"]) == (0, 1)
    assert reader.inputs["identifier"].endswith("-reader-1")
    assert reader.inputs["instanceClass"] == "db.serverless"
    assert reader.inputs["publiclyAccessible"] is False
    assert (reader.protect, reader.retain_on_delete) == (True, True)
    assert len(declare(DEV).of_type(INSTANCE)) == 1, "dev has no reader"
