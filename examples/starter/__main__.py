"""The smallest program on the platform, for a fork that deleted the sample (README, "Fork it"): an upload to a
bucket starts a workflow that records it in a table through a Lambda.

  documents bucket ─Object Created─> EventBridge rule ─> workflow (Express) ─> record (Lambda) ─> records table
  operations: the alarms, dashboard and backups of everything above, as the profile decides
"""

import pulumi

from components.bucket import Bucket, BucketArgs, access_log_bucket
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.operations import Operations, OperationsArgs
from components.packaging import FunctionCode
from components.profile import load_profile
from components.provider import aws_provider
from components.states import Definition
from components.table import Table, TableArgs
from components.trigger import ObjectCreatedTrigger, ObjectCreatedTriggerArgs
from components.workflow import Workflow, WorkflowArgs

PREFIX = "incoming/"

profile = load_profile()
aws = pulumi.ResourceOptions(providers=[aws_provider(profile)])
key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args), aws) if profile.customer_managed_keys else None
kms_key_arn = key.arn if key else None
access_logs = access_log_bucket("access-logs", profile, aws)

documents = Bucket(
    "documents",
    BucketArgs(profile=profile.args, kms_key_arn=kms_key_arn, event_bridge=True,
               access_log_bucket=access_logs.access_log_target if access_logs else None),
    aws,
)  # fmt: skip
records = Table(
    "records",
    TableArgs(profile=profile.args, partition_key="documentKey", attributes={"documentKey": "S"},
              kms_key_arn=kms_key_arn),
    aws,
)  # fmt: skip
record = Function(
    "record",
    FunctionArgs(
        profile=profile.args,
        code=FunctionCode(root="functions", packages=["records"]),
        handler="records.handler.handler",
        description="Records an uploaded document",
        environment={"TABLE_NAME": records.name},
        kms_key_arn=kms_key_arn,
    ),
    aws,
)
documents.grant_read(record, prefix=PREFIX)
records.grant_update(record)

flow = Definition(start_at="Record", states=[record.invoke_task("Record")])
workflow = Workflow(
    "on-document", WorkflowArgs(profile=profile.args, **flow.workflow_args(profile), kms_key_arn=kms_key_arn), aws
)
ObjectCreatedTrigger(
    "on-upload",
    ObjectCreatedTriggerArgs(profile=profile.args, bucket_name=documents.name, prefix=PREFIX,
                             state_machine_arn=workflow.arn, kms_key_arn=kms_key_arn),
    aws,
)  # fmt: skip

Operations("operations", OperationsArgs(profile=profile.args, kms_key_arn=kms_key_arn), aws)

pulumi.export("documentsBucket", documents.name)
pulumi.export("recordsTable", records.name)
pulumi.export("stateMachineArn", workflow.arn)
