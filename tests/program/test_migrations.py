"""The catalog's migration function, as every stack declares it: what it may do, what it is told, when it runs."""

import json

import pytest

from app.migrations import schema_digest
from app.settings import load_settings
from components.profile import EnvironmentProfile, load_profile
from handlers.catalog.schema import CATALOG_WRITER, LOGIN_ROLES, login_secret_variable
from synth.program import Synthesis, stack_config
from tests.helpers import statements

FUNCTION = "aws:lambda/function:Function"
POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET = "aws:secretsmanager/secret:Secret"


def profile_of(program: Synthesis) -> EnvironmentProfile:
    return load_profile(stack_config(program.stack))


@pytest.fixture
def catalog(program: Synthesis) -> Synthesis:
    if not load_settings(stack_config(program.stack)).catalog:
        pytest.skip("this stack keeps no catalog")
    return program


def master_secret(program: Synthesis) -> str:
    return program.one("aws:rds/cluster:Cluster").outputs["masterUserSecrets"][0]["secretArn"]


def writer_secret(program: Synthesis) -> str:
    return program.one(SECRET, "catalog-writer-secret").outputs["arn"]


def test_the_one_shot_migration_takes_no_reserved_concurrency(catalog):
    migrate = catalog.one(FUNCTION, "migrate-catalog-function")
    assert "reservedConcurrentExecutions" not in migrate.inputs, f"{migrate.urn}: idle, it would hold concurrency"
    reserved = profile_of(catalog).lambda_.reserved_concurrency
    process = catalog.one(FUNCTION, "process-function")
    if reserved is not None:
        assert process.inputs["reservedConcurrentExecutions"] == reserved, "the profile still applies elsewhere"


def test_the_migration_is_told_the_master_secret_and_each_logins_secret(catalog):
    variables = catalog.one(FUNCTION, "migrate-catalog-function").inputs["environment"]["variables"]
    assert variables["SECRET_ARN"] == master_secret(catalog)
    assert variables["CLUSTER_ARN"] == catalog.outputs["catalogClusterArn"]
    assert {login_secret_variable(role) for role in LOGIN_ROLES} <= set(variables)
    assert variables[login_secret_variable(CATALOG_WRITER)] == writer_secret(catalog)


def test_the_migration_role_has_exactly_the_master_with_transactions_and_the_login_secrets(catalog):
    grants = {p.name for p in catalog.of_type(POLICY) if p.name.startswith("migrate-catalog-")}
    assert grants == {"migrate-catalog-logs-and-traces", "migrate-catalog-migrate-catalog"}
    policy = catalog.one(POLICY, "migrate-catalog-migrate-catalog")
    expected = [
        {"Sid": "DataApi", "Effect": "Allow", "Resource": [catalog.outputs["catalogClusterArn"]],
         "Action": ["rds-data:BeginTransaction", "rds-data:CommitTransaction", "rds-data:ExecuteStatement",
                    "rds-data:RollbackTransaction"]},
        {"Sid": "ReadDatabaseSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [master_secret(catalog)]},
    ]  # fmt: skip
    key = profile_of(catalog).customer_managed_keys and catalog.one("aws:kms/key:Key").outputs["arn"]
    if key:
        expected.append({"Sid": "DecryptDatabaseSecret", "Effect": "Allow", "Action": ["kms:Decrypt"],
                         "Resource": [key]})  # fmt: skip
    expected.append({"Sid": "FillLoginSecrets", "Effect": "Allow", "Resource": [writer_secret(catalog)],
                     "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]})  # fmt: skip
    if key:
        expected.append({"Sid": "EncryptLoginSecrets", "Effect": "Allow", "Action": ["kms:GenerateDataKey"],
                         "Resource": [key]})  # fmt: skip
    assert statements(policy) == expected, policy.urn


def test_only_the_migration_may_read_the_master_secret(catalog):
    readers = [p.name for p in catalog.of_type(POLICY) if master_secret(catalog) in p.inputs["policy"]]
    assert readers == ["migrate-catalog-migrate-catalog"]


def test_the_writer_secret_is_declared_empty_and_kept_like_the_cluster(catalog):
    secret = catalog.one(SECRET, "catalog-writer-secret")
    cluster = catalog.one("aws:rds/cluster:Cluster")
    assert (secret.protect, secret.retain_on_delete) == (cluster.protect, cluster.retain_on_delete), secret.urn
    assert not catalog.of_type("aws:secretsmanager/secretVersion:SecretVersion"), "no password in the program"
    profile = profile_of(catalog)
    assert secret.inputs["recoveryWindowInDays"] == (30 if profile.protect else 0), secret.urn
    if profile.customer_managed_keys:
        assert secret.inputs["kmsKeyId"] == catalog.one("aws:kms/key:Key").outputs["arn"], secret.urn


def test_the_migration_runs_again_when_the_migrations_or_a_login_secret_change(catalog):
    invocation = catalog.one("aws:lambda/invocation:Invocation", "migrate-catalog-now")
    assert json.loads(invocation.inputs["input"]) == {
        "migrations": schema_digest(),
        "logins": {CATALOG_WRITER: writer_secret(catalog)},
    }
    policy = catalog.one(POLICY, "migrate-catalog-migrate-catalog")
    assert policy.urn in invocation.dependencies, "it runs only once it may fill the secrets"


def test_every_state_machine_that_writes_the_catalog_changes_only_after_the_migration(catalog):
    """Its writer login exists and its secret is filled before a workflow that uses that secret is updated, so an
    upgrade that adds the login does not send uploads to a catalog that refuses them (`CatalogFailed`)."""
    migration = catalog.one("aws:lambda/invocation:Invocation", "migrate-catalog-now").urn
    writing = [machine for machine in catalog.of_type("aws:sfn/stateMachine:StateMachine")
               if writer_secret(catalog) in machine.inputs["definition"]]  # fmt: skip
    assert writing, "no workflow writes the catalog"
    assert [machine.name for machine in writing if migration not in machine.dependencies] == []
