"""What every handler works with: AWS clients, resource names and image settings, injectable for tests.

Clients live at module scope so that warm invocations reuse them and their connections; they are built on first
use rather than at import, so importing a handler (tests, tooling, cold-start measurements) needs no AWS setup.
"""

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Self, TypeVar

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.client import BaseClient
from imaging import ImagingSettings

from .contract import IDEMPOTENCY_TABLE_ENV, RENDER_MEMORY_ENV, RESULTS_BUCKET_ENV, TABLE_NAME_ENV, UPLOAD_PREFIX_ENV
from .errors import ConfigurationError

if TYPE_CHECKING:  # annotations only: importing it costs every cold start for nothing
    from aws_lambda_powertools.utilities.typing import LambdaContext

MEMORY_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
"""Set by Lambda itself; the fallback when RENDER_MEMORY_MB is not set."""


class Dependencies(NamedTuple):
    """Everything a step needs from outside: built once per instance, or injected by tests and the local cloud."""

    s3: BaseClient
    dynamodb: BaseClient
    table_name: str
    results_bucket: str
    idempotency: DynamoDBPersistenceLayer
    imaging: ImagingSettings
    upload_prefix: str
    memory_mb: int

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, session: boto3.Session | None = None) -> Self:
        environ = os.environ if environ is None else environ
        # Settings first: a misconfigured function should say so before anything touches AWS.
        table_name = _require(environ, TABLE_NAME_ENV)
        results_bucket = _require(environ, RESULTS_BUCKET_ENV)
        idempotency_table = _require(environ, IDEMPOTENCY_TABLE_ENV)
        session = session or session_from(environ)
        dynamodb = session.client("dynamodb")
        return cls(
            s3=session.client("s3"),
            dynamodb=dynamodb,
            table_name=table_name,
            results_bucket=results_bucket,
            idempotency=DynamoDBPersistenceLayer(table_name=idempotency_table, boto3_client=dynamodb),
            imaging=ImagingSettings.from_environment(environ),
            upload_prefix=environ.get(UPLOAD_PREFIX_ENV, ""),
            memory_mb=int(environ.get(RENDER_MEMORY_ENV) or environ.get(MEMORY_ENV) or "1024"),
        )


def session_from(environ: Mapping[str, str]) -> boto3.Session:
    """A session with the credentials and region in `environ`, as Lambda sets them (a container whose credentials
    come from ECS's endpoint has none there, and boto3 finds them itself)."""
    return boto3.Session(
        aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=environ.get("AWS_SESSION_TOKEN"),
        region_name=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
    )


EVENT_IDENTITY = 'detail.[bucket.name, object.key, object."version-id", object.etag]'
"""Two deliveries of the same upload share bucket, key, version and ETag; a new upload changes one of them."""

Result = TypeVar("Result")

_dependencies: Dependencies | None = None


def run_once(
    step: Callable[[dict[str, Any], Dependencies], Result], event: dict[str, Any], context: "LambdaContext"
) -> Result:
    """Run a handler's step once per upload: a repeated delivery gets the first run's result from Powertools'
    idempotency store instead of doing the work again."""
    dependencies = get_dependencies()
    config = IdempotencyConfig(event_key_jmespath=EVENT_IDENTITY, lambda_context=context)
    once = idempotent_function(data_keyword_argument="event", persistence_store=dependencies.idempotency, config=config)
    return once(step)(event=event, dependencies=dependencies)


def get_dependencies() -> Dependencies:
    """The injected dependencies, or ones built once from the environment."""
    global _dependencies
    if _dependencies is None:
        _dependencies = Dependencies.from_environment()
    return _dependencies


def set_dependencies(dependencies: Dependencies | None) -> None:
    """Inject dependencies (tests, the local runner); ``None`` rebuilds them from the environment on next use."""
    global _dependencies
    _dependencies = dependencies


def _require(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise ConfigurationError(name)
    return value
