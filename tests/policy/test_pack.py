"""The pack as the Pulumi CLI loads it: its project file, its pinned environment, and an entry point that builds a
PolicyPack with every rule defined in `policy/rules` (run here with PolicyPack replaced, so no gRPC server starts)."""

import ast
import importlib
import json
import pkgutil
import re
import runpy
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import grpc
import pulumi_policy
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy, StackValidationPolicy

import policy.rules
from policy.rules import ALL_POLICIES, PACK_NAME
from policy.rules.prices import NAT_GATEWAY_HOUR

PACK_DIR = Path(policy.rules.__file__).resolve().parent.parent
RULE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class RecordedPack:
    """Stands in for pulumi_policy.PolicyPack, which would start serving gRPC and never return."""

    calls: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        RecordedPack.calls.append(kwargs)


@pytest.fixture
def entry_point(monkeypatch):
    """Run policy/__main__.py the way the CLI does (runpy on the pack's directory, which puts it on sys.path)."""
    RecordedPack.calls = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordedPack)
    before = set(sys.modules)
    runpy.run_path(str(PACK_DIR), run_name="__main__")
    for name in set(sys.modules) - before:
        if name == "rules" or name.startswith("rules."):
            del sys.modules[name]  # the CLI's top-level `rules` import, not the package the tests use
    assert len(RecordedPack.calls) == 1, "the entry point builds exactly one pack"
    return RecordedPack.calls[0]


def defined_policies() -> list[Policy]:
    """Every Policy object any module of policy/rules holds at module level, directly or in a list."""
    found: dict[int, Policy] = {}
    for module_info in pkgutil.iter_modules(policy.rules.__path__):
        module = importlib.import_module(f"policy.rules.{module_info.name}")
        for value in vars(module).values():
            candidates = value if isinstance(value, list) else [value]
            found.update({id(p): p for p in candidates if isinstance(p, Policy)})
    return list(found.values())


def test_entry_point_builds_the_pack_with_every_rule_mandatory(entry_point):
    assert entry_point["name"] == PACK_NAME
    assert entry_point["enforcement_level"] is EnforcementLevel.MANDATORY
    assert [p.name for p in entry_point["policies"]] == [p.name for p in ALL_POLICIES]


def test_every_rule_defined_is_registered():
    registered = {id(p) for p in ALL_POLICIES}
    missing = [p.name for p in defined_policies() if id(p) not in registered]
    assert not missing, f"defined in policy/rules but not in ALL_POLICIES: {missing}"
    assert len({p.name for p in ALL_POLICIES}) == len(ALL_POLICIES), "rule names are unique"


def test_entry_point_does_nothing_but_build_the_pack():
    tree = ast.parse((PACK_DIR / "__main__.py").read_text())
    statements = [node for node in tree.body if not isinstance(node, ast.Expr | ast.Import | ast.ImportFrom)]
    calls = [node.value for node in tree.body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]
    assert not statements
    assert [ast.unparse(call.func) for call in calls] == ["PolicyPack"]


def test_every_rule_has_a_name_severity_description_and_remediation():
    for rule in ALL_POLICIES:
        assert isinstance(rule, ResourceValidationPolicy | StackValidationPolicy)
        assert RULE_NAME.match(rule.name), rule.name
        assert rule.severity is not None, rule.name
        assert len(rule.description) > 20, rule.name
        assert len(rule.remediation_steps or "") > 20, rule.name
        assert rule.enforcement_level is None, f"{rule.name}: levels come from the pack and the stack's config"


def test_project_file_runs_python_in_the_pack_virtualenv():
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert re.match(r"^\d+\.\d+\.\d+$", project["version"])


def test_pack_requirements_are_pinned_to_what_the_tests_run():
    lines = [line for line in (PACK_DIR / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    pins = dict(line.split("==") for line in lines)
    assert all(re.match(r"^[\w.-]+==[\w.]+$", line) for line in lines), "every requirement is pinned with =="
    for package in ("pulumi-policy", "pulumi", "protobuf"):
        assert pins[package] == version(package), f"{package}: the pack and the test environment must agree"


def test_readme_lists_every_rule():
    readme = (PACK_DIR / "README.md").read_text()
    missing = [rule.name for rule in ALL_POLICIES if f"`{rule.name}`" not in readme]
    assert not missing, f"policy/README.md does not list {missing}"


@pytest.fixture
def served_pack():
    """The pack started as the CLI starts it (`python -m pulumi.policy <engine> <pack dir>`), on a local port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.policy", "127.0.0.1:0", str(PACK_DIR)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PACK_DIR.parent,
    )
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), f"the pack did not start: {process.stderr.read() if process.poll() is not None else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait(timeout=10)


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _cli_config(document: dict[str, Any]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """What the CLI sends for `--policy-pack-config`: a level per rule, other keys as the rule's properties."""
    levels = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY, "disabled": analyzer_pb2.DISABLED}
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, value in document.items():
        entry = {"enforcementLevel": value} if isinstance(value, str) else dict(value)
        level = levels[entry.pop("enforcementLevel")]
        request.policyConfig[name].CopyFrom(
            analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=_struct(entry))
        )
    return request


def _analyze(stub: Any, kind: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    urn = f"urn:pulumi:dev::image-pipeline::{kind}::{name}"
    response = stub.Analyze(analyzer_pb2.AnalyzeRequest(type=kind, properties=_struct(props), urn=urn, name=name))
    return {d.policyName: d for d in response.diagnostics}


def test_the_pack_serves_the_cli_with_dev_config(served_pack):
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == PACK_NAME
    assert [p.name for p in info.policies] == [p.name for p in ALL_POLICIES]
    assert all(p.severity and p.remediation_steps for p in info.policies)

    served_pack.Configure(_cli_config(json.loads((PACK_DIR / "dev.json").read_text())), timeout=30)
    table = _analyze(served_pack, "aws:dynamodb/table:Table", "jobs", {"billingMode": "PAY_PER_REQUEST"})
    relaxed = table["dynamodb-deletion-protection"]
    assert relaxed.enforcementLevel == analyzer_pb2.ADVISORY
    assert "Dev is disposable" in relaxed.message, "dev's reason reaches the CLI's output"
    assert table["dynamodb-point-in-time-recovery"].enforcementLevel == analyzer_pb2.MANDATORY
    block = _analyze(served_pack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "block", {})
    assert block["s3-public-access-block"].enforcementLevel == analyzer_pb2.MANDATORY

    nat = analyzer_pb2.AnalyzerResource(type="aws:ec2/natGateway:NatGateway", urn="urn:nat", name="nat")
    secret = analyzer_pb2.AnalyzerResource(type="aws:secretsmanager/secret:Secret", urn="urn:secret", name="secret")
    stack = served_pack.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[nat, secret]), timeout=30)
    idle = [d for d in stack.diagnostics if d.policyName == "no-unplanned-idle-cost"]
    assert [(d.urn, d.enforcementLevel) for d in idle] == [("urn:nat", analyzer_pb2.MANDATORY)], "dev accepts secrets"
    assert NAT_GATEWAY_HOUR.label in idle[0].message, "the pack prices from rules/prices.py"
