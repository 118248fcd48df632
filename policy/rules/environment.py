"""Environment variables are readable by anyone who can read a function's or a task's configuration: secrets
belong in Secrets Manager or SSM and are passed by reference (an ARN), never by value.

The same test as components/environment.py (the pack cannot import the program's code under the Pulumi CLI);
tests/policy checks that the two agree."""

import re
from collections.abc import Iterable

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)
REFERENCE_SUFFIXES = ("_ARN", "_NAME", "_ID")
"""A secret's ARN, name or id is a reference, not the secret: `SECRET_ARN` is how a secret should be passed."""


def secret_looking(names: Iterable[str]) -> list[str]:
    """The names that look like they hold a secret's value."""
    return sorted(name for name in names if SECRET_NAME.search(name) and not name.upper().endswith(REFERENCE_SUFFIXES))
