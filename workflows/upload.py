"""The per-upload workflow: record the upload, and record every failure with its reason.

ProcessUpload ──ok──> Done
    │ any error (after retries on transient service errors)
    ▼
RecordFailure (DynamoDB, no Lambda) ──> Failed (the execution fails with the original error and cause)
    │ cannot record
    ▼
FailureNotRecorded
"""

from components.function import Function
from components.states import Catch, Definition, Fail, Succeed
from components.table import Table
from components.tasks import dynamodb_update_item, lambda_invoke

OBJECT_KEY_PATH = "$.detail.object.key"


def upload_definition(processor: Function, images: Table) -> Definition:
    return Definition(
        comment="Process one uploaded image; every outcome is recorded in the images table",
        start_at="ProcessUpload",
        states=[
            lambda_invoke(
                "ProcessUpload",
                processor,
                next="Done",
                catch=[Catch(next="RecordFailure")],
                comment="Reads the object and writes its record",
            ),
            dynamodb_update_item(
                "RecordFailure",
                images,
                key={"objectKey": {"S.$": OBJECT_KEY_PATH}},
                update_expression="SET #status = :failed, #error = :error, #cause = :cause, "
                "#bucket = :bucket, updatedAt = :now",
                attribute_names={"#status": "status", "#error": "error", "#cause": "cause", "#bucket": "bucket"},
                attribute_values={
                    ":failed": {"S": "FAILED"},
                    ":error": {"S.$": "$.error.Error"},
                    ":cause": {"S.$": "$.error.Cause"},
                    ":bucket": {"S.$": "$.detail.bucket.name"},
                    ":now": {"S.$": "$$.State.EnteredTime"},
                },
                next="Failed",
                catch=[Catch(next="FailureNotRecorded", result_path="$.recordError")],
                comment="Direct DynamoDB write, so recording a failure does not depend on the code that failed",
            ),
            Fail("Failed", error_path="$.error.Error", cause_path="$.error.Cause"),
            Fail("FailureNotRecorded", error="FailureNotRecorded", cause_path="$.recordError.Cause"),
            Succeed("Done"),
        ],
    )
