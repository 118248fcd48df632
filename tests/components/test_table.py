"""Table: on-demand, PITR, encryption and deletion protection per profile, TTL and indexes, exact grants."""

import pytest

from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.package import build_schema
from components.table import DEFAULT_PROJECTION, Table, TableArgs, TableIndex, TableIndexProjection
from synth.program import SynthesisError
from tests.helpers import DISPOSABLE, PROTECTED, run, statements, tiny_code

TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/image-pipeline-unit-images"


def declare(profile=DISPOSABLE, with_key=False, **kwargs):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        args = {"partition_key": "pk", "attributes": {"pk": "S"}} | kwargs
        return Table("images", TableArgs(profile=profile.args, kms_key_arn=key.arn if key else None, **args))

    return run(build)


def test_on_demand_and_named_for_the_stack():
    table = declare().one("aws:dynamodb/table:Table")
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["name"] == "image-pipeline-unit-images"
    assert table.inputs["hashKey"] == "pk"
    assert table.inputs["attributes"] == [{"name": "pk", "type": "S"}]


def test_disposable_profile_turns_off_pitr_and_deletion_protection_and_uses_aws_owned_key():
    table = declare(DISPOSABLE).one("aws:dynamodb/table:Table")
    assert table.inputs["pointInTimeRecovery"] == {"enabled": False}
    assert table.inputs["deletionProtectionEnabled"] is False
    assert "serverSideEncryption" not in table.inputs
    assert (table.protect, table.retain_on_delete) == (False, False)


def test_protected_profile_has_pitr_deletion_protection_customer_key_and_retention():
    synthesis = declare(PROTECTED, with_key=True)
    table = synthesis.one("aws:dynamodb/table:Table")
    key_arn = synthesis.one("aws:kms/key:Key").outputs["arn"]
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["deletionProtectionEnabled"] is True
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key_arn}
    assert (table.protect, table.retain_on_delete) == (True, True)


def test_ttl_and_global_indexes_are_optional():
    plain = declare().one("aws:dynamodb/table:Table")
    assert "ttl" not in plain.inputs
    assert "globalSecondaryIndexes" not in plain.inputs
    table = declare(
        ttl_attribute="expiresAt",
        attributes={"pk": "S", "status": "S", "updatedAt": "S"},
        indexes=[
            TableIndex(name="by-status", partition_key="status", sort_key="updatedAt"),
            TableIndex(name="by-status-keys", partition_key="status", projection=TableIndexProjection.KEYS_ONLY),
        ],
    ).one("aws:dynamodb/table:Table")
    assert table.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    assert table.inputs["globalSecondaryIndexes"] == [
        {"name": "by-status", "hashKey": "status", "rangeKey": "updatedAt", "projectionType": "ALL"},
        {"name": "by-status-keys", "hashKey": "status", "projectionType": "KEYS_ONLY"},
    ]


def test_outputs_are_registered():
    synthesis = declare()
    component = synthesis.one("platform:index:Table")
    assert synthesis.component_outputs[component.urn] == {"name": "image-pipeline-unit-images", "arn": TABLE_ARN}


def test_the_schema_documents_the_default_projection():
    schema = build_schema([Table], "platform", "0.0.0")
    described = schema["types"]["platform:index:TableIndex"]["properties"]["projection"]["description"]
    assert f'Default: "{DEFAULT_PROJECTION.value}"' in described


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"partition_key": "pk", "attributes": {}}, "key attributes ['pk'] need a type"),
        ({"partition_key": "pk", "attributes": {"pk": "S", "size": "N"}}, "attributes ['size'] are not keys"),
    ],
)
def test_attribute_definitions_must_match_the_keys_before_anything_is_declared(kwargs, message):
    with pytest.raises(SynthesisError, match=message.replace("[", r"\[").replace("]", r"\]")) as failed:
        run(lambda: Table("images", TableArgs(profile=DISPOSABLE.args, **kwargs)))
    assert "Table 'images'" in str(failed.value)
    assert [r.urn for r in failed.value.declared if r.name.startswith("images")] == []


def grant(tmp_path, profile, with_key, indexes, call):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        attributes = {"pk": "S", "status": "S"} if indexes else {"pk": "S"}
        index_list = [TableIndex(name="by-status", partition_key="status")] if indexes else []
        table = Table(
            "images",
            TableArgs(
                profile=profile.args,
                partition_key="pk",
                attributes=attributes,
                kms_key_arn=key.arn if key else None,
                indexes=index_list,
            ),
        )
        call(
            table,
            Function(
                "writer", FunctionArgs(profile=profile.args, code=tiny_code(tmp_path), handler="app.main.handler")
            ),
        )

    synthesis = run(build)
    (policy,) = [p for p in synthesis.of_type("aws:iam/rolePolicy:RolePolicy") if "logs" not in p.name]
    return synthesis, policy


def test_grant_write_is_exactly_the_write_actions_on_the_table(tmp_path):
    _, policy = grant(tmp_path, DISPOSABLE, False, False, lambda t, f: t.grant_write(f))
    assert policy.name == "writer-write-images"
    assert statements(policy) == [
        {
            "Sid": "Table",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
            "Resource": [TABLE_ARN],
        }
    ]


def test_grant_read_covers_indexes_and_decrypts_with_the_key(tmp_path):
    synthesis, policy = grant(tmp_path, PROTECTED, True, True, lambda t, f: t.grant_read(f))
    table_statement, key_statement = statements(policy)
    assert "dynamodb:Scan" not in table_statement["Action"]
    assert table_statement["Resource"] == [TABLE_ARN, f"{TABLE_ARN}/index/*"]
    assert key_statement["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert key_statement["Resource"] == [synthesis.one("aws:kms/key:Key").outputs["arn"]]


def test_writers_decrypt_the_table_key_and_never_encrypt_with_it(tmp_path):
    """DynamoDB generates the data keys itself; a caller only needs kms:Decrypt (no kms:Encrypt, GenerateDataKey)."""
    _, policy = grant(tmp_path, PROTECTED, True, False, lambda t, f: t.grant_update(f))
    table_statement, key_statement = statements(policy)
    assert table_statement["Action"] == ["dynamodb:UpdateItem"]
    assert key_statement["Action"] == ["kms:Decrypt", "kms:DescribeKey"]


def test_bulk_reads_and_writes_are_opt_in(tmp_path):
    _, read = grant(tmp_path, DISPOSABLE, False, False, lambda t, f: t.grant_read(f))
    assert statements(read)[0]["Action"] == ["dynamodb:GetItem"]
    _, queries = grant(tmp_path, DISPOSABLE, False, False, lambda t, f: t.grant_read(f, queries=True))
    assert statements(queries)[0]["Action"] == ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
    _, batches = grant(tmp_path, DISPOSABLE, False, False, lambda t, f: t.grant_write(f, batches=True))
    assert statements(batches)[0]["Action"] == ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
