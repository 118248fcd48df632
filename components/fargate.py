"""A Fargate task a workflow can run: cluster, image repository, the image itself, roles and task definition.

The image is built from a Dockerfile for linux/arm64 and pushed with `pulumi-docker-build`; its tag is the hash of
the build context, so the repository can keep tags immutable and an unchanged context means no new image and no
new task definition revision. The task definition pins the image by digest.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from components import iam
from components.base import ChildTransform, Component
from components.environment import secret_looking
from components.iam import Statement
from components.key import EncryptionKey
from components.logs import log_group
from components.naming import physical_name
from components.profile import EnvironmentProfile
from components.states import Catch, IntegrationPattern, Task, service_resource

CONTAINER_NAME = "worker"
CONTAINER_USER = "10001:10001"
SCRATCH_VOLUME = "scratch"
SCRATCH_PATH = "/tmp"
KEEP_IMAGES = 10

PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
AUTH_ACTIONS = ("ecr:GetAuthorizationToken",)
"""ECR's registry login has no resource scope: the one `"Resource": "*"` of the execution role."""
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
ECS_EVENTS_RULE = "StepFunctionsGetEventsForECSTaskRule"
"""The managed rule through which Step Functions learns that a `.sync` task stopped."""
TRANSIENT_ERRORS = ("ECS.AmazonECSException", "ECS.ServerException", "ECS.LimitExceededException")
"""Capacity shortfalls ("Capacity is unavailable at this time") and throttling: worth a retry with backoff. Error
shapes of botocore's ecs model with the `ECS.` prefix of the optimized integration, and the SDK's base exception,
under which Step Functions reports an error code the SDK has no class for: ECS's throttling is one (the model has no
ThrottlingException shape, so `ECS.ThrottlingException` never occurs). Checked by tests/program/test_error_names.py."""
PLACEMENT_FAILED = "AmazonECS.Unknown"
"""A `.sync` RunTask whose answer lists `failures` (no capacity, no ENI in the subnet) fails with this name
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html): the task never existed, so it is retried."""


@dataclass(frozen=True)
class ContainerImage:
    context: Path
    """The build context directory."""
    dockerfile: Path
    include: Sequence[str] = ()
    """Paths under the context whose content makes the image (hashed into the tag); empty means all of it."""


@dataclass(frozen=True)
class TaskPlacement:
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    assign_public_ip: bool


@dataclass(frozen=True)
class FargateTaskArgs:
    profile: EnvironmentProfile
    image: ContainerImage
    placement: TaskPlacement
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain settings only; secrets go in `secrets` (name -> Secrets Manager or SSM ARN) and never here."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    key: EncryptionKey | None = None

    def __post_init__(self) -> None:
        leaked = secret_looking(self.environment)
        if leaked:
            raise ValueError(f"environment variables {leaked} look like secrets; pass them in `secrets` instead")


class FargateTask(iam.RoleOwner, Component):
    """Grants given to a FargateTask (`bucket.grant_read(task)`) go to its task role, never its execution role."""

    cluster_arn: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    role: aws.iam.Role

    def __init__(
        self,
        name: str,
        args: FargateTaskArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        super().__init__(name, opts, transform)
        self._args = args
        self.family = physical_name(name, "task-family")
        self.cluster = self._create_cluster(name)
        self.repository = self._create_repository(name)
        self.image = self._build_image(name)
        self.log_group = log_group(
            f"{name}-logs", f"/ecs/{self.family}", args.profile, args.key.arn if args.key else None, self
        )
        self.execution_role = self._create_role(name, "execution")
        self.role = self._create_role(name, "task")
        self.execution_policy = self._allow_pull_and_logs(name)
        self.task_definition = self._create_task_definition(name)
        self.cluster_arn = self.cluster.arn
        self.task_definition_arn = self.task_definition.arn
        self.finish(
            {
                "cluster_arn": self.cluster_arn,
                "task_definition_arn": self.task_definition_arn,
                "image_ref": self.image.ref,
                "task_role_arn": self.role.arn,
                "execution_role_arn": self.execution_role.arn,
            }
        )

    def grant_run(self, grantee: iam.Grantable) -> aws.iam.RolePolicy | None:
        """Exactly what `ecs:runTask.sync` needs: run this family on this cluster, tag the tasks it starts (the
        task definition carries the stack's tags and `run_task` propagates them, which ECS authorizes as
        `ecs:TagResource` on the new task, only as part of RunTask), watch and stop its tasks, pass its two roles to
        ECS only, and manage the managed rule that reports the task's end."""
        family = pulumi.Output.format(
            "arn:aws:ecs:{0}:{1}:task-definition/{2}:*", self.region, self.account_id, self.family
        )
        tasks = pulumi.Output.format("arn:aws:ecs:{0}:{1}:task/{2}/*", self.region, self.account_id, self.cluster.name)
        rule = pulumi.Output.format("arn:aws:events:{0}:{1}:rule/{2}", self.region, self.account_id, ECS_EVENTS_RULE)
        return grantee.add_to_role_policy(f"run-{self.logical_name}", [
            Statement(["ecs:RunTask"], [family], "RunTask", {"ArnEquals": {"ecs:cluster": self.cluster.arn}}),
            Statement(["ecs:TagResource"], [tasks], "TagTasksAtLaunch",
                      {"StringEquals": {"ecs:CreateAction": "RunTask"}}),
            Statement(["ecs:StopTask", "ecs:DescribeTasks"], [tasks], "WatchTasks",
                      {"ArnEquals": {"ecs:cluster": self.cluster.arn}}),
            Statement(["iam:PassRole"], [self.execution_role.arn, self.role.arn], "PassTaskRoles",
                      {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
            Statement(["events:PutTargets", "events:PutRule", "events:DescribeRule"], [rule], "SyncRule"),
        ])  # fmt: skip

    def run_task(
        self,
        name: str,
        *,
        environment: Mapping[str, str],
        timeout_seconds: int,
        next: str | None = None,
        result_path: str | None = "$.task",
        catch: Sequence[Catch] = (),
        comment: str = "",
    ) -> Task:
        """Run the task to completion (`.sync`), with container environment overrides; keys ending in `.$` are
        JSONPath or intrinsic functions, as in any Parameters block. Needs a STANDARD workflow.

        Pass references (a bucket and key), not data: ECS refuses overrides over 8192 characters. After
        `timeout_seconds` the state fails with States.Timeout and Step Functions stops the task."""
        overrides = [
            {"Name": key.removesuffix(".$"), ("Value.$" if key.endswith(".$") else "Value"): value}
            for key, value in environment.items()
        ]
        placement = self._args.placement
        return Task(
            name=name,
            resource=service_resource("ecs", "runTask", IntegrationPattern.RUN_JOB),
            integration=IntegrationPattern.RUN_JOB,
            parameters={
                "LaunchType": "FARGATE",
                "PlatformVersion": "LATEST",
                "Cluster": self.cluster.arn,
                "TaskDefinition": self.task_definition.arn,
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {
                        "Subnets": list(placement.subnet_ids),
                        "SecurityGroups": list(placement.security_group_ids),
                        "AssignPublicIp": "ENABLED" if placement.assign_public_ip else "DISABLED",
                    }
                },
                "Overrides": {"ContainerOverrides": [{"Name": CONTAINER_NAME, "Environment": overrides}]},
                "PropagateTags": "TASK_DEFINITION",
            },
            statements=iam.statements_of(self.grant_run),
            transient_errors=(*TRANSIENT_ERRORS, PLACEMENT_FAILED),
            timeout_seconds=timeout_seconds,
            result_path=result_path,
            next=next,
            catch=catch,
            comment=comment,
        )

    def _create_cluster(self, name: str) -> aws.ecs.Cluster:
        insights = "enabled" if self._args.profile.fargate.container_insights else "disabled"
        return aws.ecs.Cluster(
            f"{name}-cluster",
            name=physical_name(name, "cluster"),
            settings=[{"name": "containerInsights", "value": insights}],
            opts=self.child(),
        )

    def _create_repository(self, name: str) -> aws.ecr.Repository:
        key = self._args.key
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=physical_name(name, "repository"),
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[
                {"encryption_type": "KMS", "kms_key": key.arn} if key else {"encryption_type": "AES256"}
            ],
            force_delete=self._args.profile.force_destroy,
            opts=self._args.profile.stateful(self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-repository-lifecycle",
            repository=repository.name,
            policy=json.dumps(_lifecycle_policy()),
            opts=self.child(),
        )
        return repository

    def _build_image(self, name: str) -> docker_build.Image:
        image = self._args.image
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return docker_build.Image(
            f"{name}-image",
            context={"location": str(image.context)},
            dockerfile={"location": str(image.dockerfile)},
            platforms=[docker_build.Platform.LINUX_ARM64],
            tags=[self.repository.repository_url.apply(lambda url: f"{url}:{context_digest(image)}")],
            push=True,
            registries=[
                {
                    "address": self.repository.repository_url,
                    "username": token.user_name,
                    "password": token.password,
                }
            ],
            opts=self.child(),
        )

    def _create_role(self, name: str, purpose: str) -> aws.iam.Role:
        source = pulumi.Output.format("arn:aws:ecs:{0}:{1}:*", self.region, self.account_id)
        return aws.iam.Role(
            f"{name}-{purpose}-role",
            name=physical_name(f"{name}-{purpose}", "role"),
            assume_role_policy=iam.trust_policy("ecs-tasks.amazonaws.com", self.account_id, source),
            opts=self.child(),
        )

    def _allow_pull_and_logs(self, name: str) -> aws.iam.RolePolicy:
        streams = self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:*")
        statements = [
            Statement(PULL_ACTIONS, [self.repository.arn], "PullWorkerImage"),
            Statement(AUTH_ACTIONS, ["*"], "EcrLoginHasNoResourceScope"),
            Statement(LOG_ACTIONS, [streams], "WriteOwnLogGroup"),
        ]
        if self._args.secrets:
            statements.append(
                Statement(["secretsmanager:GetSecretValue"], list(self._args.secrets.values()), "Secrets")
            )
        if self._args.key is not None:
            statements += iam.statements_of(self._args.key.grant_decrypt)
        return aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=self.execution_role.id,
            policy=iam.policy_document(statements),
            opts=self.child(),
        )

    def _create_task_definition(self, name: str) -> aws.ecs.TaskDefinition:
        settings = self._args.profile.fargate
        container = pulumi.Output.all(
            image=self.image.ref,
            group=self.log_group.name,
            region=self.region,
            environment=dict(self._args.environment),
            secrets=dict(self._args.secrets),
        ).apply(lambda values: json.dumps([_container(memory_mb=settings.memory_mb, **values)]))
        return aws.ecs.TaskDefinition(
            f"{name}-task-definition",
            family=self.family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(settings.cpu),
            memory=str(settings.memory_mb),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "ARM64"},
            ephemeral_storage={"size_in_gib": settings.ephemeral_storage_gib},
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.role.arn,
            volumes=[{"name": SCRATCH_VOLUME}],
            container_definitions=container,
            opts=self.child(depends_on=[self.execution_policy]),
        )


def context_digest(image: ContainerImage) -> str:
    """Hash of the files that make the image: same content, same tag (the repository's tags are immutable)."""
    roots = [image.context / path for path in image.include] or [image.context]
    files = sorted({file for root in [*roots, image.dockerfile] for file in _files(root)})
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(image.context).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return [path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts]


def _container(
    *, image: str, group: str, region: str, environment: dict, secrets: dict, memory_mb: int
) -> dict[str, Any]:
    """Read-only root filesystem, a non-root user, no privileges; the only writable place is the scratch volume."""
    return {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "user": CONTAINER_USER,
        "readonlyRootFilesystem": True,
        "privileged": False,
        "memory": memory_mb,
        "environment": [{"name": name, "value": value} for name, value in sorted(environment.items())],
        "secrets": [{"name": name, "valueFrom": arn} for name, arn in sorted(secrets.items())],
        "mountPoints": [{"sourceVolume": SCRATCH_VOLUME, "containerPath": SCRATCH_PATH, "readOnly": False}],
        "linuxParameters": {"initProcessEnabled": True},
        "stopTimeout": 30,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": CONTAINER_NAME},
        },
    }


def _lifecycle_policy() -> dict[str, Any]:
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Untagged layers are leftovers of interrupted pushes",
                "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                              "countNumber": 1},
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the last {KEEP_IMAGES} images: enough to roll back",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
                "action": {"type": "expire"},
            },
        ]
    }  # fmt: skip
