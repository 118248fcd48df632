"""What the command-line tools share (`python -m review`, `python -m review.preview`, and an application's own, such
as a demo on the local cloud): how they refuse an argument and how they report the program's own error.

An argument that names something missing (a stack, a file, a setting) is refused in one line on stderr with
argparse's usage exit code, before any work starts: a synthesis takes seconds and a local deployment more, and a
typo should not cost either, nor print a traceback. A stack whose configuration the program rejects is reported
with the program's message and exit code 1, as the Pulumi CLI would report it.
"""

import sys
from collections.abc import Callable

from synth.program import SynthesisError, stack_names

__all__ = ["PROGRAM_ERROR", "USAGE_ERROR", "UsageError", "check_stack", "run_tool"]

USAGE_ERROR = 2
"""argparse's exit code for a command line it refuses: the command has to change."""
PROGRAM_ERROR = 1
"""The stack's program failed (its configuration, usually): the stack has to change."""


class UsageError(Exception):
    """An argument names something that does not exist or cannot be used; the message says which, in one line."""


def check_stack(stack: str) -> str:
    """`stack` when a `Pulumi.<stack>.yaml` exists; else a UsageError listing the stacks that do, so that the
    message alone is enough to correct the command."""
    stacks = stack_names()
    if stack not in stacks:
        raise UsageError(f"no Pulumi.{stack}.yaml; stacks are: {', '.join(stacks)}")
    return stack


def run_tool(body: Callable[[], int]) -> int:
    """Run a tool's work and return its exit code; its expected failures become one message on stderr and the
    matching exit code instead of a traceback (anything else is a bug and keeps its traceback)."""
    try:
        return body()
    except UsageError as error:
        return _report(error, USAGE_ERROR)
    except SynthesisError as error:
        return _report(error, PROGRAM_ERROR)


def _report(error: Exception, code: int) -> int:
    print(f"error: {error}", file=sys.stderr)
    return code
