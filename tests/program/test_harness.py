"""The offline harness itself: the private Pulumi hooks it relies on, and that it records what tests assert on.

If a Pulumi upgrade moves a hook, these fail first and say which one, instead of every other test failing oddly.
"""

import importlib.metadata
import re
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import mocks, settings

from synth.program import PROJECT_DIR, AwsMocks, SynthesisError, stack_names, synthesize
from tests.helpers import run


def test_pulumi_is_the_pinned_version():
    pinned = re.search(r"^pulumi==(\S+)$", (PROJECT_DIR / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned
    assert importlib.metadata.version("pulumi") == pinned.group(1)


def test_private_hooks_exist():
    assert isinstance(settings.ROOT, type(pulumi.runtime.config.CONFIG)), "settings.ROOT is no longer a ContextVar"
    assert callable(getattr(pulumi.runtime.config, "get_config_env", None))
    assert callable(getattr(mocks.MockMonitor, "RegisterResource", None))
    assert callable(getattr(mocks.MockMonitor, "RegisterResourceOutputs", None))
    assert "monitor" in mocks.set_mocks.__code__.co_varnames


def test_stack_files_are_discovered(tmp_path):
    files = sorted(p.name for p in Path(PROJECT_DIR).glob("Pulumi.*.yaml"))
    assert [f"Pulumi.{name}.yaml" for name in stack_names()] == files
    assert {"dev", "prod"} <= set(stack_names())


def test_options_are_recorded():
    program = synthesize("prod")
    table = program.one("aws:dynamodb/table:Table", "images-table")
    assert table.protect
    assert table.retain_on_delete
    assert table.parent == program.one("platform:index:Table", "images").urn
    function = program.one("aws:lambda/function:Function", "process-function")
    assert program.one("aws:cloudwatch/logGroup:LogGroup", "process-logs").urn in function.dependencies


def test_numbers_come_back_as_they_were_declared():
    assert synthesize("dev").one("aws:lambda/function:Function", "process-function").inputs["memorySize"] == 1024


def test_unmocked_invokes_fail_loudly():
    with pytest.raises(SynthesisError, match="offline mocks have no answer for invoke aws:ec2/getVpc:getVpc"):
        run(lambda: pulumi.Output.from_input(__import__("pulumi_aws").ec2.get_vpc_output(default=True).id))


def test_mocks_answer_invokes_with_wire_names():
    answer = AwsMocks("eu-west-1").call(
        pulumi.runtime.MockCallArgs("aws:index/getCallerIdentity:getCallerIdentity", {}, "")
    )
    assert answer["accountId"] == "123456789012"


def test_runs_are_isolated():
    first = synthesize("dev")
    second = synthesize("dev")
    assert sorted(r.urn for r in first.resources) == sorted(r.urn for r in second.resources)
    assert synthesize("prod").stack == "prod"
