"""The review report of the sample's stacks, in the sample's own names: what tests/review/ checks of any program,
here with what this program must show (its idle cost, its pipeline's arrows, its grants)."""

import json
import re

from policy.rules.prices import SECRET_MONTH
from review.extension import app_sections
from review.graph import quiet_note
from review.iam import resource_policies_table, roles_table
from review.markdown import usd
from review.names import ArnIndex
from review.policies import PolicyOutcome
from review.report import build_report
from review.snapshot import render
from tests.conftest import synthesized
from tests.review.test_graph import parsed, subgraph_members

NO_PACK = PolicyOutcome(available=False)


def report(stack):
    synthesis = synthesized(stack)
    return build_report(synthesis, NO_PACK, app_sections(synthesis))


def idle_section(stack):
    return report(stack).split("## Idle cost")[1].split("\n## ")[0]


def test_dev_idles_at_its_two_secrets_in_the_summary():
    summary = report("dev")[: report("dev").index("## Policy results")]
    idle = re.search(r"\| idle cost \| (.+) \|", summary).group(1)
    assert idle == f"{usd(2 * SECRET_MONTH.per_unit)}/month", "dev idles at its two Secrets Manager secrets only"


def test_dev_lists_its_two_secrets_as_its_whole_idle_cost():
    rows = [line for line in idle_section("dev").splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0] for row in rows] == ["| `catalog-writer-secret`", "| `catalog-cluster`"]
    assert all(SECRET_MONTH.label in row and SECRET_MONTH.source in row for row in rows)


def test_prod_lists_what_it_pays_for_while_idle():
    section = idle_section("prod")
    assert "customer-managed KMS key" in section
    assert "https://aws.amazon.com/privatelink/pricing/" in section
    assert "**Total: $" in section


def test_components_are_subgraphs_holding_their_resources():
    members = subgraph_members(synthesized("dev"))
    assert members["uploads (Bucket)"] == ["uploads-bucket"]
    assert members["worker (FargateTask)"] == ["worker-task-definition", "worker-repository"]
    assert members["on-upload (ObjectCreatedTrigger)"] == ["on-upload-rule", "on-upload-dlq"]
    assert all("migrate-catalog-now" not in names for names in members.values()), "top-level resources stay outside"


def test_arrows_follow_the_pipeline(stack):
    _, _, edges = parsed(synthesized(stack))
    expected = {
        ("on-upload-rule", "process-upload-state-machine"),  # the event target
        ("on-upload-rule", "uploads-bucket"),  # the event pattern names the bucket
        ("process-upload-state-machine", "process-function"),  # a task of the definition
        ("process-upload-state-machine", "heavy-path-state-machine"),  # the hand-over
        ("heavy-path-state-machine", "worker-task-definition"),
        ("process-function", "results-bucket"),  # a grant (role policy) drawn as the function
        ("worker-task-definition", "images-table"),
    }
    assert expected <= edges, sorted(expected - edges)
    assert ("uploads-bucket", "process-function") not in edges, "arrows point from user to used"


def test_the_key_is_a_note_in_prod_only():
    _, labels, edges = parsed(synthesized("prod"))
    assert "data-key" in labels.values()
    assert not [edge for edge in edges if edge[1] == "data-key"]
    assert "every encrypted resource uses it" in quiet_note(synthesized("prod"))
    assert quiet_note(synthesized("dev")) is None, "dev has no customer-managed key"


def test_the_upload_workflow_is_assumed_by_step_functions_for_that_machine_only(stack):
    table = "\n".join(roles_table(synthesized(stack)))
    assert "states.amazonaws.com if aws:SourceArn ArnLike process-upload-state-machine" in table


def test_the_rendering_grant_names_the_renditions_it_writes():
    rows = roles_table(synthesized("dev"))[2:]
    render_rows = [row for row in rows if "process-write-results-renditions" in row]
    assert len(render_rows) == 1
    assert "`s3:PutObject`" in render_rows[0]
    assert "`results-bucket/renditions/*`" in render_rows[0]


def test_the_uploads_bucket_arn_is_told_back_by_name():
    index = ArnIndex.of(synthesized("dev"))
    bucket = synthesized("dev").one("aws:s3/bucket:Bucket", "uploads-bucket").outputs["arn"]
    assert index.label(f"{bucket}/uploads/*") == "uploads-bucket/uploads/*"
    assert index.label(f"{bucket}-other") == f"{bucket}-other", "a longer name is not the bucket"


def test_resource_policies_list_the_dead_letter_queue_and_the_uploads_bucket():
    table = "\n".join(resource_policies_table(synthesized("dev")))
    assert (
        "| `on-upload-dlq` | Allow | events.amazonaws.com | sqs:SendMessage | aws:SourceArn ArnEquals on-upload-rule |"
        in table
    )
    assert "| `uploads-bucket` | Deny | anyone | s3:* | aws:SecureTransport Bool false |" in table


def test_the_snapshot_shows_the_handlers_zip_without_its_cache_key(stack):
    document = json.loads(render(synthesized(stack)))
    function = document["resources"]["platform:index:Function$aws:lambda/function:Function::process-function"]
    assert function["inputs"]["code"] == {"FileArchive": "<build output> .build/lambda/handlers-<cache key>.zip"}
    assert function["inputs"]["sourceCodeHash"].startswith("<")
