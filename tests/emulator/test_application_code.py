"""The local cloud runs any application's code, told by its caller where that code is: a function's handler package
from the code roots given (and nowhere else), its module-level clients through the injections given, a container's
`python -m` entrypoint from its image's build context. Here with a made-up application, not the sample."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.cloud import LocalCloud
from emulator.deploy import CodeNotFound, Deployment, deploy
from emulator.runtime import Injection
from synth.program import ACCOUNT_ID, RecordedResource, Synthesis

REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/orders-create-role"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
HANDLER = """
from orders import context


def handler(event, lambda_context):
    return {"total": event["count"] * 2, "injected": context.DEPENDENCIES.label}
"""
CONTEXT = """
DEPENDENCIES = None


def set_dependencies(dependencies):
    global DEPENDENCIES
    DEPENDENCIES = dependencies
"""


def resource(type_: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:unit::orders::{type_}::{name}", type=type_, name=name, custom=True, parent="",
        inputs=inputs, outputs=outputs or {}, id=name, provider="", protect=False, retain_on_delete=False,
        dependencies=[], ignore_changes=[], delete_before_replace=False,
    )  # fmt: skip


def orders_stack(handler: str = "orders.create.handler") -> Synthesis:
    role = resource("aws:iam/role:Role", "create-role",
                    {"name": "orders-create-role", "assumeRolePolicy": json.dumps(TRUST)}, {"arn": ROLE})  # fmt: skip
    function = resource("aws:lambda/function:Function", "create-function", {
        "name": "orders-create", "runtime": "python3.13", "role": ROLE, "handler": handler, "timeout": 10,
        "memorySize": 256, "environment": {"variables": {"POWERTOOLS_SERVICE_NAME": "orders"}},
    })  # fmt: skip
    return Synthesis(stack="unit", preview=False, resources=[role, function], outputs={})


def orders_code(root: Path) -> Path:
    """A made-up application's Lambda code: package `orders`, with a module-level dependency to inject."""
    (root / "orders").mkdir(parents=True)
    (root / "orders" / "__init__.py").write_text("")
    (root / "orders" / "create.py").write_text(HANDLER)
    (root / "orders" / "context.py").write_text(CONTEXT)
    return root


def function_name(environ, session):
    """What the injection builds for a function: here, from its environment, the name Lambda gives it."""
    return SimpleNamespace(label=environ["AWS_LAMBDA_FUNCTION_NAME"])


def test_a_function_runs_from_the_code_root_given_with_the_clients_injected(tmp_path):
    injections = [Injection("orders.context:set_dependencies", function_name)]
    code = orders_code(tmp_path / "code")
    with LocalCloud(orders_stack(), region=REGION, workdir=tmp_path / "cloud", code_roots=[code],
                    injections=injections) as cloud:  # fmt: skip
        assert not cloud.deployment.failed, cloud.deployment.failed
        answer = cloud.client("lambda").invoke(FunctionName="orders-create", Payload=json.dumps({"count": 21}))
        assert "FunctionError" not in answer, answer["Payload"].read()
        assert json.loads(answer["Payload"].read()) == {"total": 42, "injected": "orders-create"}
        assert cloud.denials == []


def test_a_function_whose_code_root_is_not_given_stops_the_deployment_naming_what_to_pass(tmp_path):
    with pytest.raises(CodeNotFound) as refused:
        deploy(Deployment(orders_stack("orders.create.handler"), code_roots=[tmp_path]), session=None)  # type: ignore[arg-type]
    message = str(refused.value)
    for named in ("'orders'", "create-function (orders.create.handler)", str(tmp_path), "code_roots="):
        assert named in message, message


def test_code_on_sys_path_does_not_stand_in_for_a_code_root(tmp_path, monkeypatch):
    """Importable by accident (the tests put the sample's handlers on sys.path) is not given: the deployment must
    fail the same way wherever it runs."""
    monkeypatch.syspath_prepend(str(orders_code(tmp_path / "elsewhere")))
    with pytest.raises(CodeNotFound, match="code roots: none given"):
        deploy(Deployment(orders_stack()), session=None)  # type: ignore[arg-type]


def image(tmp_path: Path, dockerfile: str) -> Synthesis:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    built = resource("docker-build:index:Image", "worker-image",
                     {"context": {"location": str(tmp_path)}, "dockerfile": {"location": str(tmp_path / "Dockerfile")}},
                     {"ref": "registry/worker@sha256:0"})  # fmt: skip
    return Synthesis(stack="unit", preview=False, resources=[built], outputs={})


@pytest.mark.parametrize(
    ("dockerfile", "module"),
    [
        ('FROM python:3.13\nENTRYPOINT ["python", "-m", "jobs.main"]\n', "jobs.main"),
        ('FROM python:3.13\nCMD ["python3.13", "-m", "jobs.cli"]\n', "jobs.cli"),
        (
            'FROM python AS build\nENTRYPOINT ["python", "-m", "build.step"]\n\nFROM python\n'
            'CMD ["/usr/local/bin/python3", "-m", "jobs.run"]\n',
            "jobs.run",
        ),
    ],
    ids=["entrypoint", "cmd", "final-stage"],
)
def test_an_images_entrypoint_module_runs_from_its_build_context(tmp_path, dockerfile, module):
    deployment = deploy(Deployment(image(tmp_path, dockerfile)), session=None)  # type: ignore[arg-type]
    assert not deployment.failed, deployment.failed
    assert deployment.entrypoints == {"registry/worker@sha256:0": module}
    assert deployment.code_roots == [tmp_path]


@pytest.mark.parametrize(
    "dockerfile",
    ["FROM python\nENTRYPOINT python -m jobs.main\n", 'FROM python\nENTRYPOINT ["jobs"]\n', "FROM python\n"],
    ids=["shell-form", "not-python", "none"],
)
def test_an_entrypoint_the_runtime_cannot_run_fails_that_image_with_the_form_it_needs(tmp_path, dockerfile):
    [failed] = deploy(Deployment(image(tmp_path, dockerfile)), session=None).failed  # type: ignore[arg-type]
    assert failed.name == "worker-image"
    assert "python" in failed.note, failed.note
    assert "-m" in failed.note, failed.note


def test_a_resource_type_the_emulator_does_not_know_stops_the_deployment_saying_what_to_add():
    unknown = resource("aws:newservice/thing:Thing", "thing", {"name": "orders-thing"})
    stack = Synthesis(stack="unit", preview=False, resources=[unknown], outputs={})
    with pytest.raises(LookupError, match=r"no deployer for aws:newservice/thing:Thing \(thing\); add one to "
                       r"emulator/deploy.py's DEPLOYERS or a reason to NOT_DEPLOYED"):  # fmt: skip
        deploy(Deployment(stack), session=None)  # type: ignore[arg-type]
