"""Who may do what: read from the recorded policy documents, ARNs told back as the program's names. Checked on each
stack's own program, and on the reference program (tests/reference.py), whose resources the tests name."""

import pytest

from review.iam import _collapsed, resource_policies_table, roles_table
from review.names import ArnIndex
from tests.conftest import synthesized
from tests.reference import reference_program

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"


def rows_of(synthesis):
    return roles_table(synthesis)[2:]


@pytest.mark.parametrize("program_of", [synthesized, reference_program], ids=["program", "reference"])
def test_every_role_appears_with_who_may_assume_it(program_of, stack):
    synthesis = program_of(stack)
    table = "\n".join(rows_of(synthesis))
    for role in synthesis.of_type("aws:iam/role:Role"):
        assert f"`{role.name}`" in table, role.urn
    for machine in synthesis.of_type(STATE_MACHINE):
        assert f"states.amazonaws.com if aws:SourceArn ArnLike {machine.name}" in table, machine.urn


def test_statements_name_the_resources_they_reach():
    rows = rows_of(reference_program("dev"))
    convert = [row for row in rows if "convert-write-outbox-converted" in row]
    assert len(convert) == 1
    assert "`s3:PutObject`" in convert[0]
    assert "`outbox-bucket/converted/*`" in convert[0]
    unscoped = [row for row in rows if "(XRayHasNoResourceScope)" in row]
    assert unscoped, "a `*` resource carries the statement's reason"


def test_an_arn_outside_the_program_loses_only_partition_region_and_account():
    program = reference_program("dev")
    index = ArnIndex.of(program)
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-x-AbCdEf"
    assert index.label(arn) == "secretsmanager:secret:rds!cluster-x-AbCdEf"
    bucket = program.one("aws:s3/bucket:Bucket", "inbox-bucket").outputs["arn"]
    assert index.label(f"{bucket}/incoming/*") == "inbox-bucket/incoming/*"
    assert index.label(f"{bucket}-other") == f"{bucket}-other", "a longer name is not the bucket"


def test_identical_statements_of_a_policy_are_shown_once_with_their_count():
    statement = {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": ["t"]}
    collapsed = _collapsed([("p", {**statement, "Sid": "A"}), ("p", {**statement, "Sid": "B"}), ("q", statement)])
    assert [(policy, count) for policy, _, count in collapsed] == [("p", 2), ("q", 1)]


def test_resource_policies_list_who_else_may_act():
    table = "\n".join(resource_policies_table(reference_program("dev")))
    dead_letters = "| `on-arrival-dlq` | Allow | events.amazonaws.com | sqs:SendMessage |"
    assert f"{dead_letters} aws:SourceArn ArnEquals on-arrival-rule |" in table
    assert "| `inbox-bucket` | Deny | anyone | s3:* | aws:SecureTransport Bool false |" in table
