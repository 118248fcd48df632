"""FargateTask: ECS/ECR security baseline, the image build, roles, and exactly what `.sync` needs."""

import dataclasses
import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from components.bucket import Bucket, BucketArgs
from components.fargate import (
    DEFAULT_CONTAINER_NAME,
    ContainerImage,
    FargateTask,
    FargateTaskArgs,
    TaskPlacement,
    context_digest,
    task_failed_pattern,
)
from components.key import EncryptionKey, EncryptionKeyArgs
from components.profile import FargateSettings
from components.states import Definition
from components.workflow import Workflow, WorkflowArgs
from emulator.adaptations import matches_event
from synth.program import SynthesisError
from tests import reference
from tests.helpers import DISPOSABLE, PROTECTED, run, statements

PLACEMENT = TaskPlacement(subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-task"], assign_public_ip=False)
IMAGE = reference.image()
"""A made-up image: a Dockerfile and the package it copies, in a directory of its own."""
PREFIX = "arn:aws:ecs:eu-west-1:123456789012"


def declare(profile=DISPOSABLE, with_key=False, placement=PLACEMENT, build=None, **kwargs):
    def program():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        task = FargateTask(
            "worker",
            FargateTaskArgs(
                profile=profile.args, image=IMAGE, placement=placement, kms_key_arn=key.arn if key else None, **kwargs
            ),
        )
        if build:
            build(task)

    return run(program)


def container(synthesis):
    (definition,) = json.loads(synthesis.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    return definition


def test_task_definition_is_fargate_arm64_sized_by_the_profile():
    profile = dataclasses.replace(
        DISPOSABLE, fargate=FargateSettings(cpu=1024, memory_mb=4096, ephemeral_storage_gib=30)
    )
    task = declare(profile).one("aws:ecs/taskDefinition:TaskDefinition")
    assert task.inputs["requiresCompatibilities"] == ["FARGATE"]
    assert task.inputs["networkMode"] == "awsvpc"
    assert task.inputs["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("1024", "4096")
    assert task.inputs["ephemeralStorage"] == {"sizeInGib": 30}


def test_container_is_read_only_unprivileged_non_root_with_a_scratch_volume():
    synthesis = declare()
    definition = container(synthesis)
    assert definition["readonlyRootFilesystem"] is True  # ECS.5
    assert definition["privileged"] is False  # ECS.4
    assert definition["user"] == "10001:10001"
    assert definition["mountPoints"] == [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}]
    assert synthesis.one("aws:ecs/taskDefinition:TaskDefinition").inputs["volumes"] == [{"name": "scratch"}]


def test_logs_go_to_its_own_group_with_retention():
    synthesis = declare(container_name="worker")
    group = synthesis.one("aws:cloudwatch/logGroup:LogGroup", "worker-logs")
    assert group.inputs["name"] == "/ecs/image-pipeline-unit-worker"
    assert group.inputs["retentionInDays"] == 7
    assert container(synthesis)["logConfiguration"] == {  # ECS.9
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": group.inputs["name"],
            "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "worker",
        },
    }


def test_environment_holds_settings_and_secrets_go_by_reference():
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"
    definition = container(declare(environment={"TABLE_NAME": "images"}, secrets={"DB_SECRET": secret}))
    assert definition["environment"] == [{"name": "TABLE_NAME", "value": "images"}]
    assert definition["secrets"] == [{"name": "DB_SECRET", "valueFrom": secret}]  # ECS.8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"environment": {"DB_PASSWORD": "x"}}, r"\['DB_PASSWORD'\] look like secrets; pass them in `secrets`"),
        ({"container_name": "worker.1"}, "container_name 'worker.1' is not allowed"),
        ({"placement": {**PLACEMENT, "subnet_ids": []}}, "placement.subnet_ids is empty"),
        ({"placement": {**PLACEMENT, "security_group_ids": []}}, "placement.security_group_ids is empty"),
    ],
    ids=["secret-in-environment", "container-name", "no-subnet", "no-security-group"],
)
def test_args_are_checked_before_anything_is_declared(kwargs, message):
    args = FargateTaskArgs(profile=DISPOSABLE.args, image=IMAGE, placement=PLACEMENT)
    with pytest.raises(SynthesisError, match=message) as error:
        run(lambda: FargateTask("worker", FargateTaskArgs(**(args | kwargs))))
    assert not error.value.declared, "nothing may be declared before the args are checked"


def test_the_container_is_named_main_unless_named():
    assert container(declare())["name"] == DEFAULT_CONTAINER_NAME == "main"
    assert container(declare(container_name="worker"))["name"] == "worker"


def test_outputs_are_the_annotated_attributes_and_name_the_task_definitions_parts():
    synthesis = declare(container_name="worker")
    outputs = synthesis.component_outputs[synthesis.one("platform:index:FargateTask").urn]
    assert set(outputs) == set(FargateTask.__annotations__), "the package schema's outputs are the annotations"
    definition = synthesis.one("aws:ecs/taskDefinition:TaskDefinition")
    assert outputs["task_definition_arn"] == definition.outputs["arn"]
    assert outputs["cluster_arn"] == synthesis.one("aws:ecs/cluster:Cluster").outputs["arn"]
    assert outputs["image_ref"] == container(synthesis)["image"]
    assert (outputs["task_role_arn"], outputs["execution_role_arn"]) == (
        definition.inputs["taskRoleArn"],
        definition.inputs["executionRoleArn"],
    )
    assert outputs["container_name"] == "worker"


def test_repository_scans_on_push_keeps_tags_immutable_and_expires_old_images():
    synthesis = declare()
    repository = synthesis.one("aws:ecr/repository:Repository")
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}  # ECR.1
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"  # ECR.2
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    rules = json.loads(synthesis.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]  # ECR.3
    assert [rule["selection"]["tagStatus"] for rule in rules] == ["untagged", "any"]


def test_customer_key_encrypts_the_repository_and_logs_and_the_repository_is_kept():
    synthesis = declare(PROTECTED, with_key=True)
    key_arn = synthesis.one("aws:kms/key:Key").outputs["arn"]
    repository = synthesis.one("aws:ecr/repository:Repository")
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn}]
    assert (repository.protect, repository.retain_on_delete, repository.inputs["forceDelete"]) == (True, True, False)
    assert all(group.inputs["kmsKeyId"] == key_arn for group in synthesis.of_type("aws:cloudwatch/logGroup:LogGroup"))


def test_container_insights_follow_the_profile():
    on = declare(PROTECTED).one("aws:ecs/cluster:Cluster").inputs["settings"]
    quiet = dataclasses.replace(DISPOSABLE, fargate=FargateSettings(container_insights=False))
    off = declare(quiet).one("aws:ecs/cluster:Cluster").inputs["settings"]
    assert on == [{"name": "containerInsights", "value": "enabled"}]
    assert off == [{"name": "containerInsights", "value": "disabled"}]


def test_container_insights_write_to_a_log_group_the_stack_declares_first():
    """Otherwise Container Insights creates it with a retention and encryption of its own choosing."""
    synthesis = declare(PROTECTED, with_key=True)
    cluster = synthesis.one("aws:ecs/cluster:Cluster")
    group = synthesis.one("aws:cloudwatch/logGroup:LogGroup", "worker-performance-logs")
    assert group.inputs["name"] == f"/aws/ecs/containerinsights/{cluster.inputs['name']}/performance"
    assert group.inputs["retentionInDays"] == PROTECTED.log_retention_days
    assert group.inputs["kmsKeyId"] == synthesis.one("aws:kms/key:Key").outputs["arn"]
    assert (group.protect, group.retain_on_delete) == (PROTECTED.protect, PROTECTED.retain_on_delete)
    assert group.urn in cluster.dependencies, "the group exists before Container Insights writes to it"
    quiet = dataclasses.replace(DISPOSABLE, fargate=FargateSettings(container_insights=False))
    assert [g.name for g in declare(quiet).of_type("aws:cloudwatch/logGroup:LogGroup")] == ["worker-logs"]


def test_the_image_is_built_for_arm64_from_its_dockerfile_and_pinned_by_digest():
    synthesis = declare()
    image = synthesis.one("docker-build:index:Image")
    assert image.inputs["platforms"] == ["linux/arm64"]
    assert image.inputs["context"] == {"location": IMAGE["context"]}
    assert image.inputs["dockerfile"] == {"location": IMAGE["dockerfile"]}
    assert image.inputs["push"] is True
    repository_url = synthesis.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert image.inputs["tags"] == [f"{repository_url}:{context_digest(IMAGE)}"]
    assert image.inputs["registries"][0]["address"] == repository_url
    assert container(synthesis)["image"] == image.outputs["ref"]
    assert "@sha256:" in container(synthesis)["image"], "the task runs exactly the image that was pushed"


def test_the_image_tag_changes_with_the_code_and_only_with_it(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print(1)\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    image = ContainerImage(context=str(tmp_path), dockerfile=str(tmp_path / "Dockerfile"), include=["app"])
    first = context_digest(image)
    (tmp_path / "notes.txt").write_text("not part of the image\n")
    assert context_digest(image) == first
    (tmp_path / "app" / "main.py").write_text("print(2)\n")
    assert context_digest(image) != first


def test_execution_role_may_pull_this_image_and_write_these_logs_only():
    synthesis = declare()
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "worker-execution-policy")
    repository_arn = synthesis.one("aws:ecr/repository:Repository").outputs["arn"]
    group_arn = synthesis.one("aws:cloudwatch/logGroup:LogGroup", "worker-logs").outputs["arn"]
    by_sid = {s["Sid"]: (s["Action"], s["Resource"]) for s in statements(policy)}
    assert by_sid == {
        "PullWorkerImage": (
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            [repository_arn],
        ),
        "EcrLoginHasNoResourceScope": (["ecr:GetAuthorizationToken"], ["*"]),
        "WriteOwnLogGroup": (["logs:CreateLogStream", "logs:PutLogEvents"], [f"{group_arn}:log-stream:*"]),
    }


def test_task_and_execution_roles_are_separate_and_trust_only_ecs_tasks_here():
    synthesis = declare()
    definition = synthesis.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    task_role = synthesis.one("aws:iam/role:Role", "worker-task-role")
    execution_role = synthesis.one("aws:iam/role:Role", "worker-execution-role")
    assert definition["taskRoleArn"] == task_role.outputs["arn"]
    assert definition["executionRoleArn"] == execution_role.outputs["arn"]
    for role in (task_role, execution_role):
        (trust,) = statements(role, "assumeRolePolicy")
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}, role.urn
        assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": f"{PREFIX}:*"}, role.urn


def test_grants_go_to_the_task_role():
    def grant(task):
        Bucket("photos", BucketArgs(profile=DISPOSABLE.args)).grant_read(task, prefix="uploads/")

    policy = declare(build=grant).one("aws:iam/rolePolicy:RolePolicy", "worker-read-photos-uploads")
    assert policy.inputs["role"] == "image-pipeline-unit-worker-task"


def test_the_run_grant_is_exactly_what_sync_needs():
    def workflow(task):
        standard = dataclasses.replace(DISPOSABLE)
        definition = Definition(
            start_at="Run", states=[task.run_task("Run", environment={"UPLOAD.$": "$"}, timeout_seconds=600)]
        )
        Workflow(
            "heavy",
            WorkflowArgs(
                profile=standard.args,
                **definition.workflow_args(standard),
                type=__import__("components.profile").profile.WorkflowType.STANDARD,
            ),
        )

    synthesis = declare(build=workflow)
    cluster_arn = synthesis.one("aws:ecs/cluster:Cluster").outputs["arn"]
    found = {s["Sid"]: s for s in statements(synthesis.one("aws:iam/rolePolicy:RolePolicy", "heavy-tasks"))}
    assert found["RunTask"] == {
        "Sid": "RunTask", "Effect": "Allow", "Action": ["ecs:RunTask"],
        "Resource": [f"{PREFIX}:task-definition/image-pipeline-unit-worker:*"],
        "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
    }  # fmt: skip
    assert found["TagTasksAtLaunch"] == {
        "Sid": "TagTasksAtLaunch", "Effect": "Allow", "Action": ["ecs:TagResource"],
        "Resource": [f"{PREFIX}:task/image-pipeline-unit-worker/*"],
        "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
    }, "PropagateTags makes RunTask tag the new task, which ECS authorizes as ecs:TagResource"  # fmt: skip
    assert found["WatchTasks"]["Action"] == ["ecs:DescribeTasks", "ecs:StopTask"]
    assert found["WatchTasks"]["Resource"] == [f"{PREFIX}:task/image-pipeline-unit-worker/*"]
    assert found["PassTaskRoles"]["Resource"] == [
        "arn:aws:iam::123456789012:role/image-pipeline-unit-worker-execution",
        "arn:aws:iam::123456789012:role/image-pipeline-unit-worker-task",
    ]
    assert found["PassTaskRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert found["SyncRule"]["Action"] == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert found["SyncRule"]["Resource"] == [
        "arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule"
    ]
    assert set(found) == {"RunTask", "TagTasksAtLaunch", "WatchTasks", "PassTaskRoles", "SyncRule",
                          "LogDeliveryHasNoResourceScope", "XRayHasNoResourceScope"}  # fmt: skip


def test_run_task_passes_the_work_as_container_overrides_and_follows_the_placement():
    def workflow(task):
        definition = Definition(
            start_at="Run",
            states=[task.run_task("Run", environment={"UPLOAD.$": "$.x", "MODE": "heavy"}, timeout_seconds=600)],
        )
        Workflow(
            "heavy",
            WorkflowArgs(
                profile=DISPOSABLE.args,
                **definition.workflow_args(DISPOSABLE),
                type=__import__("components.profile").profile.WorkflowType.STANDARD,
            ),
        )

    placement = TaskPlacement(subnet_ids=["subnet-public"], security_group_ids=["sg-task"], assign_public_ip=True)
    synthesis = declare(placement=placement, build=workflow, container_name="worker")
    state = json.loads(synthesis.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])["States"]["Run"]
    assert state["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    assert state["Parameters"]["Overrides"] == {
        "ContainerOverrides": [
            {
                "Name": "worker",
                "Environment": [{"Name": "UPLOAD", "Value.$": "$.x"}, {"Name": "MODE", "Value": "heavy"}],
            }
        ]
    }
    assert state["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"] == {
        "Subnets": ["subnet-public"], "SecurityGroups": ["sg-task"], "AssignPublicIp": "ENABLED",
    }  # fmt: skip
    assert {"ECS.AmazonECSException", "AmazonECS.Unknown"} <= set(state["Retry"][0]["ErrorEquals"])
    assert state["TimeoutSeconds"] == 600
    assert len(json.dumps(state["Parameters"]["Overrides"])) < 8192


def test_an_express_workflow_cannot_run_the_task():
    def workflow(task):
        Workflow(
            "heavy",
            WorkflowArgs(
                profile=DISPOSABLE.args,
                **Definition(
                    start_at="Run", states=[task.run_task("Run", environment={}, timeout_seconds=60)]
                ).workflow_args(DISPOSABLE),
            ),
        )

    with pytest.raises(SynthesisError, match=r"EXPRESS workflows support only request-response.*'Run' \(RUN_JOB"):
        declare(build=workflow)


# The failure event: ECS's own event of a stopped task, routed as EventBridge routes it (the local cloud's matcher,
# emulator/adaptations.py, which follows EventBridge where moto does not: arrays of objects).

CLUSTER = f"{PREFIX}:cluster/pipeline-worker"
FAMILY = f"{PREFIX}:task-definition/pipeline-worker"
EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_STALE = 0, 1, 2, 3
"""A worker's exit codes, as the sample's (handlers/pipeline/contract.py): a platform test does not import it."""
CLEAN = [EXIT_OK, EXIT_REFUSED, EXIT_STALE]
"""The sample's clean exits (handlers/pipeline/contract.py): rendered, refused, superseded."""


def stopped_task(
    exit_code: int | None = EXIT_FAILED,
    *,
    stop_code: str = "EssentialContainerExited",
    status: str = "STOPPED",
    cluster: str = CLUSTER,
    family: str = FAMILY,
) -> dict[str, Any]:
    """An `ECS Task State Change` event as ECS sends it (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/
    ecs_task_events.html): the task as DescribeTasks shows it, with ISO timestamps; the container's `exitCode` is
    there once it has exited, and absent when the task never started."""
    task = f"{cluster.replace(':cluster/', ':task/')}/c13b4cb40f1f4fe4a2971f76ae5a47ad"
    container = {"containerArn": f"{PREFIX}:container/pipeline-worker/c13b4cb40f1f4fe4a2971f76ae5a47ad/cf159fd6",
                 "lastStatus": status, "name": "main", "taskArn": task, "cpu": "0",
                 "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/pipeline-worker@sha256:74b2c688"}  # fmt: skip
    detail: dict[str, Any] = {
        "clusterArn": cluster, "containers": [container], "createdAt": "2026-01-05T10:00:00.402Z",
        "launchType": "FARGATE", "cpu": "1024", "memory": "4096", "desiredStatus": "STOPPED", "lastStatus": status,
        "group": f"family:{family.rsplit('/', 1)[-1]}", "taskArn": task, "taskDefinitionArn": f"{family}:7",
        "overrides": {"containerOverrides": [{"name": "main"}]}, "version": 4,
    }  # fmt: skip
    if status == "STOPPED":
        detail.update(stopCode=stop_code, stoppedAt="2026-01-05T10:01:30.103Z", stoppingAt="2026-01-05T10:01:29.9Z")
        if stop_code == "TaskFailedToStart":
            detail["stoppedReason"] = container["reason"] = "CannotPullContainerError: pull access denied"
        else:
            detail["stoppedReason"] = "Essential container in task exited"
            container["exitCode"] = exit_code
    return {"version": "0", "id": "3317b2af-7005-947d-b652-f55e762e571a", "detail-type": "ECS Task State Change",
            "source": "aws.ecs", "account": "123456789012", "time": "2026-01-05T10:01:30Z", "region": "eu-west-1",
            "resources": [task], "detail": detail}  # fmt: skip


ALERTED = {
    "failed (1)": stopped_task(EXIT_FAILED),
    "killed (137, SIGKILL: out of memory or the stop timeout)": stopped_task(137),
    "stopped by Step Functions (143, SIGTERM)": stopped_task(143, stop_code="UserInitiated"),
    "never started (no exit code)": stopped_task(None, stop_code="TaskFailedToStart"),
}
NOT_ALERTED = {
    "rendered (0)": stopped_task(EXIT_OK),
    "refused (2)": stopped_task(EXIT_REFUSED),
    "superseded (3)": stopped_task(EXIT_STALE),
    "another family": stopped_task(EXIT_FAILED, family=f"{PREFIX}:task-definition/nightly-batch"),
    "a family with the same prefix": stopped_task(EXIT_FAILED, family=f"{FAMILY}-v2"),
    "another cluster": stopped_task(EXIT_FAILED, cluster=f"{PREFIX}:cluster/other"),
    "still running": stopped_task(None, status="RUNNING"),
}


def routed(event: dict[str, Any]) -> bool:
    return matches_event(EventPattern.load(task_failed_pattern(CLUSTER, FAMILY, CLEAN)), event)


@pytest.mark.parametrize("event", ALERTED.values(), ids=ALERTED.keys())
def test_the_task_failed_rule_matches_a_stopped_task_that_exited_uncleanly_or_never_started(event):
    assert routed(event), json.dumps(event["detail"], indent=1)


@pytest.mark.parametrize("event", NOT_ALERTED.values(), ids=NOT_ALERTED.keys())
def test_the_task_failed_rule_ignores_clean_exits_other_tasks_and_running_ones(event):
    assert not routed(event), json.dumps(event["detail"], indent=1)
