"""Image pipeline: an upload to S3 starts a workflow (via EventBridge) that validates the image, renders it in a
Lambda (or, when its decode does not fit the Lambda, in a Fargate task), records every outcome in DynamoDB and
catalogues the image in Aurora Serverless v2.

  uploads ─Object Created─> EventBridge rule ─> upload workflow (Express) ─> validate ─> render (Lambda) ─┐
  bucket                     (retries, DLQ)        │ too big for the Lambda                               ├─> catalog
                                                   └─> heavy-path workflow (Standard) ─> worker (Fargate) ─┘  (Aurora)
  images table: PROCESSING -> COMPLETE / FAILED        results bucket: renditions/
"""

import pulumi

from app.catalog import finish
from app.code import LAMBDA_CODE, WORKER_IMAGE
from app.definition import upload_definition
from app.environment import handler_environment
from app.heavy import heavy_definition
from app.migrations import migrate_on_deploy
from app.settings import load_stack_configuration
from components.bucket import Bucket, BucketArgs, Expiration
from components.database import ServerlessDatabase, ServerlessDatabaseArgs
from components.fargate import FargateTask, FargateTaskArgs, TaskPlacement
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.network import Network, NetworkArgs
from components.profile import WorkflowType
from components.provider import aws_provider
from components.table import Table, TableArgs
from components.trigger import ObjectCreatedTrigger, ObjectCreatedTriggerArgs
from components.workflow import Workflow, WorkflowArgs
from handlers.catalog.schema import CATALOG_WRITER
from handlers.pipeline.contract import OBJECT_KEY, RENDITIONS_PREFIX, UPLOAD_PREFIX, WORKER_MEMORY_ENV

VALIDATE_MEMORY_MB = 512  # it streams the upload to /tmp and reads headers: it never decodes pixels
VALIDATE_TIMEOUT_SECONDS = 10  # a 40 MB download and a hash; its share of the Express workflow's five minutes

profile, settings = load_stack_configuration()
aws = pulumi.ResourceOptions(providers=[aws_provider(profile)])
key = EncryptionKey("data", EncryptionKeyArgs(profile), aws) if profile.customer_managed_keys else None

# Storage
access_logs = (
    Bucket(
        "access-logs",
        BucketArgs(profile, receives_access_logs=True, expirations=[Expiration("", profile.access_log_retention_days)]),
        aws,
    )
    if profile.access_logging
    else None
)
expirations = [Expiration(UPLOAD_PREFIX, settings.upload_expiration_days)] if settings.upload_expiration_days else []
uploads = Bucket(
    "uploads", BucketArgs(profile, key, event_bridge=True, expirations=expirations, access_logs=access_logs), aws
)
results = Bucket("results", BucketArgs(profile, key, access_logs=access_logs), aws)
images = Table("images", TableArgs(profile, partition_key=OBJECT_KEY, attributes={OBJECT_KEY: "S"}, key=key), aws)
idempotency = Table(
    "idempotency",
    TableArgs(profile, partition_key="id", attributes={"id": "S"}, key=key, ttl_attribute="expiration"),
    aws,
)
network = Network("network", NetworkArgs(profile, key), aws)
catalog = (
    ServerlessDatabase(
        "catalog", ServerlessDatabaseArgs(profile, network.database_subnet_ids, network.vpc_id, key), aws
    )
    if settings.catalog
    else None
)
catalog_writer = None
if catalog:
    # The workflows write the catalog as a login of their own; the migration creates it and fills its secret.
    catalog_writer = catalog.database_user("writer", CATALOG_WRITER)
    migrate_on_deploy(catalog, [catalog_writer], profile, key, aws)

# Compute: two Lambdas and the Fargate worker, all running the same image core
environment = handler_environment(
    profile, settings.images, table=images.name, results_bucket=results.name, idempotency_table=idempotency.name,
    upload_prefix=UPLOAD_PREFIX,
)  # fmt: skip
validator = Function(
    "validate",
    FunctionArgs(profile, LAMBDA_CODE, "pipeline.validate.handler", "Validates, describes and routes an upload",
                 environment, key, memory_mb=VALIDATE_MEMORY_MB, timeout_seconds=VALIDATE_TIMEOUT_SECONDS),
    aws,
)  # fmt: skip
renderer = Function(
    "render",
    FunctionArgs(profile, LAMBDA_CODE, "pipeline.render.handler", "Makes and stores an upload's renditions",
                 environment, key),
    aws,
)  # fmt: skip
worker_security_group = network.security_group("worker", "The Fargate worker: no ingress, HTTPS out only")
worker = FargateTask(
    "worker",
    FargateTaskArgs(
        profile,
        WORKER_IMAGE,
        TaskPlacement(network.task_placement.subnet_ids, [worker_security_group.id],
                      network.task_placement.assign_public_ip),
        environment={**environment, WORKER_MEMORY_ENV: str(profile.fargate.memory_mb)},
        key=key,
    ),
    aws,
)  # fmt: skip
for processor in (validator, renderer, worker):
    uploads.grant_read(processor, prefix=UPLOAD_PREFIX)
    uploads.grant_list(processor, prefix=UPLOAD_PREFIX)  # without it S3 answers 403, not 404, for a missing object
    images.grant_update(processor)  # records change only by conditional UpdateItem (handlers/pipeline/records.py)
for processor in (validator, renderer):
    idempotency.grant_read_write(processor, delete=True)  # Powertools releases a claim when the handler fails
for processor in (renderer, worker):
    results.grant_write(processor, prefix=RENDITIONS_PREFIX)
    results.grant_delete(processor, prefix=RENDITIONS_PREFIX)  # renditions superseded by a newer upload

# Orchestration
done = finish(images, catalog, catalog_writer)
heavy_path = Workflow(
    "heavy-path",
    WorkflowArgs(profile, heavy_definition(worker, images, done, timeout_seconds=profile.fargate.timeout_seconds), key,
                 type=WorkflowType.STANDARD),
    aws,
)  # fmt: skip
workflow = Workflow(
    "process-upload", WorkflowArgs(profile, upload_definition(validator, renderer, images, heavy_path, done), key), aws
)
trigger = ObjectCreatedTrigger(
    "on-upload", ObjectCreatedTriggerArgs(profile, uploads, UPLOAD_PREFIX, workflow, key), aws
)

pulumi.export("uploadsBucket", uploads.name)
pulumi.export("uploadPrefix", UPLOAD_PREFIX)
pulumi.export("resultsBucket", results.name)
pulumi.export("imagesTable", images.name)
pulumi.export("stateMachineArn", workflow.arn)
pulumi.export("heavyPathStateMachineArn", heavy_path.arn)
pulumi.export("workerImage", worker.image.ref)
pulumi.export("deadLetterQueueUrl", trigger.dead_letter_queue_url)
if catalog:
    pulumi.export("catalogClusterArn", catalog.cluster_arn)
