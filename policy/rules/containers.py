"""ECS and ECR (baseline §6): containers that cannot escalate or write their image, log through awslogs, take
secrets by reference; separate task and execution roles; repositories that scan, keep tags immutable and expire
old images."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from .base import COST, Finding, as_list, of_type, refers_to, resource_rule, stack_rule

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
CLUSTER = "aws:ecs/cluster:Cluster"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ROOT_USERS = ("", "root", "0", "0:0")


def container_definitions(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The task's containers: `containerDefinitions` is JSON text in pulumi-aws (a list, if already parsed)."""
    raw = props.get("containerDefinitions")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [c for c in as_list(raw) if isinstance(c, Mapping)]


def _containers(args: ResourceValidationArgs) -> list[tuple[str, Mapping[str, Any]]]:
    return [(str(c.get("name", "?")), c) for c in container_definitions(args.props)]


def _check_privileged(args: ResourceValidationArgs) -> Iterable[str]:
    for name, container in _containers(args):
        if container.get("privileged") is True:
            yield f"container {name!r} is privileged"


def _check_read_only_root(args: ResourceValidationArgs) -> Iterable[str]:
    for name, container in _containers(args):
        if container.get("readonlyRootFilesystem") is not True:
            yield f"container {name!r} can write its root filesystem; mount a scratch volume for what it must write"


def _check_non_root(args: ResourceValidationArgs) -> Iterable[str]:
    for name, container in _containers(args):
        user = str(container.get("user") or "")
        if user in ROOT_USERS or user.startswith("0:") or user.startswith("root:"):
            yield f"container {name!r} runs as root (user {user!r})"


def _check_awslogs(args: ResourceValidationArgs) -> Iterable[str]:
    for name, container in _containers(args):
        configuration = container.get("logConfiguration") or {}
        options = configuration.get("options") or {}
        if configuration.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            yield f"container {name!r} does not log with the awslogs driver to a named group"


def _check_roles(args: ResourceValidationArgs) -> Iterable[str]:
    task, execution = args.props.get("taskRoleArn"), args.props.get("executionRoleArn")
    if not task or not execution:
        yield "needs both a task role (what the code may do) and an execution role (pull the image, write logs)"
    elif task == execution:
        yield "uses one role as both task and execution role; the code would get the image-pull and log rights"


def _check_container_insights(args: ResourceValidationArgs) -> Iterable[str]:
    settings = {s.get("name"): s.get("value") for s in as_list(args.props.get("settings")) if isinstance(s, Mapping)}
    if settings.get("containerInsights") not in ("enabled", "enhanced"):
        yield "Container Insights is off"


def _check_scan_on_push(args: ResourceValidationArgs) -> Iterable[str]:
    if (args.props.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
        yield "images are not scanned on push"


def _check_immutable_tags(args: ResourceValidationArgs) -> Iterable[str]:
    mutability = args.props.get("imageTagMutability")
    if mutability not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        yield f"image tag mutability is {mutability!r}; a pushed tag could be replaced by another image"


def _check_repository_lifecycle(args: StackValidationArgs) -> Iterable[Finding]:
    policies = of_type(args, LIFECYCLE_POLICY)
    for repository in of_type(args, REPOSITORY):
        if not any(refers_to(policy, "repository", repository, "name") for policy in policies):
            yield f"repository {repository.name!r} has no lifecycle policy: old images pile up", repository.urn


POLICIES = [
    resource_rule(
        name="ecs-not-privileged",
        description="No container runs privileged",
        severity=Severity.HIGH,
        remediation="Remove `privileged: true` from the container definition (components.fargate sets False).",
        types=[TASK_DEFINITION],
        check=_check_privileged,
        controls=["ECS.4"],
    ),
    resource_rule(
        name="ecs-read-only-root-filesystem",
        description="Every container has a read-only root filesystem",
        severity=Severity.MEDIUM,
        remediation="Set readonlyRootFilesystem to true and mount a volume where the code must write.",
        types=[TASK_DEFINITION],
        check=_check_read_only_root,
        controls=["ECS.5"],
    ),
    resource_rule(
        name="ecs-non-root-user",
        description="Every container names a non-root user",
        severity=Severity.MEDIUM,
        remediation="Set `user` to an unprivileged uid:gid (components.fargate uses 10001:10001) and build the image "
        "for it.",
        types=[TASK_DEFINITION],
        check=_check_non_root,
        controls=["ECS.5 (hardening)"],
    ),
    resource_rule(
        name="ecs-awslogs",
        description="Every container logs with the awslogs driver to a named log group",
        severity=Severity.MEDIUM,
        remediation="Give each container logConfiguration {'logDriver': 'awslogs', 'options': {'awslogs-group': "
        "<a group the program declares>, ...}}.",
        types=[TASK_DEFINITION],
        check=_check_awslogs,
        controls=["ECS.9"],
    ),
    resource_rule(
        name="ecs-separate-roles",
        description="A task definition has a task role and a separate execution role",
        severity=Severity.MEDIUM,
        remediation="Pass execution_role_arn and task_role_arn of two different roles; grants go to the task role.",
        types=[TASK_DEFINITION],
        check=_check_roles,
        controls=["ECS task roles"],
    ),
    resource_rule(
        name="ecs-container-insights",
        description="ECS clusters have Container Insights on",
        severity=Severity.LOW,
        remediation="Set the profile's `fargate.containerInsights: true`.",
        types=[CLUSTER],
        check=_check_container_insights,
        controls=["ECS.12"],
        relaxable=COST,
    ),
    resource_rule(
        name="ecr-scan-on-push",
        description="ECR repositories scan images on push",
        severity=Severity.MEDIUM,
        remediation="Set image_scanning_configuration={'scan_on_push': True}.",
        types=[REPOSITORY],
        check=_check_scan_on_push,
        controls=["ECR.1"],
    ),
    resource_rule(
        name="ecr-immutable-tags",
        description="ECR repositories keep image tags immutable",
        severity=Severity.MEDIUM,
        remediation="Set image_tag_mutability='IMMUTABLE' and tag images by content (components.fargate does).",
        types=[REPOSITORY],
        check=_check_immutable_tags,
        controls=["ECR.2"],
    ),
    stack_rule(
        name="ecr-lifecycle-policy",
        description="Every ECR repository has a lifecycle policy",
        severity=Severity.LOW,
        remediation="Declare an aws.ecr.LifecyclePolicy for the repository (components.fargate keeps the last 10).",
        check=_check_repository_lifecycle,
        controls=["ECR.3"],
    ),
]
