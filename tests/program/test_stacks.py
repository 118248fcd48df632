"""Every stack file, synthesized in both preview and update mode: what the whole program declares."""

import json

from app.settings import load_settings
from components.base import type_token
from components.operations import Operations
from components.profile import load_profile
from policy.rules.iam import NO_RESOURCE_SCOPE
from policy.rules.prices import SECRET_MONTH
from review.costs import idle_costs
from synth.program import Synthesis, stack_config
from tests.conftest import synthesized

STATEFUL_TYPES = {
    "aws:s3/bucket:Bucket",
    "aws:dynamodb/table:Table",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:sqs/queue:Queue",
    "aws:ecr/repository:Repository",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:secretsmanager/secret:Secret",
    "aws:backup/vault:Vault",
}
EXPECTED_OUTPUTS = {"uploadsBucket", "uploadPrefix", "resultsBucket", "imagesTable", "stateMachineArn",
                    "heavyPathStateMachineArn", "workerImage", "deadLetterQueueUrl", "catalogClusterArn"}  # fmt: skip


NOT_IAM_POLICIES = {"aws:ecr/lifecyclePolicy:LifecyclePolicy"}
"""Their `policy` is an image-expiry rule set, not an IAM document."""


def profile_of(stack: str):
    return load_profile(stack_config(stack))


def policy_documents(program: Synthesis):
    """Every IAM document in the program: identity policies, trust policies and resource policies."""
    for resource in program.resources:
        for key in ("policy", "assumeRolePolicy"):
            if isinstance(resource.inputs.get(key), str) and resource.type not in NOT_IAM_POLICIES:
                yield resource, key, json.loads(resource.inputs[key])


def test_synthesizes_in_both_modes_with_every_output(stack, mode):
    program = synthesized(stack, mode)
    assert program.resources
    monitoring = profile_of(stack).monitoring
    operations = {"alarmTopicArn"} if monitoring.alarms else set()
    operations |= {"dashboardName"} if monitoring.dashboard else set()
    assert set(program.outputs) == EXPECTED_OUTPUTS | operations
    assert program.outputs["stateMachineArn"].endswith(f":stateMachine:image-pipeline-{stack}-process-upload")


def test_every_component_registers_its_outputs(stack, program):
    profile = profile_of(stack)
    # Operations creates only what the profile asks for: nothing at all in a stack that turns all three off.
    nothing_asked = not (profile.monitoring.alarms or profile.monitoring.dashboard or profile.backup.enabled)
    for component in (r for r in program.resources if not r.custom):
        assert program.component_outputs.get(component.urn), f"{component.urn}: register_outputs is empty or missing"
        if component.type == type_token(Operations) and nothing_asked:
            assert not program.children(component), f"{component.urn}: created something the profile did not ask for"
            continue
        assert program.children(component), f"{component.urn}: has no children parented to it"


def test_protection_and_retention_follow_the_profile(stack, program):
    profile = profile_of(stack)
    for resource in program.resources:
        if resource.type in STATEFUL_TYPES:
            assert resource.protect == profile.protect, resource.urn
            assert resource.retain_on_delete == profile.retain_on_delete, resource.urn
        else:
            assert not resource.protect, f"{resource.urn}: only stateful resources are protected"


def test_dev_is_disposable_and_costs_only_its_two_secrets_while_idle():
    dev = synthesized("dev")
    assert not [r.urn for r in dev.resources if r.protect or r.retain_on_delete]
    idle = {dev.by_urn(cost.urn).name: cost.usd_per_month for cost in idle_costs(dev)}
    secret = SECRET_MONTH.per_unit
    assert idle == {"catalog-cluster": secret, "catalog-writer-secret": secret}, (
        "dev scales to zero but for the master user's secret (RDS-managed) and the writer role's"
    )
    assert not dev.of_type("aws:ec2/natGateway:NatGateway")
    assert dev.one("aws:rds/cluster:Cluster").inputs["serverlessv2ScalingConfiguration"]["minCapacity"] == 0
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
    assert all(q.inputs["kmsMasterKeyId"] == key_arn for q in prod.of_type("aws:sqs/queue:Queue"))
    assert prod.one("aws:sns/topic:Topic").inputs["kmsMasterKeyId"] == key_arn
    assert prod.one("aws:backup/vault:Vault").inputs["kmsKeyArn"] == key_arn
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
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == program.account, role.urn


def test_every_aws_resource_uses_the_tagging_provider(stack, program):
    provider = program.one("pulumi:providers:aws", "aws")
    # Provider configuration reaches the provider as JSON text, as it does from the Pulumi CLI.
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert {"Project": "image-pipeline", "Environment": stack, "ManagedBy": "pulumi"}.items() <= tags.items()
    assert profile_of(stack).tags.items() <= tags.items(), "user tags from the profile reach every resource"
    untagged = [
        r.urn for r in program.resources if r.type.startswith("aws:") and not r.provider.startswith(provider.urn)
    ]
    assert not untagged, f"resources outside the tagging provider: {untagged}"


def test_each_processor_may_do_exactly_its_job(program):
    def grants(owner: str) -> set[str]:
        """The role policies of the component `owner` (the workflow `process-upload` shares its name's prefix)."""
        prefix = f"{owner}-"
        return {p.name.removeprefix(prefix) for p in program.of_type("aws:iam/rolePolicy:RolePolicy")
                if p.parent.endswith(f"::{owner}") and not p.name.startswith(f"{owner}-execution")}  # fmt: skip

    reads = {"read-uploads-uploads", "list-uploads-uploads", "update-images"}
    renditions = {"write-results-renditions", "delete-results-renditions"}
    assert grants("process") == reads | renditions | {"logs-and-traces", "read-write-idempotency"}
    assert grants("worker") == reads | renditions, "the worker does no idempotency and writes no Lambda logs"
    functions = {f.inputs["handler"] for f in program.of_type("aws:lambda/function:Function")}
    assert {handler for handler in functions if handler.startswith("pipeline.")} == {"pipeline.process.handler"}


def test_prod_idle_costs_are_the_ones_it_chose():
    prod = synthesized("prod")
    kinds = sorted(cost.what.split(",")[0] for cost in idle_costs(prod))
    assert kinds.count("interface endpoint in 2 AZs") == 5
    assert "customer-managed KMS key" in kinds
    assert any(kind.startswith("Aurora Serverless v2 at its minimum 0.5 ACU") for kind in kinds)
    assert kinds.count("Secrets Manager secret") == 1
    assert kinds.count("master-user secret that RDS manages in Secrets Manager") == 1


def test_handlers_get_the_tables_buckets_and_image_settings(stack, program):
    images = load_settings(stack_config(stack)).images
    function = program.one("aws:lambda/function:Function", "process-function").inputs
    variables = function["environment"]["variables"]
    assert variables["TABLE_NAME"] == program.outputs["imagesTable"]
    assert variables["RESULTS_BUCKET"] == program.outputs["resultsBucket"]
    assert variables["IDEMPOTENCY_TABLE"] == program.one("aws:dynamodb/table:Table", "idempotency-table").id
    assert variables["RENDITION_SIZES"] == ",".join(map(str, images.rendition_sizes))
    assert variables["MAX_IMAGE_PIXELS"] == str(images.max_megapixels * 1_000_000)
    lambda_settings = profile_of(stack).lambda_
    assert (function["memorySize"], function["timeout"]) == (lambda_settings.memory_mb, lambda_settings.timeout_seconds)
    assert variables["RENDER_MEMORY_MB"] == str(function["memorySize"]), "it routes on the memory it renders with"
