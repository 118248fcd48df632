"""How a workflow ends after a successful render: the image's row in the Aurora catalog (when the profile keeps
one), written by Step Functions through the RDS Data API — no Lambda and no VPC in between — as the catalog's
writer login (`schema.CATALOG_WRITER`: INSERT and UPDATE on `images`, nothing else), never as the master user.

A failed insert (after waiting for a paused cluster to resume, and the usual retries) does not undo the render:
the record stays COMPLETE and gains `catalog: FAILED` with the cause, and the execution fails so that it is seen.
"""

from app.recording import NOT_RECORDED, OWNED_BY_THIS_UPLOAD, RECORD_KEY, THIS_UPLOAD, fail_with
from components.database import DatabaseUser, ServerlessDatabase
from components.states import Catch, State, Succeed
from components.table import Table
from handlers.catalog.schema import INSERT_IMAGE_SQL
from handlers.pipeline.contract import CATALOG, CATALOG_ERROR, FAILED, UPDATED_AT

VALIDATION = "$.validation"
CATALOG_VALUES = {
    "object_key": ("StringValue.$", f"{VALIDATION}.objectKey"),
    "version_tag": ("StringValue.$", f"{VALIDATION}.versionTag"),
    "sha256": ("StringValue.$", f"{VALIDATION}.metadata.sha256"),
    "format": ("StringValue.$", f"{VALIDATION}.metadata.format"),
    "width": ("LongValue.$", f"{VALIDATION}.metadata.width"),
    "height": ("LongValue.$", f"{VALIDATION}.metadata.height"),
    "size_bytes": ("LongValue.$", f"{VALIDATION}.metadata.sizeBytes"),
    "exif": ("StringValue.$", f"States.JsonToString({VALIDATION}.metadata.exif)"),
    "route": ("StringValue.$", f"{VALIDATION}.route"),
    "processed_at": ("StringValue.$", "$$.State.EnteredTime"),
}
"""Every parameter of the insert, from the validation result both paths carry (the task checks the names against
the SQL's, so a renamed column fails before deployment)."""
DONE = "Done"


def finish(images: Table, catalog: ServerlessDatabase | None, writer: DatabaseUser | None) -> list[State]:
    """The states after a successful render, the first one being where the render goes next. `writer` is the
    catalog's `database_user` for `schema.CATALOG_WRITER` (None when there is no catalog)."""
    if catalog is None:
        return [Succeed(DONE)]
    parameters = [{"Name": name, "Value": {kind: path}} for name, (kind, path) in CATALOG_VALUES.items()]
    return [
        catalog.execute_statement_task(
            "Catalog",
            INSERT_IMAGE_SQL,
            parameters,
            user=writer,
            next=DONE,
            catch=[Catch(next="RecordCatalogFailure", result_path="$.catalogError")],
            comment="Insert (or refresh) the image's row; safe to repeat",
        ),
        images.update_item_task(
            "RecordCatalogFailure",
            key=RECORD_KEY,
            # CATALOG is one of DynamoDB's reserved words: it must go through a name placeholder.
            update_expression=f"SET #catalog = :failed, {CATALOG_ERROR} = :cause, {UPDATED_AT} = :now",
            attribute_names={"#catalog": CATALOG},
            attribute_values={
                ":failed": {"S": FAILED},
                ":cause": {"S.$": "$.catalogError.Cause"},
                ":now": {"S.$": "$$.State.EnteredTime"},
                **THIS_UPLOAD,
            },
            condition_expression=OWNED_BY_THIS_UPLOAD,  # COMPLETE by design: the render succeeded
            next="ReportCatalogFailure",
            catch=[Catch(next=NOT_RECORDED, result_path="$.recordError")],
        ),
        *fail_with("ReportCatalogFailure", "CatalogFailed", "$.catalogError"),
        Succeed(DONE),
    ]
