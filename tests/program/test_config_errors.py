"""Bad stack configuration fails before any resource is declared, naming the key, the value and what is allowed."""

import json

import pytest

from components.config import ConfigError
from synth.program import SynthesisError, stack_config, synthesize

BAD_VALUES = [
    ("logRetentionDays", 8, "platform:profile.logRetentionDays: 8 is not allowed; expected one of 1, 3, 5, 7"),
    ("protect", "yes", "platform:profile.protect: 'yes' is not allowed; expected true or false"),
    ("encryption", "kms", "platform:profile.encryption: 'kms' is not allowed; expected one of customer-managed, "),
    ("lambda", {"memoryMb": 64}, "platform:profile.lambda.memoryMb: 64 is not allowed; expected an integer from 128"),
    ("workflow", {"type": "FAST"}, "platform:profile.workflow.type: 'FAST' is not allowed; expected one of EXPRESS"),
    ("lamda", {}, "platform:profile.lamda: unknown key (did you mean 'lambda'?)"),
]


def with_profile_value(stack: str, key: str, value: object) -> dict[str, str]:
    config = stack_config(stack)
    profile = json.loads(config["platform:profile"])
    profile[key] = value
    return config | {"platform:profile": json.dumps(profile)}


@pytest.mark.parametrize(("key", "value", "message"), BAD_VALUES, ids=[case[0] for case in BAD_VALUES])
def test_bad_value_fails_before_any_resource(stack, key, value, message):
    with pytest.raises(SynthesisError) as raised:
        synthesize(stack, config=with_profile_value(stack, key, value))
    assert isinstance(raised.value.__cause__, ConfigError)
    assert message in str(raised.value)
    assert raised.value.declared == [], "nothing may be declared when the configuration is invalid"


@pytest.mark.parametrize(
    ("typo", "meant"), [("platform:profil", "platform:profile"), ("pipeline:setting", "pipeline:settings")]
)
def test_a_misspelt_top_level_key_fails_too(stack, typo, meant):
    config = stack_config(stack) | {typo: "{}"}
    with pytest.raises(SynthesisError, match=rf"{typo}: unknown key \(did you mean '{meant}'\?\)"):
        synthesize(stack, config=config)


def test_a_missing_region_fails_with_the_command_to_fix_it(stack):
    config = {key: value for key, value in stack_config(stack).items() if key != "aws:region"}
    with pytest.raises(SynthesisError, match=r"aws:region: missing; set it with `pulumi config set aws:region"):
        synthesize(stack, config=config)


def test_a_stack_name_too_long_for_aws_names_fails_early():
    with pytest.raises(SynthesisError, match=r"is \d+ characters; AWS allows \d+") as raised:
        synthesize("a-very-long-stack-name-for-buckets", config=stack_config("dev"))
    assert all(r.type.startswith("pulumi:providers:") or not r.custom for r in raised.value.declared)
