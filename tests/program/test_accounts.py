"""Safe across accounts: in every stack, every AWS resource goes through the stack's explicit provider, and that
provider carries the stack's account guard (and the role to assume, when the profile names one); a stack that
names no account fails before anything is declared."""

import json

import pytest

from components.config import ConfigError
from components.profile import load_profile
from synth.program import Synthesis, SynthesisError, stack_config, synthesize

AWS_PROVIDER = "pulumi:providers:aws"


def aws_resources(program: Synthesis):
    return [r for r in program.resources if r.custom and r.type.startswith("aws:")]


def with_profile(stack: str, **changes: object) -> dict[str, str]:
    config = stack_config(stack)
    profile = json.loads(config["platform:profile"])
    for key, value in changes.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    return config | {"platform:profile": json.dumps(profile)}


def test_every_aws_resource_uses_the_explicit_provider(program):
    (provider,) = program.of_type(AWS_PROVIDER)
    resources = aws_resources(program)
    assert resources
    # A provider reference is `<provider urn>::<provider id>`; an empty one means the default provider.
    outside = [f"{r.urn} (provider {r.provider or 'default'!r})" for r in resources
               if r.provider.rsplit("::", 1)[0] != provider.urn]  # fmt: skip
    assert not outside, f"AWS resources not under the guarded provider {provider.urn}: {outside}"


def test_the_provider_allows_exactly_the_stack_accounts(stack, program):
    allowed = load_profile(stack_config(stack)).allowed_account_ids
    provider = program.one(AWS_PROVIDER, "aws")
    assert allowed, f"{stack}: the stack file names no account"
    # Provider configuration reaches the provider as JSON text, as it does from the Pulumi CLI.
    assert json.loads(provider.inputs["allowedAccountIds"]) == list(allowed), provider.urn
    assert program.account in allowed, "the mocks answer as an account the stack allows, as a real run must"
    assert f":{program.account}:" in program.outputs["stateMachineArn"]


def test_dev_and_prod_deploy_to_separate_accounts():
    dev, prod = (set(load_profile(stack_config(stack)).allowed_account_ids) for stack in ("dev", "prod"))
    assert not dev & prod, "dev's credentials (and its mistakes) must not reach prod's account"


def test_the_provider_assumes_the_deploy_role_only_when_the_stack_names_one(stack, program):
    role = load_profile(stack_config(stack)).deploy_role_arn
    provider = program.one(AWS_PROVIDER, "aws")
    if role is None:
        assert "assumeRoles" not in provider.inputs, provider.urn
    else:
        expected = [{"roleArn": role, "sessionName": f"pulumi-image-pipeline-{stack}"}]
        assert json.loads(provider.inputs["assumeRoles"]) == expected, provider.urn


def test_a_deploy_role_reaches_the_provider_with_a_session_named_after_the_stack():
    account = load_profile(stack_config("prod")).allowed_account_ids[0]
    role = f"arn:aws:iam::{account}:role/deploy-image-pipeline-prod"
    program = synthesize("prod", config=with_profile("prod", deployRoleArn=role))
    provider = program.one(AWS_PROVIDER, "aws")
    assert json.loads(provider.inputs["assumeRoles"]) == [
        {"roleArn": role, "sessionName": "pulumi-image-pipeline-prod"}
    ]
    assert json.loads(provider.inputs["allowedAccountIds"]) == [account]
    assert all(r.provider.startswith(f"{provider.urn}::") for r in aws_resources(program))


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        (None, r"platform:profile\.allowedAccountIds: missing; an empty list would allow any account"),
        ([], r"platform:profile\.allowedAccountIds: \[\] is not allowed; expected a non-empty list"),
        (["12345"], r"platform:profile\.allowedAccountIds\[0\]: '12345' is not allowed; expected a 12-digit"),
    ],
    ids=["missing", "empty", "malformed"],
)
def test_a_stack_without_a_valid_account_guard_fails_before_any_resource(stack, accounts, message):
    with pytest.raises(SynthesisError, match=message) as raised:
        synthesize(stack, config=with_profile(stack, allowedAccountIds=accounts))
    assert isinstance(raised.value.__cause__, ConfigError)
    assert raised.value.declared == [], "nothing may be declared without the account guard"
