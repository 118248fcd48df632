"""Image pipeline: an upload to S3 starts a workflow (via EventBridge) whose one Lambda invocation validates the
image and renders it (or, when its decode does not fit the Lambda, hands it to a Fargate task), records every
outcome in DynamoDB and catalogues the image in Aurora Serverless v2.

  uploads ─Object Created─> EventBridge rule ─> upload workflow (Express) ─> process (Lambda) ─────────────┐
  bucket                     (retries, DLQ)        │                         validates; renders what fits  ├─> catalog
                                                   │ too big for the Lambda                                │   (Aurora)
                                                   └─> heavy-path workflow (Standard) ─> worker (Fargate) ─┘
  images table: PROCESSING -> COMPLETE / FAILED        results bucket: renditions/

  operations: every component's alarms -> alarm topic -> email/HTTPS; a dashboard; AWS Backup of tables and catalog
"""

import pulumi

from app.catalog import finish
from app.code import LAMBDA_CODE, WORKER_IMAGE
from app.definition import upload_definition
from app.environment import handler_environment
from app.heavy import heavy_definition
from app.migrations import migrate_on_deploy
from app.operations import pipeline_alarms, pipeline_metrics
from app.settings import load_stack_configuration
from components.bucket import Bucket, BucketArgs, BucketExpiration, access_log_bucket
from components.database import ServerlessDatabase, ServerlessDatabaseArgs
from components.fargate import FargateTask, FargateTaskArgs, TaskPlacement
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.network import Network, NetworkArgs
from components.operations import Operations, OperationsArgs
from components.profile import WorkflowType
from components.provider import aws_provider
from components.table import Table, TableArgs
from components.trigger import ObjectCreatedTrigger, ObjectCreatedTriggerArgs
from components.workflow import Workflow, WorkflowArgs
from handlers.catalog.schema import CATALOG_WRITER
from handlers.pipeline.contract import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STALE,
    OBJECT_KEY,
    RENDITIONS_PREFIX,
    UPLOAD_PREFIX,
    WORKER_MEMORY_ENV,
)

profile, settings = load_stack_configuration()
aws = pulumi.ResourceOptions(providers=[aws_provider(profile)])
key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args), aws) if profile.customer_managed_keys else None

# Storage
access_logs = access_log_bucket("access-logs", profile, aws)
expirations = (
    [BucketExpiration(prefix=UPLOAD_PREFIX, days=settings.upload_expiration_days)]
    if settings.upload_expiration_days
    else []
)
kms_key_arn = key.arn if key else None
# The log bucket's `access_log_target` (not its `name`): it resolves once the log bucket's policy lets S3 deliver.
access_log_bucket = access_logs.access_log_target if access_logs else None
uploads = Bucket(
    "uploads",
    BucketArgs(
        profile=profile.args,
        kms_key_arn=kms_key_arn,
        event_bridge=True,
        expirations=expirations,
        access_log_bucket=access_log_bucket,
    ),
    aws,
)
results = Bucket(
    "results", BucketArgs(profile=profile.args, kms_key_arn=kms_key_arn, access_log_bucket=access_log_bucket), aws
)
images = Table(
    "images",
    TableArgs(profile=profile.args, partition_key=OBJECT_KEY, attributes={OBJECT_KEY: "S"}, kms_key_arn=kms_key_arn),
    aws,
)
idempotency = Table(
    "idempotency",
    TableArgs(
        profile=profile.args,
        partition_key="id",
        attributes={"id": "S"},
        kms_key_arn=kms_key_arn,
        ttl_attribute="expiration",
    ),
    aws,
)
network = Network("network", NetworkArgs(profile=profile.args, kms_key_arn=kms_key_arn), aws)
catalog = (
    ServerlessDatabase(
        "catalog",
        ServerlessDatabaseArgs(
            profile=profile.args,
            subnet_ids=network.database_subnet_ids,
            vpc_id=network.vpc_id,
            kms_key_arn=kms_key_arn,
            # The names the cluster was created with: changing either replaces the cluster, and its data with it.
            database_name="catalog",
            master_username="catalog_owner",
        ),
        aws,
    )
    if settings.catalog
    else None
)
catalog_writer = None
after_migration = aws
if catalog:
    # The workflows write the catalog as a login of their own; the migration creates it and fills its secret, so
    # they change only once it has run: an upgrade that adds the login never runs them with its secret still empty.
    catalog_writer = catalog.database_user("writer", CATALOG_WRITER)
    migration = migrate_on_deploy(catalog, [catalog_writer], profile, key, aws)
    after_migration = pulumi.ResourceOptions.merge(aws, pulumi.ResourceOptions(depends_on=[migration]))

# Compute: the Lambda and the Fargate worker, both running the same image core
environment = handler_environment(
    profile, settings.images, table=images.name, results_bucket=results.name, idempotency_table=idempotency.name,
    upload_prefix=UPLOAD_PREFIX,
)  # fmt: skip
processor = Function(
    "process",
    FunctionArgs(
        profile=profile.args,
        code=LAMBDA_CODE.args,
        handler="pipeline.process.handler",
        description="Validates and routes an upload, and renders it when it fits the function",
        environment=environment,
        kms_key_arn=kms_key_arn,
    ),
    aws,
)
worker_security_group = network.security_group("worker", "The Fargate worker: no ingress, HTTPS out only")
worker = FargateTask(
    "worker",
    FargateTaskArgs(
        profile=profile.args,
        image=WORKER_IMAGE,
        placement=TaskPlacement(
            subnet_ids=network.task_subnet_ids,
            security_group_ids=[worker_security_group.id],
            assign_public_ip=network.task_assign_public_ip,
        ),
        container_name="worker",  # the task definition's container since the first release
        environment={**environment, WORKER_MEMORY_ENV: str(profile.fargate.memory_mb)},
        kms_key_arn=kms_key_arn,
        clean_exit_codes=[EXIT_OK, EXIT_REFUSED, EXIT_STALE],  # refused and superseded images are outcomes
    ),
    aws,
)
for renderer in (processor, worker):
    uploads.grant_read(renderer, prefix=UPLOAD_PREFIX)
    uploads.grant_list(renderer, prefix=UPLOAD_PREFIX)  # without it S3 answers 403, not 404, for a missing object
    images.grant_update(renderer)  # records change only by conditional UpdateItem (handlers/pipeline/records.py)
    results.grant_write(renderer, prefix=RENDITIONS_PREFIX)
    results.grant_delete(renderer, prefix=RENDITIONS_PREFIX)  # renditions superseded by a newer upload
idempotency.grant_read_write(processor, delete=True)  # Powertools releases a claim when the handler fails

# Orchestration
done = finish(images, catalog, catalog_writer)
heavy = heavy_definition(worker, images, done, timeout_seconds=profile.fargate.timeout_seconds)
heavy_path = Workflow(
    "heavy-path",
    WorkflowArgs(
        profile=profile.args, **heavy.workflow_args(profile), type=WorkflowType.STANDARD, kms_key_arn=kms_key_arn
    ),
    after_migration,
)
upload = upload_definition(processor, images, heavy_path, done)
workflow = Workflow(
    "process-upload",
    WorkflowArgs(profile=profile.args, **upload.workflow_args(profile), kms_key_arn=kms_key_arn),
    after_migration,
)
trigger = ObjectCreatedTrigger(
    "on-upload",
    ObjectCreatedTriggerArgs(
        profile=profile.args,
        bucket_name=uploads.name,
        prefix=UPLOAD_PREFIX,
        state_machine_arn=workflow.arn,
        kms_key_arn=kms_key_arn,
    ),
    aws,
)

# Operations: alarms, notifications, the dashboard and backups of every component above
operations = Operations(
    "operations",
    OperationsArgs(
        profile=profile.args,
        kms_key_arn=kms_key_arn,
        alarms=pipeline_alarms(settings),
        metrics=pipeline_metrics(),
    ),
    aws,
)

pulumi.export("uploadsBucket", uploads.name)
pulumi.export("uploadPrefix", UPLOAD_PREFIX)
pulumi.export("resultsBucket", results.name)
pulumi.export("imagesTable", images.name)
pulumi.export("stateMachineArn", workflow.arn)
pulumi.export("heavyPathStateMachineArn", heavy_path.arn)
pulumi.export("workerImage", worker.image_ref)
pulumi.export("deadLetterQueueUrl", trigger.dead_letter_queue_url)
if catalog:
    pulumi.export("catalogClusterArn", catalog.cluster_arn)
if operations.topic_arn is not None:
    pulumi.export("alarmTopicArn", operations.topic_arn)
if operations.dashboard_name is not None:
    pulumi.export("dashboardName", operations.dashboard_name)
