"""Every stack file, synthesized in both preview and update mode: what the whole program declares."""

import json

import pytest

from components.profile import load_profile
from offline.synth import Synthesis, stack_config
from tests.conftest import synthesized

STATEFUL_TYPES = {
    "aws:s3/bucket:Bucket",
    "aws:dynamodb/table:Table",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:sqs/queue:Queue",
}
IDLE_COST_TYPES = {
    "aws:kms/key:Key": "$1/month per customer-managed key",
    "aws:ec2/natGateway:NatGateway": "$0.045/hour",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "$0.01/hour per interface endpoint and AZ",
    "aws:ec2/instance:Instance": "billed per hour",
    "aws:rds/clusterInstance:ClusterInstance": "billed per ACU-hour unless paused",
    "aws:lb/loadBalancer:LoadBalancer": "$0.0225/hour",
    "aws:ec2/eip:Eip": "$0.005/hour per public IPv4 address",
}
NO_RESOURCE_SCOPE = {
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}  # fmt: skip
"""Actions AWS cannot scope to a resource: the only ones allowed on `"Resource": "*"` in an identity policy."""
EXPECTED_OUTPUTS = {"uploadsBucket", "uploadPrefix", "resultsBucket", "imagesTable", "stateMachineArn",
                    "deadLetterQueueUrl"}  # fmt: skip


def profile_of(stack: str):
    return load_profile(stack_config(stack))


def policy_documents(program: Synthesis):
    """Every IAM document in the program: identity policies, trust policies and resource policies."""
    for resource in program.resources:
        for key in ("policy", "assumeRolePolicy"):
            if isinstance(resource.inputs.get(key), str):
                yield resource, key, json.loads(resource.inputs[key])


def test_synthesizes_in_both_modes_with_every_output(stack, mode):
    program = synthesized(stack, mode)
    assert program.resources
    assert set(program.outputs) == EXPECTED_OUTPUTS
    assert program.outputs["stateMachineArn"].endswith(f":stateMachine:image-pipeline-{stack}-process-upload")


def test_every_component_registers_its_outputs(program):
    for component in (r for r in program.resources if not r.custom):
        assert program.component_outputs.get(component.urn), f"{component.urn}: register_outputs is empty or missing"
        assert program.children(component), f"{component.urn}: has no children parented to it"


def test_protection_and_retention_follow_the_profile(stack, program):
    profile = profile_of(stack)
    for resource in program.resources:
        if resource.type in STATEFUL_TYPES:
            assert resource.protect == profile.protect, resource.urn
            assert resource.retain_on_delete == profile.retain_on_delete, resource.urn
        else:
            assert not resource.protect, f"{resource.urn}: only stateful resources are protected"


def test_dev_is_disposable_and_has_nothing_that_costs_money_while_idle():
    dev = synthesized("dev")
    assert not [r.urn for r in dev.resources if r.protect or r.retain_on_delete]
    idle = [f"{r.urn} ({IDLE_COST_TYPES[r.type]})" for r in dev.resources if r.type in IDLE_COST_TYPES]
    assert not idle, f"dev must scale to zero; these cost money while idle: {idle}"
    assert all(b.inputs["forceDestroy"] for b in dev.of_type("aws:s3/bucket:Bucket"))


def test_prod_protects_retains_and_encrypts_every_stateful_resource_with_its_key():
    prod = synthesized("prod")
    key_arn = prod.one("aws:kms/key:Key").outputs["arn"]
    stateful = [r for r in prod.resources if r.type in STATEFUL_TYPES]
    assert {r.type for r in stateful} == STATEFUL_TYPES
    for resource in stateful:
        assert (resource.protect, resource.retain_on_delete) == (True, True), resource.urn
    assert all(g.inputs["kmsKeyId"] == key_arn for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup"))
    for table in prod.of_type("aws:dynamodb/table:Table"):
        assert table.inputs["serverSideEncryption"]["kmsKeyArn"] == key_arn, table.urn
        assert table.inputs["deletionProtectionEnabled"] is True, table.urn
    assert prod.one("aws:sqs/queue:Queue").inputs["kmsMasterKeyId"] == key_arn
    assert len(prod.of_type("aws:s3/bucketVersioning:BucketVersioning")) == len(prod.of_type("aws:s3/bucket:Bucket"))


def test_access_logging_follows_the_profile(stack, program):
    logged = {r.name for r in program.of_type("aws:s3/bucketLogging:BucketLogging")}
    if not profile_of(stack).access_logging:
        assert not logged
        return
    assert logged == {"uploads-access-logging", "results-access-logging"}
    target = program.one("aws:s3/bucket:Bucket", "access-logs-bucket").inputs["bucket"]
    assert {r.inputs["targetBucket"] for r in program.of_type("aws:s3/bucketLogging:BucketLogging")} == {target}


def test_no_iam_document_allows_a_wildcard_action(program):
    for resource, key, document in policy_documents(program):
        for statement in document["Statement"]:
            if statement["Effect"] != "Allow":
                continue  # a Deny with `s3:*` (TLS-only) is the opposite of a broad grant
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            wild = [action for action in actions if "*" in action]
            assert not wild, f"{resource.urn} {key}: wildcard actions {wild}"


def test_star_resources_only_where_aws_has_no_resource_scope(program):
    for resource, _key, document in policy_documents(program):
        if resource.type == "aws:kms/key:Key":
            continue  # in a key policy `*` means "this key"
        for statement in document["Statement"]:
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if statement["Effect"] == "Allow" and "*" in resources:
                unscoped = set(statement["Action"]) - NO_RESOURCE_SCOPE
                assert not unscoped, f"{resource.urn}: {sorted(unscoped)} on '*' could be scoped to an ARN"


def test_every_service_role_is_pinned_to_this_account(program):
    for role in program.of_type("aws:iam/role:Role"):
        for statement in json.loads(role.inputs["assumeRolePolicy"])["Statement"]:
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012", role.urn


def test_every_aws_resource_uses_the_tagging_provider(stack, program):
    provider = program.one("pulumi:providers:aws", "aws")
    # Provider configuration reaches the provider as JSON text, as it does from the Pulumi CLI.
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert {"Project": "image-pipeline", "Environment": stack, "ManagedBy": "pulumi"}.items() <= tags.items()
    assert profile_of(stack).tags.items() <= tags.items(), "user tags from the profile reach every resource"
    untagged = [
        r.urn for r in program.resources if r.custom and not r.is_provider and not r.provider.startswith(provider.urn)
    ]
    assert not untagged, f"resources outside the tagging provider: {untagged}"


def test_workflow_definition_is_valid_json_and_its_tasks_exist_in_the_program(program):
    machine = program.one("aws:sfn/stateMachine:StateMachine")
    definition = json.loads(machine.inputs["definition"])
    function_arns = {f.outputs["arn"] for f in program.of_type("aws:lambda/function:Function")}
    table_names = {t.inputs["name"] for t in program.of_type("aws:dynamodb/table:Table")}
    tasks = {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}
    assert set(tasks) == {"Validate", "Render", "RecordFailure", "RecordNeedsFargate"}
    for name, state in tasks.items():
        if state["Resource"].startswith("arn:aws:lambda:"):
            assert state["Resource"] in function_arns, name
        elif state["Resource"] == "arn:aws:states:::dynamodb:updateItem":
            assert state["Parameters"]["TableName"] == program.outputs["imagesTable"], name
            assert state["Parameters"]["TableName"] in table_names, name
        else:
            pytest.fail(f"{name}: unexpected integration {state['Resource']}")
    assert definition["StartAt"] == "Validate"


def test_every_outcome_ends_in_a_recorded_explained_state(program):
    states = json.loads(program.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])["States"]
    for name in ("Validate", "Render"):
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["UnsupportedFormat", "ImageTooLarge", "TooManyPixels", "CorruptImage", "ObjectNotFound"],
             "Next": "Rejected", "ResultPath": "$.error"},
            {"ErrorEquals": ["StaleEvent"], "Next": "Superseded", "ResultPath": "$.error"},
            {"ErrorEquals": ["States.ALL"], "Next": "RecordFailure", "ResultPath": "$.error"},
        ]  # fmt: skip
    assert states["ChooseRenderer"]["Choices"] == [
        {"Variable": "$.validation.route", "StringEquals": "lambda", "Next": "Render"}
    ]
    for name in ("RecordFailure", "RecordNeedsFargate"):
        record = states[name]
        assert record["Parameters"]["ExpressionAttributeValues"][":failed"] == {"S": "FAILED"}
        assert record["Parameters"]["ConditionExpression"] == "attribute_not_exists(objectKey) OR rawSequencer = :raw"
        assert states[record["Next"]]["Type"] == "Fail"
        assert record["Catch"][0]["Next"] == "FailureNotRecorded"
    assert states["RecordFailure"]["Parameters"]["ExpressionAttributeValues"][":cause"] == {"S.$": "$.error.Cause"}
    terminal = {name for name, state in states.items() if state["Type"] in ("Fail", "Succeed")}
    assert terminal == {"Rejected", "Failed", "NeedsFargate", "FailureNotRecorded", "Superseded", "Done"}


def test_workflow_retries_follow_the_profile(stack, program):
    retry = profile_of(stack).workflow.retry
    definition = json.loads(program.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    for state in (s for s in definition["States"].values() if s["Type"] == "Task"):
        (retrier,) = state["Retry"]
        assert retrier["MaxAttempts"] == retry.max_attempts
        assert retrier["JitterStrategy"] == ("FULL" if retry.jitter else "NONE")


def test_each_handler_may_do_exactly_its_job(program):
    def grants(function: str) -> set[str]:
        return {p.name for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.startswith(f"{function}-")}

    shared = {"logs-and-traces", "read-uploads-uploads", "list-uploads-uploads", "write-images",
              "read-write-idempotency"}  # fmt: skip
    assert grants("validate") == {f"validate-{name}" for name in shared}
    assert grants("render") == {f"render-{name}" for name in shared | {"write-results-renditions",
                                                                         "delete-results-renditions"}}  # fmt: skip


def test_handlers_get_the_tables_buckets_and_image_settings(stack, program):
    images = profile_of(stack).images
    for function in program.of_type("aws:lambda/function:Function"):
        variables = function.inputs["environment"]["variables"]
        assert variables["TABLE_NAME"] == program.outputs["imagesTable"]
        assert variables["RESULTS_BUCKET"] == program.outputs["resultsBucket"]
        assert variables["IDEMPOTENCY_TABLE"] == program.one("aws:dynamodb/table:Table", "idempotency-table").id
        assert variables["RENDITION_SIZES"] == ",".join(map(str, images.rendition_sizes))
        assert variables["MAX_IMAGE_PIXELS"] == str(images.max_megapixels * 1_000_000)
        assert variables["RENDER_MEMORY_MB"] == str(profile_of(stack).lambda_.memory_mb), "routing is about render"
    assert program.one("aws:lambda/function:Function", "validate-function").inputs["memorySize"] == 512
