"""The Pulumi ESC examples (deploy/esc/<stack>.yaml): each for a stack of this project, logging in to AWS by OIDC as
a role in an account that stack allows, and handing the credentials to Pulumi as the AWS environment variables. A
stack may have none (a new stack works without ESC); dev and prod have one each, as the examples."""

import re

import pytest
import yaml

from components.profile import ROLE_ARN, load_profile
from synth.program import PROJECT_DIR, stack_config, stack_names

ESC_DIR = PROJECT_DIR / "deploy" / "esc"
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
"""What STS accepts as a role session name."""
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "${aws.login.accessKeyId}",
    "AWS_SECRET_ACCESS_KEY": "${aws.login.secretAccessKey}",
    "AWS_SESSION_TOKEN": "${aws.login.sessionToken}",
}


ESC_STACKS = sorted(path.stem for path in ESC_DIR.glob("*.yaml"))


def environment(stack: str) -> dict:
    return yaml.safe_load((ESC_DIR / f"{stack}.yaml").read_text())


def test_each_environment_is_for_a_stack_and_the_examples_are_there():
    assert set(ESC_STACKS) <= set(stack_names()), f"an environment for no stack: {set(ESC_STACKS) - set(stack_names())}"
    assert {"dev", "prod"} <= set(ESC_STACKS)


@pytest.mark.parametrize("esc_stack", ESC_STACKS)
def test_credentials_come_from_oidc_as_a_role_in_an_account_the_stack_allows(esc_stack):
    stack = esc_stack
    values = environment(stack)["values"]
    login = values["aws"]["login"]["fn::open::aws-login"]
    assert set(login) == {"oidc"}, "OIDC only: no static credentials in an environment"
    oidc = login["oidc"]
    role = ROLE_ARN.match(oidc["roleArn"])
    assert role, f"{stack}: {oidc['roleArn']!r} is not an IAM role ARN"
    allowed = load_profile(stack_config(stack)).allowed_account_ids
    assert role["account"] in allowed, f"{stack}: the role's account {role['account']} is not in {allowed}"
    assert SESSION_NAME.match(oidc["sessionName"]), f"{stack}: {oidc['sessionName']!r} is no STS session name"
    assert stack in oidc["sessionName"], "CloudTrail should show which stack's environment made the call"
    assert values["environmentVariables"] == CREDENTIALS


@pytest.mark.parametrize("esc_stack", ESC_STACKS)
def test_the_region_stays_in_the_stack_file(esc_stack):
    """The program validates `aws:region` from the stack's configuration; an environment setting it too would be a
    second place to change it."""
    assert "aws:region" not in environment(esc_stack)["values"].get("pulumiConfig", {})
