"""The local cloud honours the stack's account guard as AWS does: it runs as an account the stack allows, and a
program run as any other account is refused, with the AWS provider's message, before anything is deployed."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.profile import load_profile
from emulator import cloud as cloud_module
from emulator.accounts import AccountNotAllowed
from emulator.cloud import LocalCloud
from synth.program import stack_config, synthesize

OTHER_ACCOUNT = "999988887777"
"""An account no stack file names: credentials of the wrong account."""


def test_the_emulator_runs_as_the_account_the_stack_allows(cloud: LocalCloud):
    allowed = load_profile(stack_config("dev")).allowed_account_ids
    assert cloud.account == allowed[0]
    assert cloud.client("sts").get_caller_identity()["Account"] == cloud.account
    machines = cloud.client("stepfunctions").list_state_machines()["stateMachines"]
    assert machines
    assert {machine["stateMachineArn"].split(":")[4] for machine in machines} == {cloud.account}


def test_a_program_run_as_another_account_is_refused_before_anything_is_deployed(
    stack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    allowed = load_profile(stack_config(stack)).allowed_account_ids
    assert OTHER_ACCOUNT not in allowed
    program = synthesize(stack, account=OTHER_ACCOUNT)
    deployed: list[object] = []
    monkeypatch.setattr(cloud_module, "deploy", lambda *args: deployed.append(args))
    workdir = tmp_path / "cloud"
    expected = (
        rf"^AWS account ID not allowed: {OTHER_ACCOUNT} \(stack '{stack}', provider 'aws': "
        rf"platform:profile\.allowedAccountIds is {', '.join(allowed)}\); nothing was deployed$"
    )
    with pytest.raises(AccountNotAllowed, match=expected), LocalCloud(program, region="eu-west-1", workdir=workdir):
        pass
    assert not deployed
    assert not workdir.exists(), "refused before the emulator started"
