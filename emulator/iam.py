"""IAM in the local cloud: every AWS call a deployed principal makes is authorized against that principal's policies.

moto stores roles and policies but authorizes nothing unless its access-control mode is on, and that mode checks
most services against `"Resource": "*"`, which no least-privilege policy allows. So the local cloud does what AWS
does at each call's door:

- Each principal gets credentials of its own, as AWS hands them out: a Lambda function its role's (in its
  environment, as Lambda sets them), an ECS task its task role's (per task), a workflow its role's (for its service
  integrations), an EventBridge target its role's. Minting them checks the role's trust policy, conditions included.
- A botocore hook on every client maps the call to the IAM actions and resource ARNs AWS authorizes it as
  (`REQUEST_AUTHORIZATION`: `ecs:RunTask` also needs `iam:PassRole` of the task's roles and, with tags propagated,
  `ecs:TagResource` on the new task; the Data API reads the secret with the caller's credentials) and evaluates the
  role's inline and attached policies with moto's own evaluator (`moto.iam.access_control.IAMPolicy`), bucket
  policies for an explicit Deny included.
- A denied call is answered as the service answers it (`AccessDenied` 403 for S3, `AccessDeniedException` for the
  JSON services), so the handler or the workflow sees what it would see on AWS, and the denial is recorded with
  principal, action and resource for the report. A call no mapping covers is denied too, saying what to add.

Calls made with the operator's credentials (the deployment, the tests' own clients) are not checked: they stand for
the person running `pulumi up`. Calls made with no known credentials from inside a handler are denied.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore import handlers as botocore_handlers
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.ecs.models import ecs_backends
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends
from moto.secretsmanager.models import secretsmanager_backends

OPERATOR_KEY = "AKIALOCALOPERATOR000"
"""The operator's access key: the deployment and the tests, unchecked (they stand for whoever runs `pulumi up`)."""
SECURE_TRANSPORT = {"aws:SecureTransport": "true"}
"""Every call reaches AWS over HTTPS; bucket policies that deny plain HTTP do not apply."""
XML_SERVICES = frozenset({"s3"})


class UntrustedPrincipal(RuntimeError):
    """A role's trust policy does not let the service assume it: AWS would refuse the role at deployment or run."""


@dataclass(frozen=True)
class Check:
    """One thing IAM evaluates for a call: an action on a resource, with its request context."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Principal:
    role_arn: str
    session: str
    """Who holds the credentials: a function's name, a task's id, a workflow's name."""

    @property
    def arn(self) -> str:
        """The assumed-role ARN AWS names in its AccessDenied messages."""
        account = self.role_arn.split(":")[4]
        return f"arn:aws:sts::{account}:assumed-role/{self.role_arn.rsplit('/', 1)[-1]}/{self.session}"


@dataclass(frozen=True)
class Denial:
    principal: str
    action: str
    resource: str
    reason: str

    def message(self) -> str:
        return (f"User: {self.principal} is not authorized to perform: {self.action} on resource: {self.resource} "
                f"{self.reason}")  # fmt: skip


@dataclass(frozen=True)
class Call:
    """An API call as the hook sees it: botocore's service name, operation and parameters."""

    service: str
    operation: str
    params: Mapping[str, Any]


class Authorizer:
    """Mints credentials per principal, and authorizes every call made with them."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.denials: list[Denial] = []
        self._principals: dict[str, Principal] = {}
        self._revoked: set[str] = set()
        self._lock = threading.Lock()
        self._installed = False

    # Credentials

    def check_trust(self, role_arn: str, service: str, source_arn: str) -> None:
        """UntrustedPrincipal unless the role lets `service` assume it from `source_arn` in this account."""
        _check_trust(self.account, role_arn, service, source_arn)

    def credentials(self, role_arn: str, session: str, service: str, source_arn: str) -> dict[str, str]:
        """Temporary credentials of `role_arn` for `service`, as AWS gives them (environment variable names), after
        checking that the role trusts the service from `source_arn` in this account."""
        self.check_trust(role_arn, service, source_arn)
        key = "ASIA" + uuid.uuid4().hex[:16].upper()
        with self._lock:
            self._principals[key] = Principal(role_arn, session)
        return {
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": uuid.uuid4().hex,
            "AWS_SESSION_TOKEN": uuid.uuid4().hex,
        }

    def revoke(self, access_key: str) -> None:
        """The holder is gone (a stopped task): its next call is refused."""
        with self._lock:
            self._revoked.add(access_key)

    def principal(self, access_key: str) -> Principal | None:
        with self._lock:
            return self._principals.get(access_key)

    # Evaluation

    def allows(self, principal: Principal, check: Check) -> Denial | None:
        """None when the role's policies allow `check` and no bucket policy denies it; else the denial, recorded."""
        policies = _role_policies(self.account, principal.role_arn)
        results = [IAMPolicy(policy).is_action_permitted(check.action, check.resource, None, dict(check.context))
                   for policy in policies]  # fmt: skip
        denial = None
        if PermissionResult.DENIED in results:
            denial = "with an explicit deny in an identity-based policy"
        elif PermissionResult.PERMITTED not in results:
            denial = f"because no identity-based policy allows the {check.action} action"
        elif _bucket_policy_denies(self.account, check):
            denial = "with an explicit deny in a resource-based policy"
        if denial is None:
            return None
        found = Denial(principal.arn, check.action, check.resource, denial)
        with self._lock:
            self.denials.append(found)
        return found

    def authorize(self, access_key: str, call: Call) -> tuple[Denial, str] | None:
        """The first denial of the call and the error code to answer, or None when it is allowed."""
        if access_key == OPERATOR_KEY:
            return None
        with self._lock:
            principal, revoked = self._principals.get(access_key), access_key in self._revoked
        if principal is None or revoked:
            who = "credentials no principal of the stack holds" if principal is None else "a stopped task's credentials"
            denial = Denial(access_key, f"{call.service}:{call.operation}", "*", f"made with {who}")
            with self._lock:
                self.denials.append(denial)
            return denial, "InvalidClientTokenId" if principal is None else "ExpiredTokenException"
        mapper = REQUEST_AUTHORIZATION.get((call.service, call.operation))
        if mapper is None:
            denial = Denial(principal.arn, f"{call.service}:{call.operation}", "*",
                            "because the emulator has no IAM mapping for it: add one to emulator/iam.py")  # fmt: skip
            with self._lock:
                self.denials.append(denial)
            return denial, _denied_code(call.service)
        for check, code in mapper(self, call):
            denial = self.allows(principal, check)
            if denial is not None:
                return denial, code or _denied_code(call.service)
        return None

    # The botocore hook

    @contextmanager
    def installed(self) -> Iterator[Authorizer]:
        """Check every call of every client created meanwhile (boto3 sessions take botocore's builtin handlers)."""
        entries = [("before-parameter-build", _remember_parameters), ("before-call", self._before_call)]
        botocore_handlers.BUILTIN_HANDLERS.extend(entries)
        self._installed = True
        try:
            yield self
        finally:
            # Sessions made meanwhile (boto3's default one included) keep the hook: it stops checking instead.
            self._installed = False
            for entry in entries:
                botocore_handlers.BUILTIN_HANDLERS.remove(entry)

    def _before_call(self, model: Any, context: dict[str, Any], request_signer: Any = None, **_: Any) -> Any:
        call = context.get(_CALL)
        credentials = getattr(request_signer, "_credentials", None)
        if call is None or credentials is None or not self._installed:
            return None
        verdict = self.authorize(credentials.access_key, call)
        if verdict is None:
            return None
        denial, code = verdict
        return _error_response(call.service, code, denial.message())


_CALL = "local_iam_call"


def _remember_parameters(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    """botocore's `before-call` sees the serialized request; the call's own parameters are kept for it here."""
    context[_CALL] = Call(model.service_model.service_name, model.name, dict(params))


def _error_response(service: str, code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    status = 403 if service in XML_SERVICES or code in _FORBIDDEN else 400
    request_id = uuid.uuid4().hex
    headers = {"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id}
    metadata = {"HTTPStatusCode": status, "HTTPHeaders": headers, "RequestId": request_id}
    parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}
    return AWSResponse("https://local-iam", status, headers, MockRawResponse(b"")), parsed


_FORBIDDEN = frozenset({"ForbiddenException", "InvalidClientTokenId", "ExpiredTokenException"})


def _denied_code(service: str) -> str:
    return "AccessDenied" if service in XML_SERVICES else "AccessDeniedException"


# Policies -----------------------------------------------------------------------------------------------------------


def _role_policies(account: str, role_arn: str) -> list[Any]:
    role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    return [*role.policies.values(), *role.managed_policies.values()]


def _check_trust(account: str, role_arn: str, service: str, source_arn: str) -> None:
    role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    context = {"aws:SourceAccount": account, "aws:SourceArn": source_arn}
    for statement in _statements(json.loads(role.assume_role_policy_document)):
        services = statement.get("Principal", {}).get("Service", [])
        trusted = service in ([services] if isinstance(services, str) else services)
        if trusted and statement.get("Effect") == "Allow":
            single = {"Version": "2012-10-17", "Statement": [{k: v for k, v in statement.items() if k != "Principal"}]}
            if IAMPolicy(json.dumps(single)).is_action_permitted("sts:AssumeRole", "*", None, context) is (
                PermissionResult.PERMITTED
            ):
                return
    raise UntrustedPrincipal(f"role {role_arn} does not trust {service} from {source_arn} in account {account}")


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _bucket_policy_denies(account: str, check: Check) -> bool:
    if not check.resource.startswith("arn:aws:s3:::"):
        return False
    bucket = check.resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    policy = s3_backends[account]["aws"].get_bucket(bucket).policy
    if not policy:
        return False
    document = json.loads(policy)
    denies = [s for s in _statements(document) if s.get("Effect") == "Deny"]
    result = IAMPolicy(json.dumps({"Statement": denies})).is_action_permitted(
        check.action, check.resource, None, {**SECURE_TRANSPORT, **check.context}
    )
    return result is PermissionResult.DENIED


# Calls -> what IAM authorizes ---------------------------------------------------------------------------------------

Checks = Iterator[tuple[Check, str | None]]
"""Each check, and the error code to answer when it is denied (None: the service's usual AccessDenied)."""


def _arn(authorizer: Authorizer, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{authorizer.region}:{authorizer.account}:{resource}"


def _s3_object(action_for_version: str) -> Callable[[Authorizer, Call], Checks]:
    """An object call: its action, or the `...Version` one instead when a version is named (as S3 authorizes it)."""

    def checks(authorizer: Authorizer, call: Call) -> Checks:
        action = f"s3:{action_for_version}"
        resource = f"arn:aws:s3:::{call.params['Bucket']}/{call.params['Key']}"
        versioned = call.params.get("VersionId") and action in _VERSIONED
        yield Check(_VERSIONED.get(action, action) if versioned else action, resource, SECURE_TRANSPORT), None
        if call.operation in ("GetObject", "HeadObject") and not _object_exists(authorizer, call):
            # S3 answers 404 for a missing key only to a caller allowed to list the bucket; others get 403.
            bucket = f"arn:aws:s3:::{call.params['Bucket']}"
            yield Check("s3:ListBucket", bucket, {**SECURE_TRANSPORT, "s3:prefix": call.params["Key"]}), None

    return checks


_VERSIONED = {"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion"}


def _object_exists(authorizer: Authorizer, call: Call) -> bool:
    try:
        found = s3_backends[authorizer.account]["aws"].get_object(
            call.params["Bucket"], call.params["Key"], call.params.get("VersionId")
        )
    except Exception:
        return False
    return found is not None


def _s3_delete_objects(authorizer: Authorizer, call: Call) -> Checks:
    for item in call.params["Delete"]["Objects"]:
        action = "s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject"
        yield Check(action, f"arn:aws:s3:::{call.params['Bucket']}/{item['Key']}", SECURE_TRANSPORT), None


def _s3_list(authorizer: Authorizer, call: Call) -> Checks:
    context = {**SECURE_TRANSPORT, "s3:prefix": call.params.get("Prefix", "")}
    yield Check("s3:ListBucket", f"arn:aws:s3:::{call.params['Bucket']}", context), None


def _dynamodb(authorizer: Authorizer, call: Call) -> Checks:
    tables = [call.params["TableName"]] if "TableName" in call.params else list(call.params.get("RequestItems", {}))
    for table in tables:
        resource = _arn(authorizer, "dynamodb", f"table/{table}")
        if call.params.get("IndexName"):
            resource += f"/index/{call.params['IndexName']}"
        yield Check(f"dynamodb:{call.operation}", resource), None


def _states(parameter: str) -> Callable[[Authorizer, Call], Checks]:
    def checks(authorizer: Authorizer, call: Call) -> Checks:
        yield Check(f"states:{call.operation}", call.params[parameter]), None

    return checks


def _lambda_invoke(authorizer: Authorizer, call: Call) -> Checks:
    name = call.params["FunctionName"]
    resource = name if name.startswith("arn:") else _arn(authorizer, "lambda", f"function:{name}")
    yield Check("lambda:InvokeFunction", resource), None


def _secret(authorizer: Authorizer, secret_id: str) -> str:
    """Secrets are named by ARN or by name; IAM sees the full ARN (with its random suffix)."""
    secrets = secretsmanager_backends[authorizer.account][authorizer.region].secrets
    for secret in list(secrets.values()):
        if secret_id in (secret.arn, secret.name):
            return str(secret.arn)
    return secret_id if secret_id.startswith("arn:") else _arn(authorizer, "secretsmanager", f"secret:{secret_id}")


def _secretsmanager(authorizer: Authorizer, call: Call) -> Checks:
    yield Check(f"secretsmanager:{call.operation}", _secret(authorizer, call.params["SecretId"])), None


def _data_api(authorizer: Authorizer, call: Call) -> Checks:
    """The Data API runs the statement with the caller's permissions on the cluster, then reads the secret with
    the caller's credentials. AWS documents ForbiddenException as "insufficient privileges"; which shape it answers
    a secret the caller may not read with is not documented, and ForbiddenException is what is answered here."""
    yield Check(f"rds-data:{call.operation}", call.params["resourceArn"]), None
    if call.params.get("secretArn"):
        secret = _secret(authorizer, call.params["secretArn"])
        yield Check("secretsmanager:GetSecretValue", secret), "ForbiddenException"


def _ecs_run_task(authorizer: Authorizer, call: Call) -> Checks:
    """RunTask is authorized on the task definition in the cluster; passing the task's roles needs iam:PassRole
    to ECS tasks; tags given or propagated from the task definition are ECS's `TagResource` on the new task, only as
    part of RunTask (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html)."""
    backend = ecs_backends[authorizer.account][authorizer.region]
    definition = backend.describe_task_definition(call.params["taskDefinition"])
    cluster = _cluster_arn(authorizer, call.params.get("cluster", "default"))
    yield Check("ecs:RunTask", definition.arn, {"ecs:cluster": cluster}), None
    overrides = call.params.get("overrides") or {}
    for role in {overrides.get("taskRoleArn") or definition.task_role_arn,
                 overrides.get("executionRoleArn") or definition.execution_role_arn} - {None}:  # fmt: skip
        yield Check("iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"}), None
    propagated = call.params.get("propagateTags") == "TASK_DEFINITION" and definition.tags
    if call.params.get("tags") or propagated:
        task = f"{cluster.replace(':cluster/', ':task/')}/{uuid.uuid4().hex}"
        yield Check("ecs:TagResource", task, {"ecs:CreateAction": "RunTask", "ecs:cluster": cluster}), None


def _ecs_tasks(authorizer: Authorizer, call: Call) -> Checks:
    cluster = _cluster_arn(authorizer, call.params.get("cluster", "default"))
    tasks = call.params.get("tasks") or [call.params["task"]]
    for task in tasks:
        arn = task if task.startswith("arn:") else f"{cluster.replace(':cluster/', ':task/')}/{task}"
        yield Check(f"ecs:{call.operation}", arn, {"ecs:cluster": cluster}), None


def _cluster_arn(authorizer: Authorizer, cluster: str) -> str:
    return cluster if cluster.startswith("arn:") else _arn(authorizer, "ecs", f"cluster/{cluster}")


REQUEST_AUTHORIZATION: dict[tuple[str, str], Callable[[Authorizer, Call], Checks]] = {
    ("s3", "HeadObject"): _s3_object("GetObject"),
    ("s3", "GetObject"): _s3_object("GetObject"),
    ("s3", "PutObject"): _s3_object("PutObject"),
    ("s3", "CreateMultipartUpload"): _s3_object("PutObject"),
    ("s3", "UploadPart"): _s3_object("PutObject"),
    ("s3", "CompleteMultipartUpload"): _s3_object("PutObject"),
    ("s3", "AbortMultipartUpload"): _s3_object("AbortMultipartUpload"),
    ("s3", "DeleteObject"): _s3_object("DeleteObject"),
    ("s3", "DeleteObjects"): _s3_delete_objects,
    ("s3", "ListObjectsV2"): _s3_list,
    **{("dynamodb", operation): _dynamodb for operation in (
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem")},
    ("stepfunctions", "StartExecution"): _states("stateMachineArn"),
    ("stepfunctions", "DescribeExecution"): _states("executionArn"),
    ("stepfunctions", "StopExecution"): _states("executionArn"),
    ("lambda", "Invoke"): _lambda_invoke,
    **{("rds-data", operation): _data_api for operation in (
        "ExecuteStatement", "BatchExecuteStatement", "BeginTransaction", "CommitTransaction", "RollbackTransaction")},
    **{("secretsmanager", operation): _secretsmanager for operation in (
        "GetSecretValue", "PutSecretValue", "DescribeSecret")},
    ("ecs", "RunTask"): _ecs_run_task,
    ("ecs", "DescribeTasks"): _ecs_tasks,
    ("ecs", "StopTask"): _ecs_tasks,
}  # fmt: skip
"""(botocore service, operation) -> what IAM authorizes the call as. A call not listed is denied, naming itself."""
