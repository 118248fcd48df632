"""Image pipeline: an upload to S3 starts a workflow (via EventBridge) that validates the image, renders it in a
Lambda, and records every outcome in DynamoDB.

    uploads bucket ──Object Created──> EventBridge rule ──> Workflow ──> validate (Lambda) ──> render (Lambda)
      (uploads/)                        (retries, DLQ)     (Step Functions)   │                    │
                                                                              └──> images table <──┴──> results bucket
"""

import pulumi

from app.code import LAMBDA_CODE
from app.definition import upload_definition
from app.environment import handler_environment
from components.bucket import Bucket, BucketArgs, Expiration
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.profile import load_profile
from components.provider import aws_provider
from components.table import Table, TableArgs
from components.trigger import ObjectCreatedTrigger, ObjectCreatedTriggerArgs
from components.workflow import Workflow, WorkflowArgs

UPLOAD_PREFIX = "uploads/"
RENDITIONS_PREFIX = "renditions/"
VALIDATE_MEMORY_MB = 512  # it streams the upload to /tmp and reads headers: it never decodes pixels

profile = load_profile()
aws = pulumi.ResourceOptions(providers=[aws_provider(profile)])
key = EncryptionKey("data", EncryptionKeyArgs(profile), aws) if profile.customer_managed_keys else None

access_logs = (
    Bucket(
        "access-logs",
        BucketArgs(profile, receives_access_logs=True, expirations=[Expiration("", profile.access_log_retention_days)]),
        aws,
    )
    if profile.access_logging
    else None
)
expirations = [Expiration(UPLOAD_PREFIX, profile.upload_expiration_days)] if profile.upload_expiration_days else []
uploads = Bucket(
    "uploads", BucketArgs(profile, key, event_bridge=True, expirations=expirations, access_logs=access_logs), aws
)
results = Bucket("results", BucketArgs(profile, key, access_logs=access_logs), aws)
images = Table("images", TableArgs(profile, partition_key="objectKey", attributes={"objectKey": "S"}, key=key), aws)
idempotency = Table(
    "idempotency",
    TableArgs(profile, partition_key="id", attributes={"id": "S"}, key=key, ttl_attribute="expiration"),
    aws,
)

environment = handler_environment(
    profile, table=images.name, results_bucket=results.name, idempotency_table=idempotency.name,
    upload_prefix=UPLOAD_PREFIX,
)  # fmt: skip
validator = Function(
    "validate",
    FunctionArgs(profile, LAMBDA_CODE, "pipeline.validate.handler", "Validates, describes and routes an upload",
                 environment, key, memory_mb=VALIDATE_MEMORY_MB),
    aws,
)  # fmt: skip
renderer = Function(
    "render",
    FunctionArgs(profile, LAMBDA_CODE, "pipeline.render.handler", "Makes and stores an upload's renditions",
                 environment, key),
    aws,
)  # fmt: skip
for function in (validator, renderer):
    uploads.grant_read(function, prefix=UPLOAD_PREFIX)
    uploads.grant_list(function, prefix=UPLOAD_PREFIX)  # without it S3 answers 403, not 404, for a missing object
    images.grant_write(function)
    idempotency.grant_read_write(function, delete=True)  # Powertools releases a claim when the handler fails
results.grant_write(renderer, prefix=RENDITIONS_PREFIX)
results.grant_delete(renderer, prefix=RENDITIONS_PREFIX)  # renditions superseded by a newer upload

workflow = Workflow("process-upload", WorkflowArgs(profile, upload_definition(validator, renderer, images), key), aws)
trigger = ObjectCreatedTrigger(
    "on-upload", ObjectCreatedTriggerArgs(profile, uploads, UPLOAD_PREFIX, workflow, key), aws
)

pulumi.export("uploadsBucket", uploads.name)
pulumi.export("uploadPrefix", UPLOAD_PREFIX)
pulumi.export("resultsBucket", results.name)
pulumi.export("imagesTable", images.name)
pulumi.export("stateMachineArn", workflow.arn)
pulumi.export("deadLetterQueueUrl", trigger.dead_letter_queue_url)
