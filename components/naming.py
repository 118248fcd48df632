"""Physical names and tags: the one place that decides how stack resources are named and labelled."""

import hashlib
import re

import pulumi

MANAGED_BY = "pulumi"

MAX_LENGTHS = {
    "bucket": 63,
    "table": 255,
    "function": 64,
    "role": 64,
    "state-machine": 80,
    "log-group": 512,
    "queue": 80,
    "rule": 64,
    "alias": 256,
    "task-family": 255,
    "cluster": 255,
    "repository": 256,
    "db-cluster": 63,
    "security-group": 255,
    "name-tag": 256,
    "secret": 512,
    "alarm": 255,
    "topic": 256,
    "dashboard": 255,
    "backup-vault": 50,
    "backup-plan": 50,
    "backup-selection": 50,
    "sampling-rule": 32,
}
"""AWS's length limits for the physical names this project sets."""


class NamingError(pulumi.RunError):
    """A physical name AWS would refuse."""


ACCOUNT_SUFFIX_LENGTH = len("-123456789012")
HASH_LENGTH = 8
"""Hex digits of a capped name's hash: a collision between two names of one account is out of reach."""


def physical_name(name: str, kind: str, reserve: int = 0) -> str:
    """`{project}-{stack}-{name}`, checked against AWS's limit for `kind` (less `reserve` characters for a suffix)
    so that a long stack name fails before anything is declared."""
    full = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
    if kind == "bucket":
        full = full.lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", full):
            raise NamingError(f"bucket name {full!r} may hold only lowercase letters, digits, '.' and '-'")
    limit = MAX_LENGTHS[kind] - reserve
    if len(full) > limit:
        raise NamingError(
            f"{kind} name {full!r} is {len(full)} characters; AWS allows {limit}. Use a shorter project, stack or name."
        )
    return full


def capped_name(full: str, kind: str) -> str:
    """`full` when it fits AWS's limit for `kind`, else as much of its start as fits beside a hash of all of it: for
    names AWS limits more tightly than the physical names they derive from (an X-Ray sampling rule's 32
    characters), and still unique as long as `full` is."""
    limit = MAX_LENGTHS[kind]
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:HASH_LENGTH]
    return f"{full[: limit - HASH_LENGTH - 1]}-{digest}"


def stack_tags(user_tags: dict[str, str]) -> dict[str, str]:
    """The tags every taggable resource carries; the project's own keys win over user tags of the same name."""
    return {
        **user_tags,
        "Project": pulumi.get_project(),
        "Environment": pulumi.get_stack(),
        "ManagedBy": MANAGED_BY,
    }


def bucket_name(name: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """Bucket names are global across all AWS accounts: the account id keeps forks of this template apart."""
    base = physical_name(name, "bucket", reserve=ACCOUNT_SUFFIX_LENGTH)
    return pulumi.Output.from_input(account_id).apply(lambda account: f"{base}-{account}")
