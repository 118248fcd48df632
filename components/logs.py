"""Explicit log groups: every service logs to a group we own, with retention and (with a CMK) encryption."""

import pulumi
import pulumi_aws as aws

from components.profile import EnvironmentProfile


def log_group(
    resource_name: str,
    group_name: pulumi.Input[str],
    profile: EnvironmentProfile,
    kms_key_arn: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> aws.cloudwatch.LogGroup:
    """Created before the service writes to it: otherwise AWS creates one itself, kept forever and unencrypted."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=group_name,
        retention_in_days=profile.log_retention_days,
        kms_key_id=kms_key_arn,
        opts=profile.stateful(parent),
    )
