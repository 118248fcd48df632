"""Run the real Pulumi program for any stack, in-process, under Pulumi's mocks, and record what it declares.

This is the offline stand-in for `pulumi preview`: the tests, `make preview` and later tools all read the same
record (every resource with its inputs and options, and the stack outputs). The mocks answer as the AWS account a
deployment of the stack would run in (`stack_account`): nothing checks the provider's account guard here, the
local cloud does (emulator/cloud.py). It relies on a few private hooks of
the Pulumi SDK (resetting the root stack, the config context variable); `tests/program/test_harness.py` fails
loudly if a Pulumi upgrade moves them.
"""

import asyncio
import hashlib
import json
import os
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml
from pulumi.runtime import mocks, resource, settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.profile import ACCOUNT_ID_PATTERN, ALLOWED_ACCOUNT_IDS_KEY, CONFIG_NAMESPACE, PROFILE_KEY, ROLE_ARN

PROJECT_DIR = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"
"""The account of a program whose configuration names none (the component tests' `unit` stack)."""
PROVIDER_TYPE_PREFIX = "pulumi:providers:"


class SynthesisError(Exception):
    """The program failed under mocks. The message is the program's own error; `declared` lists what the program
    had declared before it failed (configuration errors must leave it empty)."""

    def __init__(self, message: str, declared: list["RecordedResource"]) -> None:
        super().__init__(message)
        self.declared = declared


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str
    provider: str
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    ignore_changes: list[str]
    delete_before_replace: bool

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_TYPE_PREFIX)


@dataclass
class Synthesis:
    stack: str
    preview: bool
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    account: str = ACCOUNT_ID
    """The AWS account the mocks answered as (`getCallerIdentity`, and every ARN they made)."""

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise LookupError(f"expected one {type_token} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]


def project_name() -> str:
    return yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["name"]


def stack_names() -> list[str]:
    """Every stack with a `Pulumi.<stack>.yaml`: a new file is a new stack, picked up by every test."""
    return sorted(path.name.split(".")[1] for path in PROJECT_DIR.glob("Pulumi.*.yaml"))


def stack_config(stack: str) -> dict[str, str]:
    """The stack file's config the way the Pulumi CLI hands it to a program: full keys, string values."""
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text()) or {}
    project = project_name()
    config = {}
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{project}:{key}"
        config[full_key] = value if isinstance(value, str) else json.dumps(value)
    return config


def stack_account(config: Mapping[str, Any]) -> str:
    """The account a deployment with this configuration runs in: the deploy role's when the profile names one (the
    provider assumes it), else the first of its allowed accounts; ACCOUNT_ID when it names neither validly (the
    program then refuses the configuration itself)."""
    raw = config.get(f"{CONFIG_NAMESPACE}:{PROFILE_KEY}", {})
    try:
        profile = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return ACCOUNT_ID
    if not isinstance(profile, Mapping):
        return ACCOUNT_ID
    role = ROLE_ARN.match(str(profile.get("deployRoleArn") or ""))
    if role:
        return role["account"]
    allowed = profile.get(ALLOWED_ACCOUNT_IDS_KEY)
    if isinstance(allowed, list) and allowed and ACCOUNT_ID_PATTERN.match(str(allowed[0])):
        return str(allowed[0])
    return ACCOUNT_ID


class AwsMocks(pulumi.runtime.Mocks):
    """Answers like AWS would, deterministically: physical names, ARNs and ids derived from the inputs."""

    def __init__(self, region: str, account: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account = account

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        state = dict(args.inputs)
        if args.typ.startswith(PROVIDER_TYPE_PREFIX):
            return f"{args.name}-provider-id", state
        physical = _physical_name(args)
        state.setdefault("name", physical)
        state.setdefault("arn", self._arn(args.typ, physical))
        resource_id = physical
        extra = self._type_specific(args.typ, physical, state)
        state.update(extra)
        resource_id = extra.get("id", resource_id)
        state.pop("id", None)
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        answers = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/offline",
                "userId": "AIDAOFFLINE",
                "id": self.account,
            },
            "aws:index/getRegion:getRegion": {
                "region": self.region,
                "name": self.region,
                "id": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
                "description": self.region,
            },
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": [f"{self.region}{zone}" for zone in "abc"],
                "zoneIds": [f"{self.region[:3]}{self.region[-1]}-az{index}" for index in (1, 2, 3)],
                "groupNames": [self.region] * 3,
                "id": self.region,
                "state": "available",
            },
            "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
                "authorizationToken": "QVdTOm9mZmxpbmU=",
                "userName": "AWS",
                "password": "offline-token",
                "proxyEndpoint": f"https://{self.account}.dkr.ecr.{self.region}.amazonaws.com",
                "expiresAt": "2099-01-01T00:00:00Z",
                "id": self.region,
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "id": "aws",
                "reverseDnsPrefix": "com.amazonaws",
            },
        }
        if args.token not in answers:
            raise NotImplementedError(f"offline mocks have no answer for invoke {args.token}; add one in {__file__}")
        return answers[args.token]

    def _arn(self, type_token: str, physical: str) -> str:
        service = type_token.split(":")[1].split("/")[0]
        return f"arn:aws:{service}:{self.region}:{self.account}:{physical}"

    def _type_specific(self, type_token: str, physical: str, state: dict) -> dict[str, Any]:
        region, account = self.region, self.account
        bucket = state.get("bucket", physical)
        key_id = str(hashlib.sha256(physical.encode()).hexdigest()[:32])
        queue_url = f"https://sqs.{region}.amazonaws.com/{account}/{physical}"
        by_type: dict[str, dict[str, Any]] = {
            "aws:s3/bucket:Bucket": {"id": bucket, "bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "aws:dynamodb/table:Table": {"arn": f"arn:aws:dynamodb:{region}:{account}:table/{physical}"},
            "aws:lambda/function:Function": {
                "arn": f"arn:aws:lambda:{region}:{account}:function:{physical}",
                "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/functions/{physical}/invocations",
            },
            "aws:iam/role:Role": {"arn": f"arn:aws:iam::{account}:role/{physical}"},
            "aws:iam/rolePolicy:RolePolicy": {"id": f"{state.get('role', 'role')}:{physical}"},
            "aws:cloudwatch/logGroup:LogGroup": {"arn": f"arn:aws:logs:{region}:{account}:log-group:{physical}"},
            "aws:sfn/stateMachine:StateMachine": {
                "arn": f"arn:aws:states:{region}:{account}:stateMachine:{physical}",
                "id": f"arn:aws:states:{region}:{account}:stateMachine:{physical}",
            },
            "aws:kms/key:Key": {"id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"},
            "aws:kms/alias:Alias": {"arn": f"arn:aws:kms:{region}:{account}:{physical}"},
            "aws:sqs/queue:Queue": {
                "id": queue_url,
                "url": queue_url,
                "arn": f"arn:aws:sqs:{region}:{account}:{physical}",
            },
            "aws:cloudwatch/eventRule:EventRule": {"arn": f"arn:aws:events:{region}:{account}:rule/{physical}"},
            "aws:cloudwatch/metricAlarm:MetricAlarm": {
                "arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{physical}"
            },
            "aws:rds/cluster:Cluster": {
                "id": physical,
                "arn": f"arn:aws:rds:{region}:{account}:cluster:{physical}",
                "endpoint": f"{physical}.cluster-offline.{region}.rds.amazonaws.com",
                "port": state.get("port", 5432),
                "masterUserSecrets": [
                    {
                        "secretArn": f"arn:aws:secretsmanager:{region}:{account}:secret:rds!cluster-{physical}-AbCdEf",
                        "secretStatus": "active",
                        "kmsKeyId": state.get("masterUserSecretKmsKeyId", "alias/aws/secretsmanager"),
                    }
                ],
            },
            "aws:secretsmanager/secret:Secret": {
                # Secrets Manager appends a dash and six random characters to the name; the id is the ARN.
                "id": f"arn:aws:secretsmanager:{region}:{account}:secret:{physical}-AbCdEf",
                "arn": f"arn:aws:secretsmanager:{region}:{account}:secret:{physical}-AbCdEf",
            },
            "docker-build:index:Image": _image_outputs(state),
            "aws:ecs/cluster:Cluster": {"arn": f"arn:aws:ecs:{region}:{account}:cluster/{physical}"},
            "aws:ecs/taskDefinition:TaskDefinition": {
                "arn": f"arn:aws:ecs:{region}:{account}:task-definition/{state.get('family', physical)}:1",
                "arnWithoutRevision": f"arn:aws:ecs:{region}:{account}:task-definition/{state.get('family', physical)}",
                "revision": 1,
            },
            "aws:ecr/repository:Repository": {
                "arn": f"arn:aws:ecr:{region}:{account}:repository/{physical}",
                "repositoryUrl": f"{account}.dkr.ecr.{region}.amazonaws.com/{physical}",
                "registryId": account,
            },
        }
        return by_type.get(type_token, {})


def _image_outputs(state: dict) -> dict[str, Any]:
    """A pushed image's digest and digest-pinned reference, derived from its tag."""
    tags = state.get("tags")
    if not isinstance(tags, list) or not tags:  # an AWS resource's tags are a dict: not an image
        return {}
    tag = tags[0]
    digest = "sha256:" + hashlib.sha256(tag.encode()).hexdigest()
    return {"digest": digest, "ref": f"{tag.rsplit(':', 1)[0]}@{digest}"}


def _physical_name(args: pulumi.runtime.MockResourceArgs) -> str:
    """The name the program set, or a stable stand-in for Pulumi's random auto-name suffix."""
    for key in ("name", "bucket", "clusterIdentifier", "identifier"):
        value = args.inputs.get(key)
        if isinstance(value, str) and value:
            return value
    return f"{args.name}-{hashlib.sha256(args.name.encode()).hexdigest()[:7]}"


class RecordingMonitor(mocks.MockMonitor):
    """The default mock monitor drops resource options; this one keeps them for the tests to assert on."""

    def __init__(self, resource_mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(resource_mocks)
        self.recorded: dict[str, RecordedResource] = {}
        self.component_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        registration = self.resources[response.urn]
        inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
        self.recorded[response.urn] = RecordedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            parent=request.parent,
            inputs=_plain(inputs),
            outputs=_plain(registration.state),
            id=registration.id,
            provider=request.provider,
            protect=request.protect,
            retain_on_delete=request.retainOnDelete,
            dependencies=list(request.dependencies),
            ignore_changes=list(request.ignoreChanges),
            delete_before_replace=request.deleteBeforeReplace,
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = pulumi.runtime.rpc.deserialize_properties(request.outputs)
        self.component_outputs[request.urn] = _plain(outputs)
        return super().RegisterResourceOutputs(request)


def run_main() -> None:
    runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")


def synthesize(
    stack: str,
    *,
    preview: bool = False,
    config: Mapping[str, str] | None = None,
    program: Callable[[], None] = run_main,
    account: str | None = None,
) -> Synthesis:
    """Run `program` (the project's `__main__.py` by default) as stack `stack`, with the stack file's config or
    `config`, and return everything it declared. The mocks answer as `account`, by default the configuration's
    own (`stack_account`): another one stands for credentials of the wrong account."""
    program_config = dict(stack_config(stack) if config is None else config)
    _reset_runtime()
    pulumi.runtime.set_all_config(program_config)
    region = program_config.get("aws:region", "us-east-1")
    account = account or stack_account(program_config)
    monitor = RecordingMonitor(AwsMocks(region, account))
    pulumi.runtime.set_mocks(monitor.mocks, project=project_name(), stack=stack, preview=preview, monitor=monitor)
    root = settings.get_root_resource()
    try:
        # Each registration's source position (a whole traceback, read line by line) is for the CLI's display, and
        # the mock monitor drops it: a fifth of a synthesis' CPU.
        with mock.patch.object(resource, "_get_stack_trace", source_pb2.StackTrace):
            _sync_await(run_pulumi_func(program))
        outputs = _sync_await(pulumi.Output.from_input(root.outputs).future()) or {}
    except Exception as error:
        # A RunError is the program speaking to its user: its message stands alone, as the Pulumi CLI shows it.
        detail = str(error) if isinstance(error, pulumi.RunError) else f"{type(error).__name__}: {error}"
        declared = list(monitor.recorded.values())
        raise SynthesisError(f"the program failed for stack {stack!r}: {detail}", declared) from error
    return Synthesis(
        stack=stack,
        preview=preview,
        resources=list(monitor.recorded.values()),
        outputs=_plain(outputs),
        component_outputs=monitor.component_outputs,
        account=account,
    )


def _reset_runtime() -> None:
    """Each synthesis starts from a clean Pulumi runtime: no root stack, no leftover config, a live event loop."""
    settings.ROOT.set(None)
    settings.SETTINGS.rpc_manager.clear()  # a failed run must not leave its pending RPCs and outputs to the next
    settings.SETTINGS.outputs.clear()
    os.environ.pop("PULUMI_CONFIG", None)
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


def close_runtime() -> None:
    """Close the event loop the runs used, so the interpreter does not finalise it half torn down at exit."""
    loop = asyncio.get_event_loop()
    if not loop.is_closed():
        loop.close()


def _plain(value: Any) -> Any:
    """Floats that are whole numbers back to ints (the mocks turn every number into a float), recursively."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
