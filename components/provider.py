"""The stack's AWS provider: region from `aws:region`, and the project's tags on every taggable resource."""

import pulumi
import pulumi_aws as aws

from components.naming import stack_tags
from components.profile import EnvironmentProfile


def aws_provider(profile: EnvironmentProfile) -> aws.Provider:
    """An explicit provider, so `default_tags` reach every resource without each component repeating them."""
    return aws.Provider(
        "aws",
        region=pulumi.Config("aws").require("region"),
        default_tags={"tags": stack_tags(profile.tags)},
    )
