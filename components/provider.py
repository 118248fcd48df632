"""The stack's AWS provider: region from `aws:region`, the accounts the stack may deploy to (and the role to assume
there, if any) from the profile, and the project's tags on every taggable resource."""

import re

import pulumi
import pulumi_aws as aws

from components.naming import stack_tags
from components.profile import CONFIG_NAMESPACE, PROFILE_KEY, SET_ACCOUNT_COMMAND, EnvironmentProfile

SESSION_NAME_LIMIT = 64
"""STS's limit on a role session name (which may hold letters, digits and `+=,.@_-`)."""


def aws_provider(profile: EnvironmentProfile) -> aws.Provider:
    """An explicit provider, so `default_tags` reach every resource without each component repeating them, and so
    that a stack pointed at the wrong account fails when the provider starts: the provider compares the caller's
    account (after assuming `deployRoleArn`, when set) with `allowed_account_ids` before it reads or changes
    anything, and answers `AWS account ID not allowed: <id>`."""
    if not profile.allowed_account_ids:
        raise pulumi.RunError(
            f"{CONFIG_NAMESPACE}:{PROFILE_KEY}.allowedAccountIds is empty: the provider would deploy to any account; "
            f"set it with `{SET_ACCOUNT_COMMAND}`"
        )
    return aws.Provider(
        "aws",
        region=pulumi.Config("aws").require("region"),
        allowed_account_ids=list(profile.allowed_account_ids),
        assume_roles=(
            [aws.ProviderAssumeRoleArgs(role_arn=profile.deploy_role_arn, session_name=deploy_session_name())]
            if profile.deploy_role_arn
            else None
        ),
        default_tags={"tags": stack_tags(profile.tags)},
    )


def deploy_session_name() -> str:
    """`pulumi-<project>-<stack>`: CloudTrail shows which stack's deployment made each call with the deploy role."""
    name = re.sub(r"[^\w+=,.@-]", "-", f"pulumi-{pulumi.get_project()}-{pulumi.get_stack()}")
    return name[:SESSION_NAME_LIMIT]
