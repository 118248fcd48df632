"""ServerlessDatabase: Aurora Serverless v2 per profile, the security baseline, Data API grants and workflow tasks."""

import dataclasses
import json

import botocore.session
import pytest
from catalog.schema import INSERT_IMAGE_PARAMETERS, INSERT_IMAGE_SQL

from components.database import (
    AUTO_PAUSE_MINIMUM_VERSIONS,
    DATA_API_RESUMING_ERRORS,
    DATA_API_TRANSIENT_ERRORS,
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
from offline.synth import SynthesisError
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


def declare(profile=DEV, *, preview=False, allow=(), then=None):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile)) if uses_key(profile) else None
        database = ServerlessDatabase("catalog", ServerlessDatabaseArgs(profile, SUBNETS, "vpc-main", key))
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
    assert rule.parent == synthesis.one("pipeline:data:ServerlessDatabase").urn


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
    component = synthesis.one("pipeline:data:ServerlessDatabase")
    outputs = synthesis.component_outputs[component.urn]
    assert set(outputs) == {"cluster_arn", "secret_arn", "endpoint", "port", "database_name", "security_group_id"}
    assert outputs["database_name"] == "catalog"
    if not mode:
        cluster = synthesis.one(CLUSTER)
        assert outputs["cluster_arn"] == cluster.outputs["arn"]
        assert outputs["secret_arn"] == cluster.outputs["masterUserSecrets"][0]["secretArn"]
        assert outputs["port"] == 5432


def expected_statements(synthesis, with_key):
    cluster = synthesis.one(CLUSTER)
    expected = [
        {
            "Sid": "DataApi",
            "Effect": "Allow",
            "Action": [
                "rds-data:BatchExecuteStatement",
                "rds-data:BeginTransaction",
                "rds-data:CommitTransaction",
                "rds-data:ExecuteStatement",
                "rds-data:RollbackTransaction",
            ],
            "Resource": [cluster.outputs["arn"]],
        },
        {
            "Sid": "ReadDatabaseSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [cluster.outputs["masterUserSecrets"][0]["secretArn"]],
        },
    ]
    if with_key:
        expected.append(
            {
                "Sid": "DecryptDatabaseSecret",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [synthesis.one("aws:kms/key:Key").outputs["arn"]],
            }
        )
    return expected


@PROFILES
def test_grant_data_api_is_exactly_the_data_api_the_secret_and_its_key(tmp_path, profile):
    def grant(database, profile, key):
        database.grant_data_api(Function("record", FunctionArgs(profile, tiny_code(tmp_path), "app.main.handler")))

    synthesis = declare(profile, then=grant)
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "record-data-api-catalog")
    assert statements(policy) == expected_statements(synthesis, uses_key(profile)), policy.urn


RETRY = RetrySettings(max_attempts=2, interval_seconds=1, backoff_rate=2.0, max_delay_seconds=10, jitter=True)


def record_image_flow(profile):
    profile = dataclasses.replace(profile, workflow=WorkflowSettings(retry=RETRY))
    parameters = [
        {"Name": "object_key", "Value": {"StringValue.$": "$.validation.objectKey"}},
        {"Name": "width", "Value": {"LongValue.$": "$.validation.metadata.width"}},
    ]

    def flow(database, profile, key):
        task = database.execute_statement_task(
            "Record", "UPDATE images SET width = :width WHERE object_key = :object_key", parameters, next="Done"
        )
        Workflow("flow", WorkflowArgs(profile, Definition(start_at="Record", states=[task, Succeed("Done")]), key))

    synthesis = declare(profile, then=flow)
    definition = json.loads(synthesis.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    return synthesis, definition["States"]["Record"], parameters


def test_execute_statement_task_calls_the_data_api_with_the_cluster_secret_and_parameters():
    synthesis, state, parameters = record_image_flow(DEV)
    cluster = synthesis.one(CLUSTER)
    assert state["Resource"] == DATA_API_RESOURCE
    assert state["Parameters"] == {
        "ResourceArn": cluster.outputs["arn"],
        "SecretArn": cluster.outputs["masterUserSecrets"][0]["secretArn"],
        "Database": "catalog",
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

    def flow(database, profile, key):
        task = database.execute_statement_task("Record", "SELECT 1", [])
        Workflow("flow", WorkflowArgs(profile, Definition(start_at="Record", states=[task]), key))

    synthesis = declare(profile, then=flow)
    state = json.loads(synthesis.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])["States"]["Record"]
    assert [retrier["ErrorEquals"] for retrier in state["Retry"]] == [list(DATA_API_RESUMING_ERRORS)]
    assert "Parameters" not in state["Parameters"], "an empty parameter list is left out"


@PROFILES
def test_the_workflow_role_gets_exactly_the_data_api_statements(profile):
    synthesis, _, _ = record_image_flow(profile)
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "flow-tasks")
    task_statements = [s for s in statements(policy) if not s["Sid"].endswith("HasNoResourceScope")]
    assert task_statements == expected_statements(synthesis, uses_key(profile)), policy.urn


def test_retried_error_names_are_real_rds_data_exceptions():
    """As Step Functions names them: `Exception` appended to a shape whose name lacks it (`ServiceUnavailableError`)."""
    model = botocore.session.get_session().get_service_model("rds-data")
    shapes = [shape.name for shape in model.error_shapes]
    real = {shape if shape.endswith("Exception") else f"{shape}Exception" for shape in shapes}
    for name in (*DATA_API_RESUMING_ERRORS, *DATA_API_TRANSIENT_ERRORS):
        service, error = name.split(".")
        assert service == "RdsData", name
        assert error in real, f"{name} is not an error of the rds-data API; it has {sorted(real)}"


def test_the_catalog_insert_fits_a_task_sending_its_declared_parameters():
    parameters = [{"Name": name, "Value": {"StringValue.$": f"$.record.{name}"}} for name in INSERT_IMAGE_PARAMETERS]

    def flow(database, profile, key):
        task = database.execute_statement_task("Catalog", INSERT_IMAGE_SQL, parameters)
        Workflow("flow", WorkflowArgs(profile, Definition(start_at="Catalog", states=[task]), key))

    state = json.loads(declare(then=flow).one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    assert state["States"]["Catalog"]["Parameters"]["Sql"] == INSERT_IMAGE_SQL


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
    def task(database, profile, key):
        database.execute_statement_task("Bad", sql, parameters)

    with pytest.raises(SynthesisError, match=message):
        declare(then=task)


def test_named_parameters_skip_casts_and_string_literals():
    sql = "SELECT CAST(:a AS jsonb), '{}'::jsonb, ':not_a_parameter', :b, :a"
    assert named_parameters(sql) == ["a", "b"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subnet_ids": ["subnet-a"]}, "at least two Availability Zones"),
        ({"database_name": "postgres"}, "database_name 'postgres' is not allowed"),
        ({"database_name": "Image-Catalog"}, "database_name 'Image-Catalog' is not allowed"),
    ],
)
def test_args_are_checked_before_anything_is_declared(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ServerlessDatabaseArgs(**({"profile": DEV, "subnet_ids": SUBNETS, "vpc_id": "vpc-main"} | kwargs))


def test_a_name_rds_would_refuse_fails_before_the_cluster_is_declared():
    def build():
        ServerlessDatabase("image_catalog", ServerlessDatabaseArgs(DEV, SUBNETS, "vpc-main"))

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
