"""Image pipeline: an upload to S3 starts a workflow (via EventBridge) that records the image in DynamoDB.

uploads bucket ──Object Created──> EventBridge rule ──> Workflow ──> Lambda ──> images table
  (uploads/)                        (retries, DLQ)      (Step Functions)  └────> results bucket
"""

from pathlib import Path

import pulumi

from components.bucket import Bucket, BucketArgs, Expiration
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.packaging import CodeSource
from components.profile import load_profile
from components.provider import aws_provider
from components.table import Table, TableArgs
from components.trigger import ObjectCreatedTrigger, ObjectCreatedTriggerArgs
from components.workflow import Workflow, WorkflowArgs
from workflows.upload import upload_definition

UPLOAD_PREFIX = "uploads/"
METADATA_PREFIX = "metadata/"
HANDLERS = Path(__file__).parent / "handlers"

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

processor = Function(
    "process",
    FunctionArgs(
        profile,
        code=CodeSource(HANDLERS, packages=("pipeline",), requirements=HANDLERS / "requirements.txt"),
        handler="pipeline.record.handler",
        description="Reads an uploaded object and records it",
        environment={
            "TABLE_NAME": images.name,
            "RESULTS_BUCKET": results.name,
            "POWERTOOLS_SERVICE_NAME": "image-pipeline",
        },
        key=key,
    ),
    aws,
)
uploads.grant_read(processor, prefix=UPLOAD_PREFIX)
uploads.grant_list(processor, prefix=UPLOAD_PREFIX)  # without it S3 answers 403, not 404, for a missing object
results.grant_write(processor, prefix=METADATA_PREFIX)
images.grant_write(processor)

workflow = Workflow("process-upload", WorkflowArgs(profile, upload_definition(processor, images), key), aws)
trigger = ObjectCreatedTrigger(
    "on-upload", ObjectCreatedTriggerArgs(profile, uploads, UPLOAD_PREFIX, workflow, key), aws
)

pulumi.export("uploadsBucket", uploads.name)
pulumi.export("uploadPrefix", UPLOAD_PREFIX)
pulumi.export("resultsBucket", results.name)
pulumi.export("imagesTable", images.name)
pulumi.export("stateMachineArn", workflow.arn)
pulumi.export("deadLetterQueueUrl", trigger.dead_letter_queue_url)
