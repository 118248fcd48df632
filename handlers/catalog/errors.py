"""The errors the catalog's code raises on purpose. Lambda reports the class name as ``errorType``."""

from __future__ import annotations

__all__ = ["CatalogError", "ConfigurationError", "DatabaseStillResuming", "LoginSecretInvalid", "MigrationFailed"]


class CatalogError(Exception):
    """Base class of every error the catalog raises deliberately."""


class ConfigurationError(CatalogError):
    """The function's environment lacks a setting it needs; fix the deployment, retrying will not help."""

    def __init__(self, variable: str) -> None:
        self.variable = variable
        super().__init__(f"Environment variable {variable} is not set; set it on the Lambda function.")


class DatabaseStillResuming(CatalogError):
    """The paused cluster did not finish resuming in the time allowed; invoking again later will find it awake."""

    def __init__(self, waited_seconds: float, attempts: int) -> None:
        self.waited_seconds = waited_seconds
        self.attempts = attempts
        super().__init__(
            f"The Aurora cluster was still resuming after {attempts} attempts over {waited_seconds:.0f} seconds; "
            "invoke again in a minute, or give the function a longer timeout."
        )


class MigrationFailed(CatalogError):
    """A migration's statement failed; its transaction was rolled back, so the schema is as it was before it."""

    def __init__(self, version: int, description: str, step: str, reason: str) -> None:
        self.version = version
        self.description = description
        self.step = step
        self.reason = reason
        super().__init__(
            f"Migration {version} ({description}) failed at {step} and was rolled back: {reason}. "
            "Fix the migration (or the database) and run the migration function again."
        )


class LoginSecretInvalid(CatalogError):
    """A login role's secret holds something this code did not write; it is left as it is, for a person to look at."""

    def __init__(self, role: str, secret_arn: str, problem: str) -> None:
        self.role = role
        self.secret_arn = secret_arn
        super().__init__(
            f"The secret of login role {role} ({secret_arn}) cannot be used: {problem}. It should hold "
            f'{{"username": "{role}", "password": ...}}; fix its value (or replace the secret: a new one gets a new '
            "password) and run the migration function again."
        )
