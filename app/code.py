"""Where the Lambda handlers' code is: one package for every function, so it is built (and cached) once."""

from pathlib import Path

from components.packaging import CodeSource

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
LAMBDA_CODE = CodeSource(HANDLERS_DIR, packages=("imaging", "pipeline"), requirements=HANDLERS_DIR / "requirements.txt")
"""The worker/ package is left out: it is the Fargate task's entrypoint, shipped in its container image."""
