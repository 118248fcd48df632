"""The catalog's schema is created and migrated by code during `pulumi up`: a Lambda applies the pending
migrations (handlers/catalog/migrate.py) and an `aws.lambda_.Invocation` runs it whenever the migrations change."""

import hashlib
import json

import pulumi
import pulumi_aws as aws

from app.code import LAMBDA_CODE
from components.database import ServerlessDatabase
from components.function import Function, FunctionArgs
from components.key import EncryptionKey
from components.profile import EnvironmentProfile
from handlers.catalog.schema import MIGRATIONS

MIGRATE_TIMEOUT_SECONDS = 300
"""A paused (0 ACU) cluster takes ~15-30 s to resume before the first statement runs."""


def migrate_on_deploy(
    catalog: ServerlessDatabase, profile: EnvironmentProfile, key: EncryptionKey | None, opts: pulumi.ResourceOptions
) -> aws.lambda_.Invocation:
    migrate = Function(
        "migrate-catalog",
        FunctionArgs(
            profile,
            LAMBDA_CODE,
            "catalog.migrate.handler",
            "Applies the image catalog's pending schema migrations",
            environment={
                "CLUSTER_ARN": catalog.cluster_arn,
                "SECRET_ARN": catalog.secret_arn,
                "DATABASE_NAME": catalog.database_name,
                "POWERTOOLS_SERVICE_NAME": "image-pipeline-catalog",
            },
            key=key,
            timeout_seconds=MIGRATE_TIMEOUT_SECONDS,
        ),
        opts,
    )
    policy = catalog.grant_data_api(migrate)
    return aws.lambda_.Invocation(
        "migrate-catalog-now",
        function_name=migrate.name,
        # The input changes with the migrations, and a changed input is what makes Pulumi invoke it again.
        input=json.dumps({"migrations": schema_digest()}),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy, catalog])),
    )


def schema_digest() -> str:
    text = json.dumps([[m.version, m.description, list(m.statements)] for m in MIGRATIONS])
    return hashlib.sha256(text.encode()).hexdigest()
