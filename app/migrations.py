"""The catalog's schema is created and migrated by code during `pulumi up`: a Lambda applies the pending
migrations (handlers/catalog/migrate.py), gives the login roles the passwords kept in their secrets
(handlers/catalog/logins.py), and an `aws.lambda_.Invocation` runs it whenever the migrations or the secrets
change."""

import hashlib
import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from app.code import LAMBDA_CODE
from components.database import DatabaseUser, ServerlessDatabase
from components.function import Function, FunctionArgs
from components.key import EncryptionKey
from components.profile import EnvironmentProfile
from handlers.catalog.schema import LOGIN_ROLES, MIGRATIONS, login_secret_variable

MIGRATE_TIMEOUT_SECONDS = 300
"""A paused (0 ACU) cluster takes ~15-30 s to resume before the first statement runs."""


def migrate_on_deploy(
    catalog: ServerlessDatabase,
    logins: Sequence[DatabaseUser],
    profile: EnvironmentProfile,
    key: EncryptionKey | None,
    opts: pulumi.ResourceOptions,
) -> aws.lambda_.Invocation:
    """`logins` are the users whose roles the migrations create (`schema.LOGIN_ROLES`), each with its secret."""
    by_role = {user.username: user for user in logins}
    if sorted(by_role) != sorted(LOGIN_ROLES) or len(by_role) != len(logins):
        raise ValueError(
            f"the migrations create login roles {sorted(LOGIN_ROLES)}, but migrate_on_deploy was given users for "
            f"{sorted(user.username for user in logins)}: declare one catalog.database_user per role"
        )
    migrate = Function(
        "migrate-catalog",
        FunctionArgs(
            profile=profile.args,
            code=LAMBDA_CODE.args,
            handler="catalog.migrate.handler",
            description="Applies the image catalog's pending schema migrations and sets its login roles' passwords",
            environment={
                "CLUSTER_ARN": catalog.cluster_arn,
                "SECRET_ARN": catalog.secret_arn,
                "DATABASE_NAME": catalog.database_name,
                **{login_secret_variable(role): by_role[role].secret_arn for role in LOGIN_ROLES},
                "POWERTOOLS_SERVICE_NAME": "image-pipeline-catalog",
            },
            kms_key_arn=key.arn if key else None,
            timeout_seconds=MIGRATE_TIMEOUT_SECONDS,
            # It runs once per deployment: a reservation would hold concurrency back from every other function.
            reserve_concurrency=False,
        ),
        opts,
    )
    policy = catalog.grant_migrate(migrate, logins)
    # A replaced secret (empty again) changes the input too, so the new one is filled at once.
    secrets = {role: by_role[role].secret_arn for role in LOGIN_ROLES}
    return aws.lambda_.Invocation(
        "migrate-catalog-now",
        function_name=migrate.name,
        # The input changes with the migrations, and a changed input is what makes Pulumi invoke it again.
        input=pulumi.Output.json_dumps({"migrations": schema_digest(), "logins": secrets}),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy, catalog])),
    )


def schema_digest() -> str:
    text = json.dumps([[m.version, m.description, list(m.statements)] for m in MIGRATIONS])
    return hashlib.sha256(text.encode()).hexdigest()
