"""DynamoDB and Aurora (baseline §4, §7): on-demand tables with point-in-time recovery; private, encrypted Aurora
clusters with IAM auth, a managed master password, exported logs and a non-default master user. Deletion protection,
PITR, week-long backups and a standby reader are what prod pays for and dev may skip."""

from collections.abc import Iterable

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from .base import COST, DISPOSABILITY, Finding, as_list, of_type, refers_to, resource_rule, stack_rule

TABLE = "aws:dynamodb/table:Table"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DB_INSTANCE = "aws:rds/instance:Instance"
DEFAULT_MASTER_USERS = frozenset({"postgres", "admin", "administrator", "root", "master", "sa", "awsuser", "rdsadmin"})
LOG_EXPORTS_BY_ENGINE = {"aurora-postgresql": "postgresql", "aurora-mysql": "audit", "postgres": "postgresql"}
MIN_BACKUP_DAYS = 7


def _check_on_demand(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("billingMode") != "PAY_PER_REQUEST":
        yield "table uses provisioned capacity: it bills while idle and throttles bursts; use PAY_PER_REQUEST"


def _check_pitr(args: ResourceValidationArgs) -> Iterable[str]:
    if (args.props.get("pointInTimeRecovery") or {}).get("enabled") is not True:
        yield "point-in-time recovery is off"


def _check_table_deletion_protection(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("deletionProtectionEnabled") is not True:
        yield "deletion protection is off"


def _check_storage_encrypted(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("storageEncrypted") is not True:
        yield "cluster storage is not encrypted"


def _check_not_public(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("publiclyAccessible") is True:
        yield "database instance is publicly accessible"


def _check_iam_auth(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("iamDatabaseAuthenticationEnabled") is not True:
        yield "IAM database authentication is off"


def _check_managed_password(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("masterPassword"):
        yield "the master password is in the program (and the state); let RDS manage it in Secrets Manager"
    elif args.props.get("manageMasterUserPassword") is not True and not args.props.get("snapshotIdentifier"):
        yield "manage_master_user_password is off"


def _check_log_exports(args: ResourceValidationArgs) -> Iterable[str]:
    expected = LOG_EXPORTS_BY_ENGINE.get(str(args.props.get("engine")))
    exports = as_list(args.props.get("enabledCloudwatchLogsExports"))
    if expected and expected not in exports:
        yield f"the {expected!r} log is not exported to CloudWatch Logs"


def _check_master_user(args: ResourceValidationArgs) -> Iterable[str]:
    user = str(args.props.get("masterUsername") or "")
    if user.lower() in DEFAULT_MASTER_USERS:
        yield f"master user {user!r} is a default name attackers try first"


def _check_copy_tags(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("copyTagsToSnapshot") is not True:
        yield "tags are not copied to snapshots"


def _check_cluster_deletion_protection(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("deletionProtection") is not True:
        yield "deletion protection is off"
    if args.props.get("skipFinalSnapshot") is True:
        yield "no final snapshot is taken when the cluster is deleted"


def _check_backups(args: ResourceValidationArgs) -> Iterable[str]:
    days = args.props.get("backupRetentionPeriod") or 1
    if days < MIN_BACKUP_DAYS:
        yield f"automated backups are kept {days} day(s); keep at least {MIN_BACKUP_DAYS}"


def _check_multi_az(args: StackValidationArgs) -> Iterable[Finding]:
    instances = of_type(args, CLUSTER_INSTANCE)
    for cluster in of_type(args, CLUSTER):
        members = [i for i in instances if refers_to(i, "clusterIdentifier", cluster, "clusterIdentifier")]
        if len(members) < 2:
            yield (
                f"Aurora cluster {cluster.name!r} has {len(members)} instance(s): no reader in a second zone to fail "
                "over to",
                cluster.urn,
            )


POLICIES = [
    resource_rule(
        name="dynamodb-on-demand",
        description="DynamoDB tables bill per request",
        severity=Severity.LOW,
        remediation="Set billing_mode='PAY_PER_REQUEST' (components.table does).",
        types=[TABLE],
        check=_check_on_demand,
        controls=["DynamoDB.1"],
    ),
    resource_rule(
        name="dynamodb-point-in-time-recovery",
        description="DynamoDB tables have point-in-time recovery",
        severity=Severity.MEDIUM,
        remediation="Set the profile's `pointInTimeRecovery: true`.",
        types=[TABLE],
        check=_check_pitr,
        controls=["DynamoDB.2"],
        relaxable=COST,
    ),
    resource_rule(
        name="dynamodb-deletion-protection",
        description="DynamoDB tables have deletion protection",
        severity=Severity.MEDIUM,
        remediation="Set the profile's `deletionProtection: true`.",
        types=[TABLE],
        check=_check_table_deletion_protection,
        controls=["DynamoDB.6"],
        relaxable=DISPOSABILITY,
    ),
    resource_rule(
        name="rds-storage-encrypted",
        description="Aurora cluster storage is encrypted",
        severity=Severity.HIGH,
        remediation="Set storage_encrypted=True (with the stack's key in prod).",
        types=[CLUSTER],
        check=_check_storage_encrypted,
        controls=["RDS.27"],
    ),
    resource_rule(
        name="rds-not-public",
        description="No database instance is publicly accessible",
        severity=Severity.CRITICAL,
        remediation="Set publicly_accessible=False and place the cluster in private subnets.",
        types=[CLUSTER_INSTANCE, DB_INSTANCE],
        check=_check_not_public,
        controls=["RDS.2"],
    ),
    resource_rule(
        name="rds-iam-authentication",
        description="Aurora clusters accept IAM database authentication",
        severity=Severity.MEDIUM,
        remediation="Set iam_database_authentication_enabled=True.",
        types=[CLUSTER],
        check=_check_iam_auth,
        controls=["RDS.12"],
    ),
    resource_rule(
        name="rds-managed-master-password",
        description="The master password is generated and kept by RDS in Secrets Manager, never in the program",
        severity=Severity.HIGH,
        remediation="Set manage_master_user_password=True and remove master_password.",
        types=[CLUSTER],
        check=_check_managed_password,
        controls=["RDS managed secret"],
    ),
    resource_rule(
        name="rds-log-exports",
        description="Aurora clusters export their engine log to CloudWatch Logs",
        severity=Severity.MEDIUM,
        remediation="Set enabled_cloudwatch_logs_exports=['postgresql'] (and declare its log group with retention).",
        types=[CLUSTER],
        check=_check_log_exports,
        controls=["RDS.37"],
    ),
    resource_rule(
        name="rds-non-default-master-user",
        description="The master user is not a default name",
        severity=Severity.MEDIUM,
        remediation="Pick a master_username of the application's own (ServerlessDatabase defaults to app_owner).",
        types=[CLUSTER],
        check=_check_master_user,
        controls=["RDS.24"],
    ),
    resource_rule(
        name="rds-copy-tags-to-snapshots",
        description="Aurora clusters copy their tags to snapshots",
        severity=Severity.LOW,
        remediation="Set copy_tags_to_snapshot=True.",
        types=[CLUSTER],
        check=_check_copy_tags,
        controls=["RDS.16"],
    ),
    resource_rule(
        name="rds-deletion-protection",
        description="Aurora clusters have deletion protection and take a final snapshot",
        severity=Severity.MEDIUM,
        remediation="Set the profile's `deletionProtection: true` and `protect: true` (final snapshot).",
        types=[CLUSTER],
        check=_check_cluster_deletion_protection,
        controls=["RDS.7"],
        relaxable=DISPOSABILITY,
    ),
    resource_rule(
        name="rds-backup-retention",
        description=f"Aurora clusters keep automated backups for at least {MIN_BACKUP_DAYS} days",
        severity=Severity.MEDIUM,
        remediation=f"Set the profile's `database.backupRetentionDays` to {MIN_BACKUP_DAYS} or more.",
        types=[CLUSTER],
        check=_check_backups,
        controls=["RDS backups"],
        relaxable=COST,
    ),
    stack_rule(
        name="rds-multi-az",
        description="Every Aurora cluster has a writer and at least one reader to fail over to",
        severity=Severity.MEDIUM,
        remediation="Declare a second aws.rds.ClusterInstance (db.serverless, promotion_tier 1, so it scales with "
        "the writer) in another availability zone.",
        check=_check_multi_az,
        controls=["RDS.15"],
        relaxable=COST,
    ),
]
