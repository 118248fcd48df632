"""A Fargate task a workflow can run: cluster, image repository, the image itself, roles and task definition.

The image is built from a Dockerfile for linux/arm64 and pushed with `pulumi-docker-build`; its tag is the hash of
the build context, so the repository can keep tags immutable and an unchanged context means no new image and no
new task definition revision. The task definition pins the image by digest.
"""

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from components import iam
from components.base import ChildTransform, Component
from components.environment import secret_looking
from components.iam import Statement
from components.key import decrypt_statement
from components.logs import log_group
from components.monitoring import EventAlertArgs, Watch
from components.naming import physical_name
from components.profile import profile_from_args
from components.profile_args import ProfileArgs
from components.states import Catch, IntegrationPattern, Task, service_resource

DEFAULT_CONTAINER_NAME = "main"
CONTAINER_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,255}")
"""What ECS accepts as a container name."""
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


class ContainerImage(TypedDict):
    """The container image of a FargateTask, built from a Dockerfile for linux/arm64 and pushed to the task's
    repository, tagged with the hash of the files that make it."""

    context: str
    """The build context directory, as a path (relative paths are relative to the program's working directory)."""
    dockerfile: str
    """The Dockerfile, as a path (usually inside the context)."""
    include: NotRequired[list[str]]
    """Paths under the context whose content makes the image (hashed into the tag). Default: [] (all of the
    context)."""


class TaskPlacement(TypedDict):
    """Where a FargateTask's tasks run: a Network gives `task_subnet_ids` and `task_assign_public_ip`."""

    subnet_ids: list[pulumi.Input[str]]
    """The subnets a task may start in (at least one)."""
    security_group_ids: list[pulumi.Input[str]]
    """The task's security groups (at least one); grants no ingress of its own."""
    assign_public_ip: bool
    """Give the task a public IP: only where that is its way out (a Network in `public-ip` mode)."""


class FargateTaskArgs(TypedDict):
    """Arguments of a FargateTask."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    image: ContainerImage
    """The image the task runs, built and pushed during the deployment."""
    placement: TaskPlacement
    """Subnets, security groups and public IP of every task `run_task` starts."""
    container_name: NotRequired[str]
    """The task's one container, named in its log streams and in run-time overrides (1-255 letters, digits,
    hyphens and underscores). Default: "main" (`DEFAULT_CONTAINER_NAME`)."""
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    """Plain settings only, never a secret's value: a name that looks like a secret (`DB_PASSWORD`) is refused.
    Default: {}."""
    secrets: NotRequired[dict[str, pulumi.Input[str]]]
    """Variable name -> ARN of a Secrets Manager secret, injected by ECS at start (the execution role may read
    exactly these). Default: {}."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed KMS key for the repository and the log group (the execution role may decrypt with it).
    Default: none, AWS-managed encryption."""
    clean_exit_codes: NotRequired[list[int]]
    """Exit codes that are outcomes, not failures (e.g. an input refused and recorded): a task stopping with any
    other code, or failing to start, is reported to the stack's operations. Default: [0]."""


class FargateTask(iam.RoleOwner, Component):
    """A Fargate task a Standard workflow runs to completion: an ECS cluster, an image repository, the image built
    from a Dockerfile, a read-only non-root container, and separate execution and task roles. Grants given to a
    FargateTask (`bucket.grant_read(task)`) go to its task role, never its execution role."""

    cluster_arn: pulumi.Output[str]
    """The ECS cluster the tasks run in."""
    task_definition_arn: pulumi.Output[str]
    """The task definition's current revision."""
    image_ref: pulumi.Output[str]
    """The pushed image, pinned by digest (`<repository>:<tag>@sha256:...`)."""
    task_role_arn: pulumi.Output[str]
    """The role the container runs as: what grants extend."""
    execution_role_arn: pulumi.Output[str]
    """The role ECS starts the task with: pulls the image, writes the logs, reads `secrets`."""
    container_name: str
    """The task's container: the `Name` of a RunTask's `ContainerOverrides`."""

    def __init__(
        self,
        name: str,
        args: FargateTaskArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        profile = profile_from_args(args["profile"])
        _check(args)
        super().__init__(name, opts, transform)
        self._args = args
        self._profile = profile
        self._kms_key_arn = args.get("kms_key_arn")
        self.container_name = args.get("container_name", DEFAULT_CONTAINER_NAME)
        self.family = physical_name(name, "task-family")
        self.cluster = self._create_cluster(name)
        self.repository = self._create_repository(name)
        self.image = self._build_image(name)
        self.log_group = log_group(f"{name}-logs", f"/ecs/{self.family}", self._profile, self._kms_key_arn, self)
        self.execution_role = self._create_role(name, "execution")
        self.role = self._create_role(name, "task")
        self.execution_policy = self._allow_pull_and_logs(name)
        self.task_definition = self._create_task_definition(name)
        self.cluster_arn = self.cluster.arn
        self.task_definition_arn = self.task_definition.arn
        self.image_ref = self.image.ref
        self.task_role_arn = self.role.arn
        self.execution_role_arn = self.execution_role.arn
        self.finish(
            {
                "cluster_arn": self.cluster_arn,
                "task_definition_arn": self.task_definition_arn,
                "image_ref": self.image_ref,
                "task_role_arn": self.task_role_arn,
                "execution_role_arn": self.execution_role_arn,
                "container_name": self.container_name,
            }
        )

    def watch(self) -> Watch:
        """A one-off task is not a service, so it has no failure metric: ECS's own event of a task of this family
        stopping with an unclean exit code, or without starting (its container has no exit code then), is the
        alert."""
        clean = sorted(set(self._args.get("clean_exit_codes") or [0]))
        stopped = EventAlertArgs(
            name="task-failed",
            meaning=f"A task stopped with an exit code other than {', '.join(map(str, clean))}, or failed to start: "
            "its log stream and the event's stoppedReason say why.",
            event_pattern=pulumi.Output.all(self.cluster.arn, self.task_definition.arn_without_revision).apply(
                lambda arns: task_failed_pattern(*arns, clean)
            ),
        )
        return Watch(title=f"Fargate task {self.logical_name}", events=[stopped], log_groups=[self.log_group.name])

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
        placement = self._args["placement"]
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
                        "Subnets": list(placement["subnet_ids"]),
                        "SecurityGroups": list(placement["security_group_ids"]),
                        "AssignPublicIp": "ENABLED" if placement["assign_public_ip"] else "DISABLED",
                    }
                },
                "Overrides": {"ContainerOverrides": [{"Name": self.container_name, "Environment": overrides}]},
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
        cluster_name = physical_name(name, "cluster")
        insights = self._profile.fargate.container_insights
        performance_logs = [self._performance_log_group(name, cluster_name)] if insights else []
        return aws.ecs.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            settings=[{"name": "containerInsights", "value": "enabled" if insights else "disabled"}],
            opts=self.child(depends_on=performance_logs),
        )

    def _performance_log_group(self, name: str, cluster_name: str) -> aws.cloudwatch.LogGroup:
        """Container Insights writes its performance log events to a group named after the cluster and creates that
        group itself, with a retention and encryption the stack does not choose, unless it exists: declared first."""
        group_name = performance_log_group_name(cluster_name)
        return log_group(f"{name}-performance-logs", group_name, self._profile, self._kms_key_arn, self)

    def _create_repository(self, name: str) -> aws.ecr.Repository:
        key_arn = self._kms_key_arn
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=physical_name(name, "repository"),
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[
                {"encryption_type": "KMS", "kms_key": key_arn} if key_arn else {"encryption_type": "AES256"}
            ],
            force_delete=self._profile.force_destroy,
            opts=self._profile.stateful(self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-repository-lifecycle",
            repository=repository.name,
            policy=json.dumps(_lifecycle_policy()),
            opts=self.child(),
        )
        return repository

    def _build_image(self, name: str) -> docker_build.Image:
        image = self._args["image"]
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return docker_build.Image(
            f"{name}-image",
            context={"location": image["context"]},
            dockerfile={"location": image["dockerfile"]},
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
        secrets = self._args.get("secrets") or {}
        if secrets:
            statements.append(Statement(["secretsmanager:GetSecretValue"], list(secrets.values()), "Secrets"))
        if self._kms_key_arn is not None:
            statements.append(decrypt_statement(self._kms_key_arn))
        return aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=self.execution_role.id,
            policy=iam.policy_document(statements),
            opts=self.child(),
        )

    def _create_task_definition(self, name: str) -> aws.ecs.TaskDefinition:
        settings = self._profile.fargate
        container = pulumi.Output.all(
            image=self.image.ref,
            group=self.log_group.name,
            region=self.region,
            environment=dict(self._args.get("environment") or {}),
            secrets=dict(self._args.get("secrets") or {}),
        ).apply(
            lambda values: json.dumps([_container(name=self.container_name, memory_mb=settings.memory_mb, **values)])
        )
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


def task_failed_pattern(cluster_arn: str, family_arn: str, clean_exit_codes: Sequence[int]) -> str:
    """ECS's `Task State Change` of a stopped task of `family_arn` (any revision) on the cluster whose container
    exited with an unclean code, or that never started (`TaskFailedToStart`: image pull, capacity, ENI)."""
    detail = {
        "clusterArn": [cluster_arn],
        "taskDefinitionArn": [{"prefix": f"{family_arn}:"}],
        "lastStatus": ["STOPPED"],
        "$or": [
            {"containers": {"exitCode": [{"anything-but": list(clean_exit_codes)}]}},
            {"stopCode": ["TaskFailedToStart"]},
        ],
    }
    return json.dumps({"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": detail})


def _check(args: FargateTaskArgs) -> None:
    """Refuse, before anything is declared, what ECS would refuse at deployment or what would leak a secret."""
    leaked = secret_looking(args.get("environment") or {})
    if leaked:
        raise ValueError(f"environment variables {leaked} look like secrets; pass them in `secrets` instead")
    container_name = args.get("container_name", DEFAULT_CONTAINER_NAME)
    if not CONTAINER_NAME_PATTERN.fullmatch(container_name):
        raise ValueError(
            f"container_name {container_name!r} is not allowed; use 1-255 letters, digits, hyphens and underscores"
        )
    placement = args["placement"]
    for field in ("subnet_ids", "security_group_ids"):
        if not placement[field]:
            raise ValueError(f"placement.{field} is empty; a Fargate task needs at least one (a Network gives them)")


def context_digest(image: ContainerImage) -> str:
    """Hash of the files that make the image: same content, same tag (the repository's tags are immutable)."""
    context = Path(image["context"])
    roots = [context / path for path in image.get("include") or []] or [context]
    files = sorted({file for root in [*roots, Path(image["dockerfile"])] for file in _files(root)})
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(context).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return [path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts]


def _container(
    *, name: str, image: str, group: str, region: str, environment: dict, secrets: dict, memory_mb: int
) -> dict[str, Any]:
    """Read-only root filesystem, a non-root user, no privileges; the only writable place is the scratch volume."""
    return {
        "name": name,
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
            "options": {"awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": name},
        },
    }


def performance_log_group_name(cluster_name: str) -> str:
    """Where Container Insights writes a cluster's performance log events (AWS's fixed name for it)."""
    return f"/aws/ecs/containerinsights/{cluster_name}/performance"


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
