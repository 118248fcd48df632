"""Who may do what: read from the recorded policy documents, ARNs told back as the program's names."""

from review.iam import _collapsed, resource_policies_table, roles_table
from review.names import ArnIndex
from tests.conftest import synthesized


def rows_of(stack):
    return roles_table(synthesized(stack))[2:]


def test_every_role_appears_with_who_may_assume_it(stack):
    table = "\n".join(rows_of(stack))
    for role in synthesized(stack).of_type("aws:iam/role:Role"):
        assert f"`{role.name}`" in table, role.urn
    assert "states.amazonaws.com if aws:SourceArn ArnLike process-upload-state-machine" in table


def test_statements_name_the_resources_they_reach():
    render = [row for row in rows_of("dev") if "render-write-results-renditions" in row]
    assert len(render) == 1
    assert "`s3:PutObject`" in render[0]
    assert "`results-bucket/renditions/*`" in render[0]
    unscoped = [row for row in rows_of("dev") if "(XRayHasNoResourceScope)" in row]
    assert unscoped, "a `*` resource carries the statement's reason"


def test_an_arn_outside_the_program_loses_only_partition_region_and_account():
    index = ArnIndex.of(synthesized("dev"))
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-x-AbCdEf"
    assert index.label(arn) == "secretsmanager:secret:rds!cluster-x-AbCdEf"
    bucket = synthesized("dev").one("aws:s3/bucket:Bucket", "uploads-bucket").outputs["arn"]
    assert index.label(f"{bucket}/uploads/*") == "uploads-bucket/uploads/*"
    assert index.label(f"{bucket}-other") == f"{bucket}-other", "a longer name is not the bucket"


def test_identical_statements_of_a_policy_are_shown_once_with_their_count():
    statement = {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": ["t"]}
    collapsed = _collapsed([("p", {**statement, "Sid": "A"}), ("p", {**statement, "Sid": "B"}), ("q", statement)])
    assert [(policy, count) for policy, _, count in collapsed] == [("p", 2), ("q", 1)]


def test_resource_policies_list_who_else_may_act():
    table = "\n".join(resource_policies_table(synthesized("dev")))
    assert (
        "| `on-upload-dlq` | Allow | events.amazonaws.com | sqs:SendMessage | aws:SourceArn ArnEquals on-upload-rule |"
        in table
    )
    assert "| `uploads-bucket` | Deny | anyone | s3:* | aws:SecureTransport Bool false |" in table
