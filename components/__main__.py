"""The component package's entry point: the Pulumi CLI runs `python <repository>/components <engine> ...` with the
consumer's directory as the working directory.

Python puts this directory first on sys.path, where `components/profile.py` would shadow the standard library's
`profile` and `import components.x` would fail: the repository root takes its place.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from pulumi.provider import main  # noqa: E402

from components.base import PACKAGE  # noqa: E402
from components.package import COMPONENTS, VERSION, PlatformComponentProvider  # noqa: E402

if __name__ == "__main__":
    main(PlatformComponentProvider(COMPONENTS, PACKAGE, None, VERSION), sys.argv[1:])
