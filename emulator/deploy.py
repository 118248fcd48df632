"""Deploy what the program declared into the emulator: one function per resource type, one table from type to
function, in the order the program declared the resources (which is an order their references allow).

Every name, ARN, id, definition and environment comes from the synthesized resource's inputs and outputs; the
deployment adds nothing of its own. A type the emulator has no use for (routes, endpoints, flow logs: no packet
flows in-process) is listed in `NOT_DEPLOYED` with the reason, so the report says what was left out and why, and
a type in neither table fails the deployment: a new resource type must be placed in one of them. A type the
emulator needs but moto has no API for (a backup selection) is checked as AWS would check it and kept in
`Deployment.recorded`, its note saying so.
"""

from __future__ import annotations

import importlib.machinery
import io
import json
import re
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends

from components.database import ENGINE_MAJOR_VERSION
from emulator import adaptations
from emulator.dataapi import DataApi
from emulator.postgres import EmbeddedPostgres, EngineVersionMismatch
from synth.program import RecordedResource, Synthesis

FUNCTION = "aws:lambda/function:Function"
DB_CLUSTER = "aws:rds/cluster:Cluster"
MASTER_PASSWORD_BYTES = 24
"""The master password RDS generates for a managed master user (here 32 URL-safe characters)."""


@dataclass(frozen=True)
class Deployed:
    type: str
    name: str
    physical_id: str
    note: str = ""


@dataclass
class Deployment:
    """What is running in the emulator, and the references the local cloud needs, all read from the program."""

    synthesis: Synthesis
    deployed: list[Deployed] = field(default_factory=list)
    skipped: list[Deployed] = field(default_factory=list)
    failed: list[Deployed] = field(default_factory=list)
    entrypoints: dict[str, str] = field(default_factory=dict)
    """Image reference -> entrypoint module (from the image's Dockerfile)."""
    code_roots: list[Path] = field(default_factory=list)
    """Where the code that runs in-process is imported from: the directories the caller gives for its functions'
    packages (a function's zip is built from them; the emulator cannot read it back), then each image's build
    context as its resource is deployed."""
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_api: DataApi | None = None
    """Serves each deployed cluster's database (started as the cluster deploys); without it a cluster has no SQL."""
    database_root: Path | None = None
    """Where each cluster's embedded PostgreSQL keeps its data directory (one folder per cluster)."""
    master_passwords: dict[str, str] = field(default_factory=dict, repr=False)
    """Cluster ARN -> its master user's password (the one RDS would generate for a managed master user)."""
    recorded: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Resources moto has no API for, kept by the emulator itself: URN -> the request AWS would have been sent."""

    def output(self, name: str) -> Any:
        """A stack output of the program, by its exported name."""
        return self.synthesis.outputs[name]


class CodeNotFound(LookupError):
    """A function's handler package is in none of the code roots the local cloud was given: nothing could run it.
    Raised before anything is deployed; the message names the functions and what to pass."""


class _Context:
    def __init__(self, session: boto3.Session, deployment: Deployment) -> None:
        self._session = session
        self._clients: dict[str, BaseClient] = {}
        self.deployment = deployment

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service)
        return self._clients[service]


Deployer = Callable[[_Context, RecordedResource], str]


def deploy(deployment: Deployment, session: boto3.Session) -> Deployment:
    """Create every resource of `deployment.synthesis` in the emulator; one that fails is recorded, not fatal.
    Raises CodeNotFound, before creating anything, when a function's package is in none of the code roots."""
    _check_code(deployment)
    _start_databases(deployment)
    context = _Context(session, deployment)
    for resource in deployment.synthesis.resources:
        if not resource.custom or resource.is_provider:
            continue
        entry = Deployed(resource.type, resource.name, resource.id)
        if resource.type in NOT_DEPLOYED:
            deployment.skipped.append(Deployed(resource.type, resource.name, resource.id, NOT_DEPLOYED[resource.type]))
            continue
        deployer = DEPLOYERS.get(resource.type)
        if deployer is None:
            raise LookupError(
                f"no deployer for {resource.type} ({resource.name}); add one to emulator/deploy.py's DEPLOYERS or a "
                "reason to NOT_DEPLOYED"
            )
        try:
            note = deployer(context, resource)
        except Exception as error:
            deployment.failed.append(Deployed(entry.type, entry.name, entry.physical_id, _describe(error)))
            continue
        deployment.deployed.append(Deployed(entry.type, entry.name, entry.physical_id, note))
    return deployment


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def _check_code(deployment: Deployment) -> None:
    """Every function's handler package must be importable from the code roots given, and from nothing else (not
    from whatever happens to be on `sys.path`), so that a missing root fails here, naming it, not as an execution
    failing later with an import error."""
    roots = [str(root) for root in deployment.code_roots]
    missing: dict[str, list[str]] = {}
    for function in deployment.synthesis.of_type(FUNCTION):
        package = str(function.inputs.get("handler", "")).split(".")[0]
        if not package or importlib.machinery.PathFinder.find_spec(package, roots) is None:
            missing.setdefault(package, []).append(f"{function.name} ({function.inputs.get('handler')})")
    if missing:
        searched = ", ".join(roots) or "none given"
        packages = "; ".join(f"package {package!r} of {', '.join(names)}" for package, names in missing.items())
        raise CodeNotFound(
            f"no code root holds {packages} (code roots: {searched}); pass the directory each function's package "
            "is built from, e.g. LocalCloud(..., code_roots=[CodeSource.root])"
        )


# Identity, logs, keys ---------------------------------------------------------------------------------------------


def _role(context: _Context, r: RecordedResource) -> str:
    context.client("iam").create_role(RoleName=r.inputs["name"], AssumeRolePolicyDocument=r.inputs["assumeRolePolicy"])
    return "moto does not evaluate IAM: the role exists so that services accept it"


def _role_policy_attachment(context: _Context, r: RecordedResource) -> str:
    context.client("iam").attach_role_policy(RoleName=r.inputs["role"], PolicyArn=r.inputs["policyArn"])
    return "evaluated with the role's other policies when the role calls AWS"


def _role_policy(context: _Context, r: RecordedResource) -> str:
    name = r.outputs.get("name") or r.id.split(":")[-1]
    context.client("iam").put_role_policy(RoleName=r.inputs["role"], PolicyName=name, PolicyDocument=r.inputs["policy"])
    return "stored, not enforced"


def _log_group(context: _Context, r: RecordedResource) -> str:
    logs = context.client("logs")
    logs.create_log_group(logGroupName=r.inputs["name"])
    if r.inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=r.inputs["name"], retentionInDays=r.inputs["retentionInDays"])
    return ""


# Storage ----------------------------------------------------------------------------------------------------------


def _bucket(context: _Context, r: RecordedResource) -> str:
    region = context.client("s3").meta.region_name
    context.client("s3").create_bucket(Bucket=r.id, CreateBucketConfiguration={"LocationConstraint": region})
    return ""


def _bucket_versioning(context: _Context, r: RecordedResource) -> str:
    status = r.inputs["versioningConfiguration"]["status"]
    context.client("s3").put_bucket_versioning(Bucket=r.inputs["bucket"], VersioningConfiguration={"Status": status})
    return status


def _bucket_notification(context: _Context, r: RecordedResource) -> str:
    configuration: dict[str, Any] = {}
    if r.inputs.get("eventbridge"):
        configuration["EventBridgeConfiguration"] = {}
    for kind in ("lambdaFunctions", "queues", "topics"):
        if r.inputs.get(kind):
            raise NotImplementedError(f"bucket notifications to {kind} are not deployed locally")
    context.client("s3").put_bucket_notification_configuration(
        Bucket=r.inputs["bucket"], NotificationConfiguration=configuration
    )
    return "EventBridge notifications on" if "EventBridgeConfiguration" in configuration else ""


def _bucket_policy(context: _Context, r: RecordedResource) -> str:
    context.client("s3").put_bucket_policy(Bucket=r.inputs["bucket"], Policy=r.inputs["policy"])
    return "stored, not enforced"


def _public_access_block(context: _Context, r: RecordedResource) -> str:
    flags = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    context.client("s3").put_public_access_block(
        Bucket=r.inputs["bucket"],
        PublicAccessBlockConfiguration={flag[0].upper() + flag[1:]: bool(r.inputs.get(flag)) for flag in flags},
    )
    return ""


def _ownership(context: _Context, r: RecordedResource) -> str:
    context.client("s3").put_bucket_ownership_controls(
        Bucket=r.inputs["bucket"],
        OwnershipControls={"Rules": [{"ObjectOwnership": r.inputs["rule"]["objectOwnership"]}]},
    )
    return ""


def _encryption(context: _Context, r: RecordedResource) -> str:
    rules = []
    for rule in r.inputs["rules"]:
        default = rule["applyServerSideEncryptionByDefault"]
        by_default = {"SSEAlgorithm": default["sseAlgorithm"]}
        if default.get("kmsMasterKeyId"):
            by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        rules.append(
            {"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled"))}
        )
    context.client("s3").put_bucket_encryption(
        Bucket=r.inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
    )
    return "stored; objects are not encrypted by the emulator"


def _lifecycle(context: _Context, r: RecordedResource) -> str:
    rules = [_pascal(rule, renames={"Id": "ID"}) for rule in r.inputs["rules"]]
    context.client("s3").put_bucket_lifecycle_configuration(
        Bucket=r.inputs["bucket"], LifecycleConfiguration={"Rules": rules}
    )
    return "stored; nothing expires during a run"


def _bucket_logging(context: _Context, r: RecordedResource) -> str:
    context.client("s3").put_bucket_logging(
        Bucket=r.inputs["bucket"],
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": r.inputs["targetBucket"], "TargetPrefix": r.inputs["targetPrefix"]}
        },
    )
    return "stored; moto writes no access logs"


def _table(context: _Context, r: RecordedResource) -> str:
    inputs = r.inputs
    request: dict[str, Any] = {
        "TableName": inputs["name"],
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ],
        "KeySchema": [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        + ([{"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"}] if inputs.get("rangeKey") else []),
        "BillingMode": inputs.get("billingMode", "PAY_PER_REQUEST"),
        "DeletionProtectionEnabled": bool(inputs.get("deletionProtectionEnabled")),
    }
    indexes = inputs.get("globalSecondaryIndexes") or []
    if indexes:
        request["GlobalSecondaryIndexes"] = [_index(index) for index in indexes]
    dynamodb = context.client("dynamodb")
    dynamodb.create_table(**request)
    ttl = inputs.get("ttl") or {}
    if ttl.get("enabled"):
        dynamodb.update_time_to_live(
            TableName=inputs["name"], TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
        )
    return "TTL stored; items do not expire during a run" if ttl.get("enabled") else ""


def _index(index: dict[str, Any]) -> dict[str, Any]:
    key = [{"AttributeName": index["hashKey"], "KeyType": "HASH"}]
    if index.get("rangeKey"):
        key.append({"AttributeName": index["rangeKey"], "KeyType": "RANGE"})
    projection: dict[str, Any] = {"ProjectionType": index.get("projectionType", "ALL")}
    if index.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = index["nonKeyAttributes"]
    return {"IndexName": index["name"], "KeySchema": key, "Projection": projection}


def _queue(context: _Context, r: RecordedResource) -> str:
    attributes = {"MessageRetentionPeriod": str(r.inputs.get("messageRetentionSeconds", 345600))}
    if r.inputs.get("kmsMasterKeyId"):
        attributes["KmsMasterKeyId"] = r.inputs["kmsMasterKeyId"]
    elif r.inputs.get("sqsManagedSseEnabled"):
        attributes["SqsManagedSseEnabled"] = "true"
    context.client("sqs").create_queue(QueueName=r.inputs["name"], Attributes=attributes)
    return ""


def _queue_policy(context: _Context, r: RecordedResource) -> str:
    context.client("sqs").set_queue_attributes(QueueUrl=r.inputs["queueUrl"], Attributes={"Policy": r.inputs["policy"]})
    return "stored, not enforced"


# Network: only what an ECS task and the database need to exist --------------------------------------------------


def _ec2(context: _Context) -> Any:
    """The EC2 client, after the first request of the region: it creates the default VPC and its subnets, whose
    ids must not take the ones given to the program's resources."""
    ec2 = context.client("ec2")
    ec2.describe_vpcs()
    return ec2


def _vpc(context: _Context, r: RecordedResource) -> str:
    ec2 = _ec2(context)
    with adaptations.given_id("vpc", r.id):
        ec2.create_vpc(CidrBlock=r.inputs["cidrBlock"])
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        if attribute in r.inputs:
            name = attribute[0].upper() + attribute[1:]
            ec2.modify_vpc_attribute(VpcId=r.id, **{name: {"Value": bool(r.inputs[attribute])}})
    return "address space only: no packet flows in-process"


def _subnet(context: _Context, r: RecordedResource) -> str:
    with adaptations.given_id("subnet", r.id):
        _ec2(context).create_subnet(
            VpcId=r.inputs["vpcId"], CidrBlock=r.inputs["cidrBlock"], AvailabilityZone=r.inputs["availabilityZone"]
        )
    return ""


def _security_group(context: _Context, r: RecordedResource) -> str:
    name = r.inputs.get("name") or r.inputs.get("tags", {}).get("Name") or r.name
    with adaptations.given_id("sg", r.id):
        _ec2(context).create_security_group(
            GroupName=name, Description=r.inputs.get("description", ""), VpcId=r.inputs["vpcId"]
        )
    return "rules are not deployed: nothing is filtered in-process"


# Compute ------------------------------------------------------------------------------------------------------------


def _function(context: _Context, r: RecordedResource) -> str:
    inputs = r.inputs
    context.client("lambda").create_function(
        FunctionName=inputs["name"],
        Runtime=inputs["runtime"],
        Role=inputs["role"],
        Handler=inputs["handler"],
        Code={"ZipFile": _placeholder_zip(inputs["handler"])},
        Description=inputs.get("description", ""),
        Timeout=int(inputs["timeout"]),
        MemorySize=int(inputs["memorySize"]),
        Architectures=inputs.get("architectures", ["x86_64"]),
        Environment={"Variables": dict((inputs.get("environment") or {}).get("variables", {}))},
        TracingConfig={"Mode": (inputs.get("tracingConfig") or {}).get("mode", "PassThrough")},
    )
    return f"{inputs['handler']} runs in-process from the source the package is built from"


def _placeholder_zip(handler: str) -> bytes:
    """moto wants a zip; the handler never runs from it (the built package holds arm64 / Python 3.13 wheels)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("LOCAL.txt", f"{handler} runs in-process from the package's source directory\n")
    return buffer.getvalue()


def _invocation(context: _Context, r: RecordedResource) -> str:
    response = context.client("lambda").invoke(FunctionName=r.inputs["functionName"], Payload=r.inputs["input"])
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise RuntimeError(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
    return f"invoked: {json.dumps(payload)}"


def _image(context: _Context, r: RecordedResource) -> str:
    """Not built (no Docker): its entrypoint module runs in-process, imported from the build context, which is
    taken to be laid out as the image's import root (what the Dockerfile copies keeps its relative paths)."""
    context_dir = Path(r.inputs["context"]["location"])
    entrypoint = _entrypoint_module(Path(r.inputs["dockerfile"]["location"]))
    if context_dir not in context.deployment.code_roots:
        context.deployment.code_roots.append(context_dir)
    context.deployment.entrypoints[r.outputs["ref"]] = entrypoint
    return f"not built; `python -m {entrypoint}` runs in-process from {context_dir.name}/"


_PYTHON = re.compile(r"(.*/)?python(\d+(\.\d+)?)?")
"""`python`, `python3`, `python3.13`, with or without a directory."""


def _entrypoint_module(dockerfile: Path) -> str:
    """The module of the final stage's `ENTRYPOINT ["python", "-m", "<module>"]` (or of its `CMD`, when it has no
    ENTRYPOINT): the only form the local runtime can run, as `<module>.main(argv, environ)`."""
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    stages = [index for index, line in enumerate(lines) if _instruction(line) == "FROM"]
    final = lines[stages[-1] if stages else 0 :]
    found = [line for line in final if _instruction(line) == "ENTRYPOINT"]
    found = found or [line for line in final if _instruction(line) == "CMD"]
    if not found:
        raise ValueError(f"{dockerfile}: no ENTRYPOINT or CMD; the local runtime runs `python -m <module>`")
    instruction, _, argument = found[-1].partition(" ")
    try:
        command = json.loads(argument)
    except ValueError:
        command = None
    if not (isinstance(command, list) and len(command) == 3 and _PYTHON.fullmatch(str(command[0]))
            and command[1] == "-m"):  # fmt: skip
        raise ValueError(
            f'{dockerfile}: {instruction} {argument.strip()} is not the exec form ["python", "-m", "<module>"], '
            "the only one the local runtime can run"
        )
    return str(command[2])


def _instruction(line: str) -> str:
    return line.split(maxsplit=1)[0].upper() if line and not line.startswith("#") else ""


def _repository(context: _Context, r: RecordedResource) -> str:
    scanning = r.inputs.get("imageScanningConfiguration") or {}
    context.client("ecr").create_repository(
        repositoryName=r.inputs["name"],
        imageTagMutability=r.inputs.get("imageTagMutability", "MUTABLE"),
        imageScanningConfiguration={"scanOnPush": bool(scanning.get("scanOnPush"))},
    )
    return "empty: the image is not built"


def _repository_lifecycle(context: _Context, r: RecordedResource) -> str:
    context.client("ecr").put_lifecycle_policy(
        repositoryName=r.inputs["repository"], lifecyclePolicyText=r.inputs["policy"]
    )
    return ""


def _cluster(context: _Context, r: RecordedResource) -> str:
    settings = [{"name": s["name"], "value": s["value"]} for s in r.inputs.get("settings") or []]
    context.client("ecs").create_cluster(clusterName=r.inputs["name"], settings=settings)
    return ""


def _task_definition(context: _Context, r: RecordedResource) -> str:
    inputs = r.inputs
    registered = context.client("ecs").register_task_definition(
        family=inputs["family"],
        containerDefinitions=json.loads(inputs["containerDefinitions"]),
        requiresCompatibilities=inputs.get("requiresCompatibilities", []),
        networkMode=inputs.get("networkMode", "awsvpc"),
        cpu=inputs["cpu"],
        memory=inputs["memory"],
        executionRoleArn=inputs["executionRoleArn"],
        taskRoleArn=inputs["taskRoleArn"],
        volumes=[{"name": volume["name"]} for volume in inputs.get("volumes") or []],
        runtimePlatform=dict(inputs.get("runtimePlatform") or {}),
        tags=[{"key": key, "value": value} for key, value in _tags(context, r).items()],
    )
    arn = registered["taskDefinition"]["taskDefinitionArn"]
    if arn != r.outputs["arn"]:
        raise RuntimeError(f"registered as {arn}, but the program refers to {r.outputs['arn']}")
    return ""


def _tags(context: _Context, r: RecordedResource) -> dict[str, str]:
    """The tags AWS would hold: the provider's default tags, then the resource's own (`tagsAll`)."""
    provider_urn = r.provider.rsplit("::", 1)[0]
    provider = next((p for p in context.deployment.synthesis.resources if p.urn == provider_urn), None)
    defaults = json.loads((provider.inputs.get("defaultTags") or "{}") if provider else "{}")
    return {**defaults.get("tags", {}), **(r.inputs.get("tags") or {})}


# Database ---------------------------------------------------------------------------------------------------------


def _db_subnet_group(context: _Context, r: RecordedResource) -> str:
    context.client("rds").create_db_subnet_group(
        DBSubnetGroupName=r.inputs["name"],
        DBSubnetGroupDescription=r.inputs.get("description", ""),
        SubnetIds=r.inputs["subnetIds"],
    )
    return ""


def _db_parameter_group(context: _Context, r: RecordedResource) -> str:
    rds = context.client("rds")
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=r.inputs["name"],
        DBParameterGroupFamily=r.inputs["family"],
        Description=r.inputs.get("description", ""),
    )
    return "stored; its parameters are not applied to the embedded PostgreSQL"


def _db_cluster(context: _Context, r: RecordedResource) -> str:
    inputs = r.inputs
    scaling = inputs.get("serverlessv2ScalingConfiguration") or {}
    context.client("rds").create_db_cluster(
        DBClusterIdentifier=inputs["clusterIdentifier"],
        Engine=inputs["engine"],
        EngineVersion=inputs["engineVersion"],
        EngineMode=inputs.get("engineMode", "provisioned"),
        DatabaseName=inputs["databaseName"],
        MasterUsername=inputs["masterUsername"],
        ManageMasterUserPassword=bool(inputs.get("manageMasterUserPassword")),
        Port=int(inputs.get("port", 5432)),
        DBSubnetGroupName=inputs["dbSubnetGroupName"],
        VpcSecurityGroupIds=inputs.get("vpcSecurityGroupIds", []),
        StorageEncrypted=bool(inputs.get("storageEncrypted")),
        EnableHttpEndpoint=bool(inputs.get("enableHttpEndpoint")),
        EnableIAMDatabaseAuthentication=bool(inputs.get("iamDatabaseAuthenticationEnabled")),
        BackupRetentionPeriod=int(inputs.get("backupRetentionPeriod", 1)),
        DeletionProtection=bool(inputs.get("deletionProtection")),
        CopyTagsToSnapshot=bool(inputs.get("copyTagsToSnapshot")),
        ServerlessV2ScalingConfiguration={"MinCapacity": float(scaling.get("minCapacity", 0.5)),
                                          "MaxCapacity": float(scaling.get("maxCapacity", 1))},
    )  # fmt: skip
    password = context.deployment.master_passwords.setdefault(r.outputs["arn"], _master_password(inputs))
    if inputs.get("manageMasterUserPassword"):
        _master_user_secret(context, r, password)
    if inputs.get("enableHttpEndpoint"):
        users = context.deployment.synthesis.of_type("aws:secretsmanager/secret:Secret")
        context.deployment.databases[r.outputs["arn"]] = {
            "secretArn": r.outputs["masterUserSecrets"][0]["secretArn"],
            "database": inputs["databaseName"],
            "userSecretArns": [user.outputs["arn"] for user in users if user.parent == r.parent],
        }
    return _embedded_database(context, r)


def _master_password(inputs: dict[str, Any]) -> str:
    """What RDS does: a password it generates for a managed master user (kept in the secret `_master_user_secret`
    creates), or the one the program gives."""
    if inputs.get("manageMasterUserPassword"):
        return secrets.token_urlsafe(MASTER_PASSWORD_BYTES)
    return str(inputs.get("masterPassword") or "")


def _master_user_secret(context: _Context, r: RecordedResource, password: str) -> None:
    """RDS keeps the master password it generates in a secret of its own (`rds!cluster-...`), holding the master
    username and password. moto makes one with a random name and fixed credentials (`admin`); the program refers to
    the one its ARN names: that one is created here, with the master user's name and a password generated as RDS
    does, and moto's cluster is pointed at it (DescribeDBClusters answers its ARN)."""
    arn = r.outputs["masterUserSecrets"][0]["secretArn"]
    name, _, suffix = arn.split(":secret:", 1)[1].rpartition("-")
    value = json.dumps({"username": r.inputs["masterUsername"], "password": password})
    secretsmanager = context.client("secretsmanager")
    secretsmanager.create_secret(
        Name=name, SecretString=value, Tags=[{"Key": "_custom_id_", "Value": suffix}],
        Description=f"The secret associated with the primary RDS DB cluster: {r.outputs['arn']}",
    )  # fmt: skip
    region, account = arn.split(":")[3], arn.split(":")[4]
    cluster = rds_backends[account][region].clusters[r.inputs["clusterIdentifier"]]
    managed = cluster.master_user_secret
    ours = secretsmanager_backends[account][region].secrets[arn]
    ours.kms_key_id = managed.secret.kms_key_id
    secretsmanager.delete_secret(SecretId=managed.secret.arn, ForceDeleteWithoutRecovery=True)
    managed.secret = ours


def _start_databases(deployment: Deployment) -> None:
    """Start the embedded PostgreSQL of every cluster the program declares, in the background, before deploying
    anything: starting one is mostly another process's work and disk I/O, which the deployment's own work then
    overlaps; the cluster's deployer waits for it."""
    if deployment.data_api is None or deployment.database_root is None:
        return
    for cluster in deployment.synthesis.of_type(DB_CLUSTER):
        if _database_refusal(cluster) is not None:
            continue
        inputs = cluster.inputs
        password = deployment.master_passwords.setdefault(cluster.outputs["arn"], _master_password(inputs))
        server = EmbeddedPostgres(deployment.database_root / inputs["clusterIdentifier"], major=ENGINE_MAJOR_VERSION)
        deployment.data_api.add_cluster(cluster.outputs["arn"], server,
                                        http_endpoint=bool(inputs.get("enableHttpEndpoint")))  # fmt: skip
        server.start_in_background(
            lambda started, inputs=inputs, password=password: started.create_database(
                inputs["databaseName"], owner=inputs["masterUsername"], password=password)
        )  # fmt: skip


def _database_refusal(r: RecordedResource) -> str | None:
    """Why the cluster gets no embedded PostgreSQL, or None."""
    if r.inputs["engine"] != "aurora-postgresql":
        return f"no SQL engine for {r.inputs['engine']} locally: only aurora-postgresql runs"
    declared = int(str(r.inputs["engineVersion"]).split(".")[0])
    if declared != ENGINE_MAJOR_VERSION:
        return (f"the cluster declares PostgreSQL {r.inputs['engineVersion']}, the local cloud runs the stack's "
                f"engine major {ENGINE_MAJOR_VERSION} (components.database.ENGINE_VERSION) only")  # fmt: skip
    return None


def _embedded_database(context: _Context, r: RecordedResource) -> str:
    """The cluster's database on its embedded PostgreSQL of the engine's major version (emulator/postgres.py, started
    by `_start_databases`), with its master user, served by the Data API (emulator/dataapi/) when the cluster has the
    HTTP endpoint on."""
    data_api, root = context.deployment.data_api, context.deployment.database_root
    if data_api is None or root is None:
        return "no SQL engine: the deployment was given no Data API (emulator.dataapi.DataApi) to serve it"
    refusal = _database_refusal(r)
    if refusal is not None and r.inputs["engine"] == "aurora-postgresql":
        raise EngineVersionMismatch(refusal)
    if refusal is not None:
        return refusal
    server = data_api.server(r.outputs["arn"])
    server.wait_started()
    served = "served by the Data API" if r.inputs.get("enableHttpEndpoint") else "no Data API (HTTP endpoint off)"
    return (f"database {r.inputs['databaseName']} on an embedded PostgreSQL {server.version} "
            f"({server.binaries.source}), {served}")  # fmt: skip


def _secret(context: _Context, r: RecordedResource) -> str:
    """Created empty, as the program declares it; the ARN's random suffix is the one the program was given (moto's
    `_custom_id_` tag), since policies and definitions name the secret by ARN."""
    suffix = r.outputs["arn"].rsplit("-", 1)[-1]
    context.client("secretsmanager").create_secret(
        Name=r.inputs["name"], Description=r.inputs.get("description", ""),
        Tags=[{"Key": "_custom_id_", "Value": suffix}],
    )  # fmt: skip
    return "no value until the migration function stores one"


def _db_instance(context: _Context, r: RecordedResource) -> str:
    context.client("rds").create_db_instance(
        DBInstanceIdentifier=r.inputs["identifier"],
        DBClusterIdentifier=r.inputs["clusterIdentifier"],
        DBInstanceClass=r.inputs["instanceClass"],
        Engine=r.inputs["engine"],
    )
    return ""


# Orchestration ----------------------------------------------------------------------------------------------------


def _state_machine(context: _Context, r: RecordedResource) -> str:
    inputs = r.inputs
    context.client("stepfunctions").create_state_machine(
        name=inputs["name"],
        definition=inputs["definition"],
        roleArn=inputs["roleArn"],
        type=inputs.get("type", "STANDARD"),
        tracingConfiguration={"enabled": bool((inputs.get("tracingConfiguration") or {}).get("enabled"))},
    )
    return "the exact definition the program produced; executed by moto's interpreter"


def _event_rule(context: _Context, r: RecordedResource) -> str:
    context.client("events").put_rule(
        Name=r.inputs["name"], EventPattern=r.inputs["eventPattern"], Description=r.inputs.get("description", "")
    )
    return ""


def _event_target(context: _Context, r: RecordedResource) -> str:
    inputs = r.inputs
    target: dict[str, Any] = {"Id": r.outputs.get("targetId") or r.name, "Arn": inputs["arn"]}
    if inputs.get("roleArn"):
        target["RoleArn"] = inputs["roleArn"]
    if inputs.get("deadLetterConfig"):
        target["DeadLetterConfig"] = {"Arn": inputs["deadLetterConfig"]["arn"]}
    if inputs.get("retryPolicy"):
        target["RetryPolicy"] = _pascal(inputs["retryPolicy"])
    context.client("events").put_targets(Rule=inputs["rule"], Targets=[target])
    return "retry policy stored; a failed delivery goes to the dead-letter queue at once"


# Operations: notifications, alarms, dashboards, backups -----------------------------------------------------------


def _topic(context: _Context, r: RecordedResource) -> str:
    attributes = {"KmsMasterKeyId": r.inputs["kmsMasterKeyId"]} if r.inputs.get("kmsMasterKeyId") else {}
    context.client("sns").create_topic(Name=r.inputs["name"], Attributes=attributes)
    return "delivers to its confirmed subscriptions; no mail or request leaves the process"


def _topic_policy(context: _Context, r: RecordedResource) -> str:
    context.client("sns").set_topic_attributes(
        TopicArn=r.inputs["arn"], AttributeName="Policy", AttributeValue=r.inputs["policy"]
    )
    return "evaluated when an EventBridge rule publishes (emulator/adaptations.py, eventbridge-targets)"


_SUBSCRIPTION_ATTRIBUTES = ("deliveryPolicy", "filterPolicy", "filterPolicyScope", "rawMessageDelivery",
                            "redrivePolicy", "subscriptionRoleArn")  # fmt: skip


def _topic_subscription(context: _Context, r: RecordedResource) -> str:
    attributes = {name[0].upper() + name[1:]: _attribute(r.inputs[name]) for name in _SUBSCRIPTION_ATTRIBUTES
                  if r.inputs.get(name) not in (None, "")}  # fmt: skip
    sns = context.client("sns")
    arn = sns.subscribe(TopicArn=r.inputs["topic"], Protocol=r.inputs["protocol"], Endpoint=r.inputs["endpoint"],
                        Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]  # fmt: skip
    if sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"].get("PendingConfirmation") == "true":
        return f"pending confirmation, as on AWS until {r.inputs['endpoint']} confirms: it receives nothing here"
    return ""


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


def _metric_alarm(context: _Context, r: RecordedResource) -> str:
    inputs = r.inputs
    request: dict[str, Any] = {
        "AlarmName": inputs["name"],
        "AlarmDescription": inputs.get("alarmDescription", ""),
        "ActionsEnabled": bool(inputs.get("actionsEnabled", True)),
        "AlarmActions": list(inputs.get("alarmActions") or []),
        "OKActions": list(inputs.get("okActions") or []),
        "InsufficientDataActions": list(inputs.get("insufficientDataActions") or []),
        "ComparisonOperator": inputs["comparisonOperator"],
        "EvaluationPeriods": int(inputs["evaluationPeriods"]),
        "TreatMissingData": inputs.get("treatMissingData", "missing"),
    }
    optional = {"threshold": ("Threshold", float), "datapointsToAlarm": ("DatapointsToAlarm", int),
                "thresholdMetricId": ("ThresholdMetricId", str), "unit": ("Unit", str),
                "evaluateLowSampleCountPercentiles": ("EvaluateLowSampleCountPercentile", str)}  # fmt: skip
    request.update({name: cast(inputs[key]) for key, (name, cast) in optional.items() if inputs.get(key) is not None})
    if inputs.get("metricQueries"):
        request["Metrics"] = [_metric_query(query) for query in inputs["metricQueries"]]
    else:
        request.update(Namespace=inputs["namespace"], MetricName=inputs["metricName"], Period=int(inputs["period"]),
                       Dimensions=_dimensions(inputs.get("dimensions")))  # fmt: skip
        if inputs.get("extendedStatistic"):
            request["ExtendedStatistic"] = inputs["extendedStatistic"]
        else:
            request["Statistic"] = inputs["statistic"]
    context.client("cloudwatch").put_metric_alarm(**request)
    kind = f"metric math over {len(request['Metrics'])} queries" if "Metrics" in request else "one metric"
    return f"{kind}; stored, not evaluated: no metric reaches CloudWatch here, so it never changes state"


def _metric_query(query: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"Id": query["id"], "ReturnData": bool(query.get("returnData", True))}
    for key, name in (("expression", "Expression"), ("label", "Label"), ("accountId", "AccountId")):
        if query.get(key):
            result[name] = query[key]
    if query.get("period"):
        result["Period"] = int(query["period"])
    metric = query.get("metric")
    if metric:
        stat: dict[str, Any] = {
            "Metric": {"Namespace": metric["namespace"], "MetricName": metric["metricName"],
                       "Dimensions": _dimensions(metric.get("dimensions"))},
            "Period": int(metric["period"]),
            "Stat": metric["stat"],
        }  # fmt: skip
        if metric.get("unit"):
            stat["Unit"] = metric["unit"]
        result["MetricStat"] = stat
    return result


def _dimensions(dimensions: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in sorted((dimensions or {}).items())]


def _dashboard(context: _Context, r: RecordedResource) -> str:
    context.client("cloudwatch").put_dashboard(
        DashboardName=r.inputs["dashboardName"], DashboardBody=r.inputs["dashboardBody"]
    )
    widgets = len(json.loads(r.inputs["dashboardBody"])["widgets"])
    return f"{widgets} widgets; the body's structure is checked as PutDashboard checks it"


def _backup_vault(context: _Context, r: RecordedResource) -> str:
    request: dict[str, Any] = {"BackupVaultName": r.inputs["name"]}
    if r.inputs.get("kmsKeyArn"):
        request["EncryptionKeyArn"] = r.inputs["kmsKeyArn"]
    context.client("backup").create_backup_vault(**request)
    return "empty: nothing is backed up during a run"


_BACKUP_RULE = {"ruleName": "RuleName", "targetVaultName": "TargetBackupVaultName", "schedule": "ScheduleExpression",
                "startWindow": "StartWindowMinutes", "completionWindow": "CompletionWindowMinutes",
                "enableContinuousBackup": "EnableContinuousBackup", "recoveryPointTags": "RecoveryPointTags",
                "lifecycle": "Lifecycle"}  # fmt: skip
_BACKUP_LIFECYCLE = {"deleteAfter": "DeleteAfterDays", "coldStorageAfter": "MoveToColdStorageAfterDays"}


def _backup_plan(context: _Context, r: RecordedResource) -> str:
    rules = []
    for rule in r.inputs["rules"]:
        unknown = sorted(set(rule) - set(_BACKUP_RULE))
        if unknown:
            raise NotImplementedError(f"backup rule settings {unknown} are not deployed locally")
        request = {_BACKUP_RULE[key]: value for key, value in rule.items() if key != "lifecycle"}
        if rule.get("lifecycle"):
            request["Lifecycle"] = {_BACKUP_LIFECYCLE[key]: value for key, value in rule["lifecycle"].items()}
        rules.append(request)
    context.client("backup").create_backup_plan(BackupPlan={"BackupPlanName": r.inputs["name"], "Rules": rules})
    return "stored; its schedule never runs here"


def _backup_selection(context: _Context, r: RecordedResource) -> str:
    """moto 5.2.5's backup backend has vaults and plans but no selections (no CreateBackupSelection): the selection
    is checked as CreateBackupSelection checks it (its plan and its role exist) and kept in the deployment's own
    record, `Deployment.recorded`, as the request AWS would have been sent. Nothing is backed up either way."""
    backup = context.client("backup")
    plan_id = _backup_plan_id(context, r.inputs["planId"])
    backup.get_backup_plan(BackupPlanId=plan_id)
    context.client("iam").get_role(RoleName=r.inputs["iamRoleArn"].rsplit("/", 1)[-1])
    selection: dict[str, Any] = {"SelectionName": r.inputs["name"], "IamRoleArn": r.inputs["iamRoleArn"],
                                 "Resources": list(r.inputs.get("resources") or [])}  # fmt: skip
    if r.inputs.get("notResources"):
        selection["NotResources"] = list(r.inputs["notResources"])
    if r.inputs.get("selectionTags") or r.inputs.get("conditions"):
        raise NotImplementedError("backup selections by tag or condition are not deployed locally")
    context.deployment.recorded[r.urn] = {"BackupPlanId": plan_id, "BackupSelection": selection}
    return "recorded by the emulator, not moto (moto 5.2.5 has no CreateBackupSelection); nothing is backed up"


def _backup_plan_id(context: _Context, program_id: str) -> str:
    """The emulator's id of the plan the program knows as `program_id` (AWS generates plan ids, so does moto)."""
    plans = [p for p in context.deployment.synthesis.of_type("aws:backup/plan:Plan") if p.id == program_id]
    if not plans:
        return program_id
    listed = context.client("backup").list_backup_plans()["BackupPlansList"]
    ids = [plan["BackupPlanId"] for plan in listed if plan["BackupPlanName"] == plans[0].inputs["name"]]
    if not ids:
        raise LookupError(f"backup plan {plans[0].inputs['name']} is not deployed")
    return str(ids[0])


def _pascal(value: Any, renames: dict[str, str] | None = None) -> Any:
    """Pulumi's camelCase inputs as the AWS API's PascalCase members, recursively."""
    renames = renames or {}
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            name = key[0].upper() + key[1:]
            result[renames.get(name, name)] = _pascal(item, renames)
        return result
    if isinstance(value, list):
        return [_pascal(item, renames) for item in value]
    return value


DEPLOYERS: dict[str, Deployer] = {
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _role_policy_attachment,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_versioning,
    "aws:s3/bucketNotification:BucketNotification": _bucket_notification,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_policy,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _public_access_block,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _ownership,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _encryption,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _lifecycle,
    "aws:s3/bucketLogging:BucketLogging": _bucket_logging,
    "aws:dynamodb/table:Table": _table,
    "aws:sqs/queue:Queue": _queue,
    "aws:sqs/queuePolicy:QueuePolicy": _queue_policy,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    FUNCTION: _function,
    "aws:lambda/invocation:Invocation": _invocation,
    "docker-build:index:Image": _image,
    "aws:ecr/repository:Repository": _repository,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _repository_lifecycle,
    "aws:ecs/cluster:Cluster": _cluster,
    "aws:ecs/taskDefinition:TaskDefinition": _task_definition,
    "aws:rds/subnetGroup:SubnetGroup": _db_subnet_group,
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": _db_parameter_group,
    "aws:rds/cluster:Cluster": _db_cluster,
    "aws:rds/clusterInstance:ClusterInstance": _db_instance,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:sfn/stateMachine:StateMachine": _state_machine,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicPolicy:TopicPolicy": _topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": _topic_subscription,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:backup/vault:Vault": _backup_vault,
    "aws:backup/plan:Plan": _backup_plan,
    "aws:backup/selection:Selection": _backup_selection,
}
"""Resource type -> the emulator calls that create it."""

_NO_PACKETS = "routing only: no packet flows in-process"
NOT_DEPLOYED: dict[str, str] = {
    "aws:ec2/internetGateway:InternetGateway": _NO_PACKETS,
    "aws:ec2/natGateway:NatGateway": _NO_PACKETS,
    "aws:ec2/eip:Eip": _NO_PACKETS,
    "aws:ec2/route:Route": _NO_PACKETS,
    "aws:ec2/routeTable:RouteTable": _NO_PACKETS,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _NO_PACKETS,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _NO_PACKETS,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "rules only: nothing is filtered in-process",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "rules only: nothing is filtered in-process",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "rules only: nothing is filtered in-process",
    "aws:ec2/flowLog:FlowLog": "no traffic to log",
    "aws:kms/key:Key": "not needed: the emulator does not encrypt, and a key's id cannot be chosen in moto",
    "aws:kms/alias:Alias": "its key is not deployed",
    "aws:xray/samplingRule:SamplingRule": "no traces: the local cloud records none to sample",
}
"""Resource type -> why the local cloud leaves it out."""
