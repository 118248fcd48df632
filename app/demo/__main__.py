"""`python -m app.demo [--stack dev] [--set lambda.memoryMb=256] [--keep-catalog] [paths...]`: the demo (run.py).

The local cloud never reads the user's AWS configuration: moto's mock supplies fake credentials. moto itself
reads the configuration when it is imported, so a profile named in the environment is dropped first.
"""

import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    from app.demo.run import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
