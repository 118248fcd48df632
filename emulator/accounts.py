"""The account guard, as the AWS provider applies it: the emulator runs as one AWS account (the one the program was
synthesized for, `Synthesis.account`: by default the stack's deploy role's, else its first allowed account), and a
program whose AWS provider does not allow that account is refused before anything is deployed, with the message
the provider gives when it starts (`AWS account ID not allowed: <id>`).
"""

from __future__ import annotations

import json
from typing import Any

from components.profile import ALLOWED_ACCOUNT_IDS_KEY, CONFIG_NAMESPACE, PROFILE_KEY
from synth.program import Synthesis

AWS_PROVIDER = "pulumi:providers:aws"


class AccountNotAllowed(RuntimeError):
    """The emulator's account is not one the stack's AWS provider allows: AWS would have refused the deployment."""


def check_account(synthesis: Synthesis, account: str) -> None:
    """AccountNotAllowed unless every AWS provider of the program that names allowed accounts names `account`."""
    for provider in synthesis.of_type(AWS_PROVIDER):
        allowed = _decoded(provider.inputs.get(ALLOWED_ACCOUNT_IDS_KEY))
        if allowed and account not in allowed:
            raise AccountNotAllowed(
                f"AWS account ID not allowed: {account} (stack {synthesis.stack!r}, provider {provider.name!r}: "
                f"{CONFIG_NAMESPACE}:{PROFILE_KEY}.{ALLOWED_ACCOUNT_IDS_KEY} is {', '.join(allowed)}); nothing was "
                "deployed"
            )


def _decoded(value: Any) -> list[str]:
    """Provider configuration reaches the provider as JSON text (as from the Pulumi CLI); a list is taken as is."""
    if isinstance(value, str):
        value = json.loads(value)
    return [str(item) for item in value or []]
