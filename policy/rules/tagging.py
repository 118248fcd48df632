"""Every AWS resource goes through a provider whose default tags say which project, environment and tool own it:
cost reports, the console and incident response all start from those three tags."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import resource_rule

REQUIRED_TAGS = ("Project", "Environment", "ManagedBy")
PROVIDER_PREFIX = "pulumi:providers:"


def default_tags(provider_props: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's `defaultTags.tags`; provider configuration arrives as JSON text from the CLI."""
    raw = provider_props.get("defaultTags")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    tags = raw.get("tags") if isinstance(raw, Mapping) else None
    return dict(tags) if isinstance(tags, Mapping) else {}


def _check_tags(args: ResourceValidationArgs) -> Iterable[str]:
    if not args.resource_type.startswith("aws:"):
        return
    if args.provider is None:
        yield "no provider information: declare the resource through components.provider.aws_provider"
        return
    missing = [tag for tag in REQUIRED_TAGS if tag not in default_tags(args.provider.props)]
    if missing:
        yield f"provider {args.provider.name!r} does not add the tags {missing} to what it creates"


POLICIES = [
    resource_rule(
        name="aws-resources-tagged",
        description="AWS resources are created through a provider whose default tags name the project, environment "
        "and tool",
        severity=Severity.LOW,
        remediation="Pass pulumi.ResourceOptions(providers=[components.provider.aws_provider(profile)]) to the "
        "component; its default_tags carry Project, Environment and ManagedBy.",
        types=None,
        check=_check_tags,
        controls=["Tagging"],
    ),
]
