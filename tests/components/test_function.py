"""Function: runtime, architecture, logging, tracing, sizing, packaging and a role that starts empty."""

import base64
import hashlib
from pathlib import Path

import pulumi
import pytest

from components.function import PYTHON_RUNTIME, Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.packaging import CodeSource
from components.profile import Architecture, EnvironmentProfile, LambdaSettings
from synth.program import SynthesisError
from tests.helpers import DISPOSABLE, PROTECTED, from_another_language, run, statements, tiny_code


def declare(tmp_path, profile=DISPOSABLE, with_key=False, **kwargs):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        args = FunctionArgs(profile=profile.args, code=tiny_code(tmp_path), handler="app.main.handler", **kwargs)
        if key:
            args["kms_key_arn"] = key.arn
        return Function("resize", args)

    return run(build)


def test_current_python_on_arm64_with_active_tracing(tmp_path):
    function = declare(tmp_path).one("aws:lambda/function:Function")
    assert function.inputs["runtime"] == PYTHON_RUNTIME == "python3.13"
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["tracingConfig"] == {"mode": "Active"}
    assert function.inputs["handler"] == "app.main.handler"
    assert function.inputs["name"] == "image-pipeline-unit-resize"


def test_memory_timeout_and_concurrency_come_from_the_profile(tmp_path):
    profile = EnvironmentProfile(
        lambda_=LambdaSettings(
            memory_mb=1536, timeout_seconds=30, reserved_concurrency=7, architecture=Architecture.X86_64
        )
    )
    function = declare(tmp_path, profile).one("aws:lambda/function:Function")
    assert function.inputs["memorySize"] == 1536
    assert function.inputs["timeout"] == 30
    assert function.inputs["reservedConcurrentExecutions"] == 7
    assert function.inputs["architectures"] == ["x86_64"]


def test_per_function_overrides_win_over_the_profile(tmp_path):
    function = declare(tmp_path, memory_mb=3008, timeout_seconds=300).one("aws:lambda/function:Function")
    assert (function.inputs["memorySize"], function.inputs["timeout"]) == (3008, 300)


def test_unreserved_concurrency_is_left_unset(tmp_path):
    function = declare(tmp_path).one("aws:lambda/function:Function")
    assert "reservedConcurrentExecutions" not in function.inputs


def test_logs_go_as_json_to_an_explicit_group_with_retention(tmp_path):
    synthesis = declare(tmp_path)
    function = synthesis.one("aws:lambda/function:Function")
    group = synthesis.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/aws/lambda/image-pipeline-unit-resize"
    assert group.inputs["retentionInDays"] == 7
    assert function.inputs["loggingConfig"]["logFormat"] == "JSON"
    assert function.inputs["loggingConfig"]["logGroup"] == group.inputs["name"]
    assert group.urn in function.dependencies


def test_customer_key_encrypts_environment_and_logs(tmp_path):
    synthesis = declare(tmp_path, PROTECTED, with_key=True)
    key_arn = synthesis.one("aws:kms/key:Key").outputs["arn"]
    assert synthesis.one("aws:lambda/function:Function").inputs["kmsKeyArn"] == key_arn
    group = synthesis.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["kmsKeyId"] == key_arn
    assert (group.protect, group.retain_on_delete, group.inputs["retentionInDays"]) == (True, True, 365)


def test_role_trusts_only_lambda_in_this_account_and_has_no_managed_policies(tmp_path):
    synthesis = declare(tmp_path)
    role = synthesis.one("aws:iam/role:Role")
    (trust,) = statements(role, "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert "managedPolicyArns" not in role.inputs
    assert not synthesis.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


def test_role_may_only_write_its_own_logs_and_traces(tmp_path):
    synthesis = declare(tmp_path)
    (policy,) = synthesis.of_type("aws:iam/rolePolicy:RolePolicy")
    group_arn = synthesis.one("aws:cloudwatch/logGroup:LogGroup").outputs["arn"]
    assert statements(policy) == [
        {"Sid": "WriteOwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [f"{group_arn}:log-stream:*"]},
        {"Sid": "XRayHasNoResourceScope", "Effect": "Allow",
         "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": ["*"]},
    ]  # fmt: skip
    function = synthesis.one("aws:lambda/function:Function")
    assert policy.urn in function.dependencies, "the function must not run before it may log"


def test_environment_is_passed_and_secret_looking_names_are_refused(tmp_path):
    function = declare(tmp_path, environment={"TABLE_NAME": "images"}).one("aws:lambda/function:Function")
    assert function.inputs["environment"] == {"variables": {"TABLE_NAME": "images"}}
    with pytest.raises(
        SynthesisError, match=r"environment: variables \['DB_PASSWORD', 'GITHUB_TOKEN'\] look like"
    ) as refused:
        declare(tmp_path, environment={"DB_PASSWORD": "x", "GITHUB_TOKEN": "y", "TABLE": "z"})
    assert isinstance(refused.value.__cause__, ValueError)
    assert refused.value.declared == [], "refused before anything is declared"


@pytest.mark.parametrize(("override", "value"), [("memory_mb", 64), ("timeout_seconds", 901)])
def test_overrides_outside_what_lambda_accepts_are_refused_by_name(tmp_path, override, value):
    with pytest.raises(SynthesisError, match=rf"{override}: {value} is not allowed; expected \d+ to \d+"):
        declare(tmp_path, **{override: value})


def test_outputs_are_what_another_language_needs(tmp_path):
    synthesis = declare(tmp_path, timeout_seconds=12)
    component = synthesis.one("platform:index:Function")
    function, role = synthesis.one("aws:lambda/function:Function"), synthesis.one("aws:iam/role:Role")
    assert synthesis.component_outputs[component.urn] == {
        "name": function.outputs["name"],
        "arn": function.outputs["arn"],
        "role_arn": role.outputs["arn"],
        "timeout_seconds": 12,
    }, component.urn


def test_code_is_plain_data_and_a_relative_root_is_the_working_directory(tmp_path, monkeypatch):
    code = tiny_code(tmp_path / "src")
    assert code == {"root": str(tmp_path / "src"), "packages": ["app"]}
    assert CodeSource.from_args(code) == CodeSource(tmp_path / "src", packages=("app",))
    absolute = declare(tmp_path / "src").one("aws:lambda/function:Function").inputs["sourceCodeHash"]
    monkeypatch.chdir(tmp_path)

    def relative():
        Function("resize", FunctionArgs(profile=DISPOSABLE.args, code={"root": "src", "packages": ["app"]},
                                        handler="app.main.handler"))  # fmt: skip

    assert run(relative).one("aws:lambda/function:Function").inputs["sourceCodeHash"] == absolute


def test_code_is_the_built_package_with_its_hash(tmp_path):
    synthesis = declare(tmp_path)
    function = synthesis.one("aws:lambda/function:Function")
    component = next(r for r in synthesis.resources if r.type == "platform:index:Function")
    assert component.name == "resize"
    code = function.inputs["code"]
    assert isinstance(code, pulumi.FileArchive)
    digest = base64.b64encode(hashlib.sha256(Path(code.path).read_bytes()).digest()).decode()
    assert function.inputs["sourceCodeHash"] == digest


def test_same_code_same_hash_so_preview_shows_no_change(tmp_path):
    first = declare(tmp_path / "a").one("aws:lambda/function:Function").inputs["sourceCodeHash"]
    second = declare(tmp_path / "b").one("aws:lambda/function:Function").inputs["sourceCodeHash"]
    assert first == second
    (tmp_path / "b" / "app" / "main.py").write_text("def handler(event, context):\n    return None\n")
    assert declare(tmp_path / "b").one("aws:lambda/function:Function").inputs["sourceCodeHash"] != first


def test_a_function_constructs_from_what_another_language_sends(tmp_path):
    inputs = {"profile": DISPOSABLE.args, "code": tiny_code(tmp_path), "handler": "app.main.handler",
              "environment": {"TABLE_NAME": "images"}, "memoryMb": 256, "timeoutSeconds": 20,
              "reserveConcurrency": False, "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k"}  # fmt: skip
    synthesis = run(from_another_language(Function, "resize", inputs))
    function = synthesis.one("aws:lambda/function:Function")
    assert (function.inputs["memorySize"], function.inputs["timeout"]) == (256, 20), function.urn
    assert function.inputs["environment"] == {"variables": {"TABLE_NAME": "images"}}, function.urn
    assert function.inputs["kmsKeyArn"] == inputs["kmsKeyArn"], function.urn
    component = synthesis.one("platform:index:Function")
    assert synthesis.component_outputs[component.urn]["timeout_seconds"] == 20, component.urn
