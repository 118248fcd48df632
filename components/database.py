"""An Aurora PostgreSQL Serverless v2 cluster that its callers reach through the RDS Data API.

The Data API is an HTTPS endpoint in front of the cluster: Lambdas and Step Functions run SQL with IAM permissions
and the cluster's managed secret, so none of them needs a VPC, a NAT gateway or a connection pool. The cluster's
security group therefore starts with no ingress at all; `allow_from` opens PostgreSQL to one named security group
(a Fargate task, a bastion) when something really has to connect.

What the profile decides, and how a dev-like and a production-like profile set it:

    what                                      decided by                     dev-like           production-like
    capacity floor (0 ACU pauses when idle)   database.minCapacity           0, pauses          0.5, always warm
    automated backups                         database.backupRetentionDays   1 day              14 days
    storage, secret and log encryption        encryption                     AWS-managed keys   the stack's CMK
    deletion protection                       deletionProtection             off                on
    final snapshot, backups kept on delete    protect                        no                 yes
    Pulumi protect / retain_on_delete         protect / retainOnDelete       off                on
    recovery window of a login's secret       protect                        none (deleted)     30 days
    Performance Insights                      database.minCapacity >= 2      off                off

Always: encrypted, private, IAM database authentication, a master password that RDS generates and keeps in
Secrets Manager (no `master_password` anywhere in the program or state), a master user of the caller's naming
(`master_username`, never `postgres` or `admin`), TLS forced by
the parameter group, PostgreSQL logs exported to a log group of our own, tags copied to snapshots.

The master user is for the schema migration only. Everything else runs as a login role of its own
(`database_user`): a Secrets Manager secret that Pulumi creates empty (encrypted with the stack's key, recovery window
per the profile), which the migration function fills and whose password it gives the role, so that no password is
in the program or its state either. A workflow task runs as such a user, with `rds-data:ExecuteStatement` and that
one secret; the migration alone has the transactions and the master secret.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.base import ChildTransform, Component
from components.iam import Grantable, Statement
from components.logs import log_group
from components.monitoring import Comparison, EventAlertArgs, Watch, alarm, metric
from components.naming import NamingError, physical_name
from components.profile import RetrySettings, profile_from_args
from components.profile_args import ProfileArgs
from components.states import Catch, DefinitionError, IntegrationPattern, Task, retrier, service_resource

ENGINE = "aurora-postgresql"
ENGINE_VERSION = "16.6"
"""Pinned: scaling to 0 ACUs (auto-pause) needs Aurora PostgreSQL 16.3+, 15.7+, 14.12+ or 13.15+. AWS applies minor
upgrades itself (`auto_minor_version_upgrade`); bump this constant when it has, so that Pulumi does not try to go
back. A new major version also needs the parameter group family below, which follows from this constant."""
ENGINE_MAJOR_VERSION = int(ENGINE_VERSION.split(".")[0])
"""PostgreSQL's major version of the engine: what the parameter group family follows, and the major the local
cloud's embedded PostgreSQL must have (emulator/postgres.py refuses any other)."""
AUTO_PAUSE_MINIMUM_VERSIONS = {16: (16, 3), 15: (15, 7), 14: (14, 12), 13: (13, 15)}
"""The first minor version of each major that accepts a minimum capacity of 0 ACUs."""
PARAMETER_GROUP_FAMILY = f"aurora-postgresql{ENGINE_MAJOR_VERSION}"
INSTANCE_CLASS = "db.serverless"
POSTGRES_PORT = 5432
DEFAULT_DATABASE_NAME = "app"
DEFAULT_MASTER_USERNAME = "app_owner"
"""Not `postgres` or `admin` (RDS.24). Nobody logs in with it: the Data API reads it from the managed secret."""
WELL_KNOWN_MASTER_USERNAMES = frozenset({"postgres", "admin"})
"""The master usernames RDS.24 flags: the first ones an attacker tries."""
RESERVED_DATABASE_NAMES = frozenset({"postgres", "template0", "template1", "rdsadmin"})
LOG_EXPORTS = ("postgresql",)

CLUSTER_PARAMETERS = {
    "rds.force_ssl": "1",
    "log_min_duration_statement": "1000",
    "log_statement": "ddl",
    "log_lock_waits": "1",
}
"""TLS for every connection; log statements slower than a second, every schema change and lock waits over
deadlock_timeout. Not `log_statement = all`: the tables' rows would end up in CloudWatch Logs. All four are
dynamic parameters, applied immediately; a static one would need `apply_method="pending-reboot"`."""

RDS_METRICS = "AWS/RDS"
AT_MAXIMUM_MINUTES = 15
"""The capacity alarm fires when the cluster has held its maximum ACUs this long: queries are waiting for capacity."""
FAILURE_EVENTS = ("RDS DB Cluster Event", "RDS DB Instance Event")
PERFORMANCE_INSIGHTS_MIN_ACU = 2.0
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
"""Performance Insights is free at 7 days of retention, but AWS documents that it needs a Serverless v2 instance of
at least 2 ACUs: below that it would hold the instance at 2 ACUs (4x the cost of 0.5) and keep it from pausing. So it
is on only when the profile asks for it (`monitoring.performanceInsights`) and its minimum capacity already pays for
2 ACUs."""

STATEMENT_ACTIONS = ("rds-data:ExecuteStatement",)
"""One statement per call: all a workflow task does. BatchExecuteStatement is granted to nobody (nothing here runs
one), nor `rds-data:ExecuteSql` (Serverless v1 only)."""
TRANSACTION_ACTIONS = ("rds-data:BeginTransaction", "rds-data:CommitTransaction", "rds-data:RollbackTransaction")
"""For a caller that runs several statements as one (the schema migration)."""
SECRET_ACTIONS = ("secretsmanager:GetSecretValue",)
"""The Data API reads the credentials with the caller's permissions; DescribeSecret is not needed."""
SECRET_KEY_ACTIONS = ("kms:Decrypt",)
SECRET_WRITE_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
"""What fills a login's secret: read it, and store its first value when it has none."""
SECRET_KEY_WRITE_ACTIONS = ("kms:GenerateDataKey",)
"""Secrets Manager encrypts a new value with a data key generated on the caller's behalf (Decrypt, to read it back,
comes with SECRET_KEY_ACTIONS)."""
SECRET_RECOVERY_WINDOW_DAYS = 30
"""How long a deleted login secret can be restored, when the profile protects data; otherwise it is deleted at once
(0), so that a disposable stack can be recreated with the same secret name."""
USERNAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
MASTER_USERNAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
"""RDS wants the master username to start with a letter."""
RESERVED_USERNAME = re.compile(r"(pg_|rds).*|postgres|public|none|current_user|session_user|current_role")

DATA_API_RESUMING_ERRORS = ("RdsData.DatabaseResumingException",)
"""A paused (0 ACU) cluster cancels the request with this while it wakes, which takes about 15 seconds (30 after a
day's pause): the task retries it on a schedule of its own, whatever the profile's retry policy says."""
DATA_API_TRANSIENT_ERRORS = ("RdsData.StatementTimeoutException", "RdsData.InternalServerErrorException",
                             "RdsData.ServiceUnavailableErrorException",
                             "RdsData.DatabaseUnavailableException", "States.Timeout")  # fmt: skip
"""Error shapes of botocore's rds-data model as Step Functions' SDK integration reports them: `RdsData.` in front and
`Exception` appended when the shape's name lacks it (the model's `ServiceUnavailableError` is reported as
`RdsData.ServiceUnavailableErrorException`: https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html;
checked by tests/program/test_error_names.py). The model has no throttling exception. Statements given to a task must
be safe to repeat (e.g. INSERT ... ON CONFLICT): a statement that timed out may still have run."""
RESUME_RETRY = RetrySettings(max_attempts=6, interval_seconds=5, backoff_rate=1.5, max_delay_seconds=15, jitter=False)
"""Waits of 5, 7.5, 11.25, then 15 seconds: about 70 s in all, where a resume takes about 15 s (30 s after a long
pause). No jitter, so that the total stays long enough. Only a cluster that can pause (0 ACU minimum) gets it, and it
counts in an Express workflow's five-minute budget (components/budget.py)."""
STATEMENT_TIMEOUT_SECONDS = 5
"""A task's limit for one ExecuteStatement: a statement run through a workflow task is meant to touch a row or a
few (anything longer belongs in a function), and a paused cluster answers DatabaseResumingException at once."""

IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
INSTANCE_SUFFIX = "-reader-15"
"""The longest instance-name suffix (`-writer`, `-reader-1` … `-reader-15`): cluster names leave room for it."""
DATABASE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
SINGLE_QUOTED = re.compile(r"'(?:[^']|'')*'")
NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class ServerlessDatabaseArgs(TypedDict):
    """Arguments of a ServerlessDatabase. Capacity, backups and protection come from the profile's `database`
    section and its protection switches."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    subnet_ids: list[pulumi.Input[str]]
    """Private subnets in at least two Availability Zones (a DB subnet group requires two): a Network's
    `database_subnet_ids`."""
    vpc_id: pulumi.Input[str]
    """The VPC of the subnets, for the cluster's security group."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed KMS key for the storage, the master user secret, the login secrets, Performance Insights and
    the log group. Default: none, AWS-managed keys."""
    database_name: NotRequired[str]
    """The database created in the cluster, and the one the Data API statements run in (1-63 lowercase letters,
    digits and underscores). Changing it replaces the cluster, and its data with it. Default: "app"
    (`DEFAULT_DATABASE_NAME`)."""
    master_username: NotRequired[str]
    """The master user, for schema migrations only (never `postgres` or `admin`). Changing it replaces the cluster,
    and its data with it. Default: "app_owner" (`DEFAULT_MASTER_USERNAME`)."""


@dataclass(frozen=True)
class DatabaseUser:
    """A login role of the database and the Secrets Manager secret the Data API signs in with.

    The component declares the secret, empty; the role and its privileges come from the schema's migrations, and the
    migration function stores the password in the secret and gives it to the role."""

    name: str
    """The logical name given to `database_user`, e.g. `writer`."""
    username: str
    """The PostgreSQL role, e.g. `app_writer`."""
    secret: aws.secretsmanager.Secret
    secret_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Input[str] | None
    """The key the secret is encrypted with; None is Secrets Manager's AWS-managed key."""


@dataclass(frozen=True)
class DataApiTask(Task):
    """A Task whose first retrier waits for a paused cluster to resume; the profile's retrier follows it."""

    can_pause: bool = True

    def to_asl(self, retry: RetrySettings) -> dict[str, Any]:
        asl = super().to_asl(retry)
        if self.can_pause:
            asl["Retry"] = [retrier(DATA_API_RESUMING_ERRORS, RESUME_RETRY), *asl.get("Retry", [])]
        return asl


class ServerlessDatabase(Component):
    """An encrypted, private Aurora PostgreSQL Serverless v2 cluster (a writer, and readers per the profile) that
    callers reach through the RDS Data API, with IAM and Secrets Manager instead of passwords in the program: its
    security group starts closed, TLS is forced, and the master password is generated and kept by RDS."""

    cluster_arn: pulumi.Output[str]
    """The cluster: the Data API's `resourceArn`."""
    secret_arn: pulumi.Output[str]
    """The master user secret RDS manages (and rotates); the Data API authenticates with it."""
    endpoint: pulumi.Output[str]
    """The writer's endpoint, for a client that connects (from a security group let in by `allow_from`)."""
    port: pulumi.Output[int]
    """PostgreSQL's port."""
    database_name: str
    """The database the cluster holds: the Data API's `database`."""
    security_group_id: pulumi.Output[str]
    """The cluster's security group, without ingress: add an ingress rule from another security group to connect."""

    def __init__(
        self,
        name: str,
        args: ServerlessDatabaseArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        profile = profile_from_args(args["profile"])
        _check(args)
        super().__init__(name, opts, transform)
        self._args = args
        self._profile = profile
        self._kms_key_arn = args.get("kms_key_arn")
        self._master_username = args.get("master_username", DEFAULT_MASTER_USERNAME)
        self.database_name = args.get("database_name", DEFAULT_DATABASE_NAME)
        self._ingress: dict[str, aws.vpc.SecurityGroupIngressRule] = {}
        self._users: dict[str, DatabaseUser] = {}
        self.identifier = cluster_identifier(name)
        self.log_group = self._create_log_group(name)
        self.subnet_group = self._create_subnet_group(name)
        self.security_group = self._create_security_group(name)
        self.parameter_group = self._create_parameter_group(name)
        self.cluster = self._create_cluster(name)
        self.instance = self._create_instance(name, "writer", promotion_tier=0)
        # Readers in promotion tier 1 scale with the writer, so a failover lands on a warm instance (RDS spreads
        # a cluster's instances over the subnet group's zones).
        self.readers = [
            self._create_instance(name, f"reader-{index}", promotion_tier=1)
            for index in range(1, profile.database.readers + 1)
        ]
        self.cluster_arn = self.cluster.arn
        self.secret_arn = self.cluster.master_user_secrets.apply(_first_secret_arn)
        self.endpoint = self.cluster.endpoint
        self.port = self.cluster.port
        self.security_group_id = self.security_group.id
        self.finish(
            {
                "cluster_arn": self.cluster_arn,
                "secret_arn": self.secret_arn,
                "endpoint": self.endpoint,
                "port": self.port,
                "database_name": self.database_name,
                "security_group_id": self.security_group_id,
            }
        )

    def watch(self) -> Watch:
        """Capacity held at its maximum, and RDS's failure events of the cluster and its instances (a failed
        resume, a failover, storage or hardware trouble): connection errors surface in the callers' own alarms
        (a workflow's Data API task fails, its execution fails)."""
        maximum = self._profile.database.max_capacity
        capacity = alarm(
            "capacity-at-maximum", f"The cluster has run at its maximum of {maximum:g} ACUs for "
            f"{AT_MAXIMUM_MINUTES} minutes: queries wait for capacity; raise database.maxCapacity.",
            metric(RDS_METRICS, "ServerlessDatabaseCapacity", {"DBClusterIdentifier": self.cluster.cluster_identifier},
                   "Minimum"),
            maximum, Comparison.GREATER_OR_EQUAL, 300, AT_MAXIMUM_MINUTES // 5,
        )  # fmt: skip
        instances = [self.instance, *self.readers]
        failures = EventAlertArgs(
            name="failure-events",
            meaning="RDS reported a failure of the cluster or one of its instances (RDS's `failure` category).",
            event_pattern=pulumi.Output.all(*(instance.identifier for instance in instances)).apply(
                lambda identifiers: _failure_pattern([self.identifier, *identifiers])
            ),
        )
        return Watch(
            title=f"Database {self.logical_name}",
            alarms=[capacity],
            events=[failures],
            log_groups=[self.log_group.name],
            backups=[self.cluster_arn],
        )

    def allow_from(self, name: str, security_group_id: pulumi.Input[str]) -> aws.vpc.SecurityGroupIngressRule:
        """Let members of one security group connect to PostgreSQL; nothing else is ever opened."""
        if name in self._ingress:
            raise ValueError(f"allow_from({name!r}) was already called on {self.logical_name!r}; use another name")
        self._ingress[name] = aws.vpc.SecurityGroupIngressRule(
            f"{self.logical_name}-ingress-{name}",
            security_group_id=self.security_group.id,
            referenced_security_group_id=security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description=f"PostgreSQL from {name}",
            opts=self.child(),
        )
        return self._ingress[name]

    def database_user(self, name: str, username: str) -> DatabaseUser:
        """Declare the secret of login role `username`, which the schema's migrations create; callers then run SQL
        as that role (`execute_statement_task(..., user=...)`, `grant_data_api(grantee, user)`)."""
        master = self._master_username
        if not USERNAME.fullmatch(username) or RESERVED_USERNAME.fullmatch(username) or username == master:
            raise ValueError(
                f"username {username!r} is not allowed; use 1-63 lowercase letters, digits and underscores, not "
                f"starting with a digit, other than {master!r}, 'postgres' and names starting 'pg_' or 'rds'"
            )
        if name in self._users or username in {user.username for user in self._users.values()}:
            raise ValueError(f"database_user({name!r}, {username!r}) repeats a user of {self.logical_name!r}")
        profile, key_arn = self._profile, self._kms_key_arn
        secret = aws.secretsmanager.Secret(
            f"{self.logical_name}-{name}-secret",
            name=physical_name(f"{self.logical_name}-{name}", "secret"),
            description=(
                f"Login of PostgreSQL role {username} in the {self.logical_name} Aurora cluster, for the Data API. "
                "Filled by the schema migration function, never by Pulumi."
            ),
            kms_key_id=key_arn,
            recovery_window_in_days=SECRET_RECOVERY_WINDOW_DAYS if profile.protect else 0,
            # Stateful like the cluster: the role's password lives here, and only the migration can make a new one.
            opts=profile.stateful(self),
        )
        self._users[name] = DatabaseUser(name, username, secret, secret.arn, key_arn)
        return self._users[name]

    def _data_api_statements(self, user: DatabaseUser | None = None, *, transactions: bool = False) -> list[Statement]:
        """What a Data API caller needs: ExecuteStatement on the cluster (and the transaction actions if asked), the
        secret it signs in with (the user's; the master user's when `user` is None) and that secret's key."""
        secret_arn = self._checked(user).secret_arn if user else self.secret_arn
        actions = (*STATEMENT_ACTIONS, *(TRANSACTION_ACTIONS if transactions else ()))
        statements = [
            Statement(actions=actions, resources=[self.cluster_arn], sid="DataApi"),
            Statement(actions=SECRET_ACTIONS, resources=[secret_arn], sid="ReadDatabaseSecret"),
        ]
        if self._kms_key_arn is not None:
            statements.append(
                Statement(actions=SECRET_KEY_ACTIONS, resources=[self._kms_key_arn], sid="DecryptDatabaseSecret")
            )
        return statements

    def grant_data_api(
        self, grantee: Grantable, user: DatabaseUser | None = None, *, transactions: bool = False
    ) -> aws.iam.RolePolicy | None:
        """Run SQL in this cluster through the Data API, as `user` (the master user when None)."""
        grant = f"data-api-{self.logical_name}" + (f"-{user.name}" if user else "")
        return grantee.add_to_role_policy(grant, self._data_api_statements(user, transactions=transactions))

    def grant_migrate(self, grantee: Grantable, users: Sequence[DatabaseUser]) -> aws.iam.RolePolicy | None:
        """What the schema migration does: statements and transactions as the master user, and the login secrets of
        `users` read and filled (their first value stored, encrypted with the stack's key when there is one)."""
        statements = self._data_api_statements(transactions=True)
        if users:
            secrets = [self._checked(user).secret_arn for user in users]
            statements.append(Statement(actions=SECRET_WRITE_ACTIONS, resources=secrets, sid="FillLoginSecrets"))
            if self._kms_key_arn is not None:
                statements.append(Statement(SECRET_KEY_WRITE_ACTIONS, [self._kms_key_arn], sid="EncryptLoginSecrets"))
        return grantee.add_to_role_policy(f"migrate-{self.logical_name}", statements)

    def execute_statement_task(
        self,
        name: str,
        sql: str,
        parameters: Sequence[Mapping[str, Any]],
        *,
        user: DatabaseUser,
        next: str | None = None,
        catch: Sequence[Catch] = (),
        result_path: str | None = None,
        comment: str = "",
    ) -> DataApiTask:
        """One SQL statement through the Data API's Step Functions SDK integration (no Lambda in between), run as
        `user` (a `database_user` of this cluster: a task never signs in as the master user).

        `parameters` is the Data API's SqlParameter list in Step Functions' PascalCase, one per `:name` in `sql`,
        e.g. `{"Name": "object_key", "Value": {"StringValue.$": "$.validation.objectKey"}}`. The result is
        discarded by default (`result_path=None` keeps the state as it was). The workflow's role gets
        ExecuteStatement on the cluster and the user's secret (and its key), nothing else.
        """
        _check_statement(name, sql, parameters)
        if not isinstance(user, DatabaseUser) or self._users.get(user.name) is not user:
            raise DefinitionError(
                f"state {name!r}: user must be a DatabaseUser that database_user declared on {self.logical_name!r}"
            )
        task_parameters: dict[str, Any] = {
            "ResourceArn": self.cluster_arn,
            "SecretArn": user.secret_arn,
            "Database": self.database_name,
            "Sql": sql,
        }
        if parameters:
            task_parameters["Parameters"] = [dict(parameter) for parameter in parameters]
        return DataApiTask(
            name=name,
            resource=service_resource("aws-sdk:rdsdata", "executeStatement", IntegrationPattern.REQUEST_RESPONSE),
            parameters=task_parameters,
            statements=self._data_api_statements(user),
            transient_errors=DATA_API_TRANSIENT_ERRORS,
            timeout_seconds=STATEMENT_TIMEOUT_SECONDS,
            next=next,
            catch=catch,
            result_path=result_path,
            comment=comment,
            can_pause=self._profile.database.min_capacity == 0,
        )

    def _checked(self, user: DatabaseUser) -> DatabaseUser:
        if self._users.get(user.name) is not user:
            raise ValueError(f"{user.name!r} is not a database_user of {self.logical_name!r}")
        return user

    def _create_log_group(self, name: str) -> aws.cloudwatch.LogGroup:
        # RDS writes to exactly this name; ours exists first, with retention (and the CMK), or RDS makes its own.
        group_name = f"/aws/rds/cluster/{self.identifier}/postgresql"
        return log_group(f"{name}-logs", group_name, self._profile, self._kms_key_arn, self)

    def _create_subnet_group(self, name: str) -> aws.rds.SubnetGroup:
        return aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=self.identifier,
            description=f"Private subnets of the {name} Aurora cluster",
            subnet_ids=list(self._args["subnet_ids"]),
            opts=self.child(),
        )

    def _create_security_group(self, name: str) -> aws.ec2.SecurityGroup:
        # No inline rules at all: AWS's default allow-all egress is removed, and ingress comes only from allow_from.
        return aws.ec2.SecurityGroup(
            f"{name}-security-group",
            name=self.identifier,
            description=f"{name} Aurora cluster: no ingress except from security groups named by allow_from",
            vpc_id=self._args["vpc_id"],
            opts=self.child(),
        )

    def _create_parameter_group(self, name: str) -> aws.rds.ClusterParameterGroup:
        return aws.rds.ClusterParameterGroup(
            f"{name}-parameters",
            # The family is in the name, so a major upgrade creates the new group before deleting the old one.
            name=f"{self.identifier}-{PARAMETER_GROUP_FAMILY}",
            family=PARAMETER_GROUP_FAMILY,
            description=f"{name}: TLS only, slow statements and schema changes logged",
            parameters=[
                {"name": key, "value": value, "apply_method": "immediate"}
                for key, value in sorted(CLUSTER_PARAMETERS.items())
            ],
            opts=self.child(),
        )

    def _create_cluster(self, name: str) -> aws.rds.Cluster:
        profile, key_arn = self._profile, self._kms_key_arn
        settings = profile.database
        scaling: dict[str, Any] = {"min_capacity": settings.min_capacity, "max_capacity": settings.max_capacity}
        if settings.min_capacity == 0:
            scaling["seconds_until_auto_pause"] = settings.auto_pause_seconds
        skip_final_snapshot = not profile.protect
        return aws.rds.Cluster(
            f"{name}-cluster",
            cluster_identifier=self.identifier,
            engine=ENGINE,
            engine_mode="provisioned",
            engine_version=ENGINE_VERSION,
            serverlessv2_scaling_configuration=scaling,
            database_name=self.database_name,
            port=POSTGRES_PORT,
            master_username=self._master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key_arn,
            iam_database_authentication_enabled=True,
            enable_http_endpoint=True,
            storage_encrypted=True,
            kms_key_id=key_arn,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            db_cluster_parameter_group_name=self.parameter_group.name,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            copy_tags_to_snapshot=True,
            backup_retention_period=settings.backup_retention_days,
            deletion_protection=profile.deletion_protection,
            skip_final_snapshot=skip_final_snapshot,
            final_snapshot_identifier=None if skip_final_snapshot else f"{self.identifier}-final",
            delete_automated_backups=not profile.protect,
            opts=pulumi.ResourceOptions.merge(
                profile.stateful(self), pulumi.ResourceOptions(depends_on=[self.log_group])
            ),
        )

    def _create_instance(self, name: str, role: str, promotion_tier: int) -> aws.rds.ClusterInstance:
        profile, key_arn = self._profile, self._kms_key_arn
        insights = profile.monitoring.performance_insights and (
            profile.database.min_capacity >= PERFORMANCE_INSIGHTS_MIN_ACU
        )
        # Stateful like the cluster: a retained cluster without its writer could not be read.
        return aws.rds.ClusterInstance(
            f"{name}-{role}",
            identifier=f"{self.identifier}-{role}",
            promotion_tier=promotion_tier,
            cluster_identifier=self.cluster.id,
            instance_class=INSTANCE_CLASS,
            engine=ENGINE,
            engine_version=ENGINE_VERSION,
            db_subnet_group_name=self.subnet_group.name,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            performance_insights_enabled=insights,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS if insights else None,
            performance_insights_kms_key_id=key_arn if insights else None,
            opts=profile.stateful(self),
        )


def _failure_pattern(sources: Sequence[str]) -> str:
    detail = {"SourceIdentifier": list(sources), "EventCategories": ["failure"]}
    return json.dumps({"source": ["aws.rds"], "detail-type": list(FAILURE_EVENTS), "detail": detail}, sort_keys=True)


def _check(args: ServerlessDatabaseArgs) -> None:
    """Refuse, before anything is declared, what RDS would refuse at deployment or RDS.24 would flag."""
    subnet_ids = args["subnet_ids"]
    if len(subnet_ids) < 2:
        raise ValueError(
            f"subnet_ids has {len(subnet_ids)} subnet(s); a DB subnet group needs private subnets in at "
            "least two Availability Zones: pass one private subnet per zone"
        )
    database_name = args.get("database_name", DEFAULT_DATABASE_NAME)
    if not DATABASE_NAME.fullmatch(database_name) or database_name in RESERVED_DATABASE_NAMES:
        raise ValueError(
            f"database_name {database_name!r} is not allowed; use 1-63 lowercase letters, digits and "
            f"underscores, starting with a letter, other than {', '.join(sorted(RESERVED_DATABASE_NAMES))}"
        )
    master = args.get("master_username", DEFAULT_MASTER_USERNAME)
    if (
        not MASTER_USERNAME.fullmatch(master)
        or RESERVED_USERNAME.fullmatch(master)
        or master in WELL_KNOWN_MASTER_USERNAMES
    ):
        raise ValueError(
            f"master_username {master!r} is not allowed; use 1-63 lowercase letters, digits and underscores, "
            f"starting with a letter, other than {', '.join(sorted(WELL_KNOWN_MASTER_USERNAMES))} and names starting "
            "'pg_' or 'rds'"
        )


def cluster_identifier(name: str) -> str:
    """The stack-scoped name in lowercase, within RDS's identifier rules; the writer instance, the subnet, security
    and parameter groups and the final snapshot are named after it."""
    identifier = physical_name(name, "db-cluster", reserve=len(INSTANCE_SUFFIX)).lower()
    if not IDENTIFIER.fullmatch(identifier):
        raise NamingError(
            f"Aurora cluster identifier {identifier!r} is not allowed; RDS wants letters, digits and single hyphens, "
            "starting with a letter. Rename the project, stack or component."
        )
    return identifier


def named_parameters(sql: str) -> list[str]:
    """The Data API's `:name` placeholders in order of first use, ignoring string literals and `::` casts."""
    found = NAMED_PARAMETER.findall(SINGLE_QUOTED.sub("''", sql))
    return list(dict.fromkeys(found))


def _check_statement(state: str, sql: str, parameters: Sequence[Mapping[str, Any]]) -> None:
    """Refuse at definition time what the Data API would refuse at run time, saying what to change."""
    if ";" in SINGLE_QUOTED.sub("''", sql).rstrip().rstrip(";"):
        raise DefinitionError(f"state {state!r}: the Data API runs one SQL statement per call; split the SQL")
    malformed = [p for p in parameters if set(p) - {"Name", "Value", "TypeHint"} or not {"Name", "Value"} <= set(p)]
    if malformed:
        raise DefinitionError(
            f"state {state!r}: parameters {malformed} are not SqlParameters; Step Functions' SDK integration wants "
            'PascalCase: {"Name": ..., "Value": {"StringValue": ...}} (optionally "TypeHint")'
        )
    given = [str(p["Name"]) for p in parameters]
    expected = named_parameters(sql)
    if sorted(given) != sorted(expected):
        missing = sorted(set(expected) - set(given))
        unexpected = sorted(set(given) - set(expected))
        duplicated = sorted({n for n in given if given.count(n) > 1})
        raise DefinitionError(
            f"state {state!r}: the SQL names parameters {expected} but the task sends {given} "
            f"(missing {missing}, not in the SQL {unexpected}, duplicated {duplicated}); send exactly one per name"
        )


def _first_secret_arn(secrets: Sequence[Any]) -> str:
    if not secrets:
        raise ValueError("the cluster reports no master user secret; manage_master_user_password must be on")
    return secrets[0].secret_arn
