"""Passwords of the catalog's login roles: made here, kept in Secrets Manager, given to PostgreSQL as a verifier.

Each role of ``schema.LOGIN_ROLES`` has a secret of its own, named by the ``<ROLE>_SECRET_ARN`` environment variable
(``CATALOG_WRITER_SECRET_ARN``), which Pulumi creates empty: no password is ever in the program, its state or its
logs. After the migrations have run, the migration function, for each role:

1. reads the secret; when it has no value yet, makes a password (``secrets``, 256 bits) and stores it as the JSON the
   Data API reads, ``{"username": ..., "password": ...}`` (the same two keys as RDS's own master user secret);
2. sets the role's password from the stored value, as a SCRAM-SHA-256 verifier with a fresh salt
   (``ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$4096:...'``): PostgreSQL stores a verifier as it is, so the clear
   password never reaches the database, whose DDL is logged.

Running it again keeps the stored password and sets the same password again (with a new salt), so the role and its
secret agree afterwards whatever happened in between. Two runs at once cannot store two passwords: the first value
is written with a fixed ``ClientRequestToken``, Secrets Manager refuses a different value under the same token, and
the loser reads the winner's value.

The roles and the Secrets Manager client (`Logins`) are read from the environment on first use and can be injected
(tests, a local runner) with ``set_logins``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import boto3
from aws_lambda_powertools import Logger
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from .dataapi import DataApi
from .errors import ConfigurationError, LoginSecretInvalid
from .schema import LOGIN_ROLES, login_secret_variable, set_login_password_sql

__all__ = [
    "LoginRole",
    "Logins",
    "first_value_token",
    "get_logins",
    "login_roles",
    "new_password",
    "provision",
    "scram_sha256_verifier",
    "set_logins",
]

SCRAM_ITERATIONS = 4096
"""PostgreSQL's default (`scram_iterations`) and RFC 7677's minimum. The passwords are 256 random bits, so the count
does not protect them; it is what every login through the Data API pays for."""
SALT_BYTES = 16
"""PostgreSQL's own salt length for the verifiers it makes."""
PASSWORD_BYTES = 32
NO_VALUE = "ResourceNotFoundException"
"""What GetSecretValue answers for a secret without a current value (and for a secret that does not exist: then
PutSecretValue fails the same way, and that error is raised)."""
TOKEN_TAKEN = "ResourceExistsException"
"""What PutSecretValue answers when the token already names a version with another value: a concurrent run won."""

Outcome = Literal["generated", "kept"]

logger = Logger(child=True)


@dataclass(frozen=True)
class LoginRole:
    username: str
    secret_arn: str


def login_roles(environ: Mapping[str, str] | None = None, roles: Sequence[str] = LOGIN_ROLES) -> list[LoginRole]:
    """Every login role with its secret; a missing variable fails before anything touches AWS."""
    environ = os.environ if environ is None else environ
    found = []
    for role in roles:
        arn = environ.get(login_secret_variable(role), "")
        if not arn:
            raise ConfigurationError(login_secret_variable(role))
        found.append(LoginRole(role, arn))
    return found


def new_password() -> str:
    """256 random bits, URL-safe base64: printable ASCII, which SCRAM's SASLprep leaves unchanged."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def scram_sha256_verifier(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> str:
    """What PostgreSQL keeps for a SCRAM-SHA-256 password (RFC 5802 section 3, with SHA-256 as RFC 7677 says):
    `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all three in base64 (pg_authid.rolpassword).

    SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations); StoredKey = SHA-256(HMAC(SaltedPassword,
    "Client Key")); ServerKey = HMAC(SaltedPassword, "Server Key"). The password must be printable ASCII: SASLprep
    (RFC 4013), which the server applies to what a client sends, leaves that unchanged, and this code does not
    implement it for anything else."""
    if not password or not all(" " <= character <= "~" for character in password):
        raise ValueError("SCRAM verifiers are made here for non-empty printable ASCII passwords only")
    if iterations < 1 or not salt:
        raise ValueError("a SCRAM verifier needs a salt and at least one iteration")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def provision(
    api: DataApi,
    client: BaseClient,
    roles: Sequence[LoginRole],
    *,
    make_password: Callable[[], str] = new_password,
    make_salt: Callable[[int], bytes] = os.urandom,
) -> dict[str, Outcome]:
    """Give every role the password of its secret (storing a new one first where the secret has none)."""
    outcomes: dict[str, Outcome] = {}
    for role in roles:
        password, outcomes[role.username] = _password(client, role, make_password)
        verifier = scram_sha256_verifier(password, make_salt(SALT_BYTES))
        api.execute(set_login_password_sql(role.username, verifier))
        extra = {"role": role.username, "outcome": outcomes[role.username]}
        logger.info("Login role's password set from its secret", extra=extra)
    return outcomes


def _password(client: BaseClient, role: LoginRole, make_password: Callable[[], str]) -> tuple[str, Outcome]:
    stored = _stored(client, role)
    if stored is not None:
        return stored, "kept"
    value = json.dumps({"username": role.username, "password": make_password()})
    token = first_value_token(role.secret_arn)
    try:
        client.put_secret_value(SecretId=role.secret_arn, SecretString=value, ClientRequestToken=token)
    except ClientError as error:
        if _code(error) != TOKEN_TAKEN:
            raise
        logger.info("Another run stored this role's first password; using it", extra={"role": role.username})
    stored = _stored(client, role)
    if stored is None:
        raise LoginSecretInvalid(role.username, role.secret_arn, "it still has no value after storing one")
    return stored, "generated"


def first_value_token(secret_arn: str) -> str:
    """The ClientRequestToken of a secret's first value: the same for every run, so only one first value exists."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{secret_arn}#first-value"))


def _stored(client: BaseClient, role: LoginRole) -> str | None:
    """The secret's password, or None if it has no value yet; a value for another user or without a password is
    an error (someone edited the secret by hand): overwriting it could lock out whoever uses it."""
    try:
        text = client.get_secret_value(SecretId=role.secret_arn)["SecretString"]
    except ClientError as error:
        if _code(error) == NO_VALUE:
            return None
        raise
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not isinstance(value.get("password"), str) or not value["password"]:
        raise LoginSecretInvalid(role.username, role.secret_arn, 'it is not JSON with a "password"')
    if value.get("username") != role.username:
        raise LoginSecretInvalid(role.username, role.secret_arn, f"its username is {value.get('username')!r}")
    return value["password"]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Logins:
    """The login roles to provision and the Secrets Manager client that keeps their passwords."""

    roles: Sequence[LoginRole]
    secrets: BaseClient

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, session: boto3.Session | None = None) -> Logins:
        roles = login_roles(environ)  # every setting is read before anything touches AWS
        return cls(roles, (session or boto3.Session()).client("secretsmanager"))


_logins: Logins | None = None


def get_logins() -> Logins:
    """The injected login settings, or ones built once from the environment."""
    global _logins
    if _logins is None:
        _logins = Logins.from_environment()
    return _logins


def set_logins(logins: Logins | None) -> None:
    """Inject them (tests, a local runner); ``None`` rebuilds them from the environment on next use."""
    global _logins
    _logins = logins
