"""Where the handlers' code is: one Lambda package for every function (built and cached once), and the worker's
container image for the Fargate task."""

from pathlib import Path

from components.fargate import ContainerImage
from components.packaging import CodeSource

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
LAMBDA_CODE = CodeSource(
    HANDLERS_DIR, packages=("catalog", "imaging", "pipeline"), requirements=HANDLERS_DIR / "requirements.txt"
)
"""The worker/ package is left out: it is the Fargate task's entrypoint, shipped in its container image."""
WORKER_IMAGE = ContainerImage(
    context=str(HANDLERS_DIR),
    dockerfile=str(HANDLERS_DIR / "worker" / "Dockerfile"),
    include=["imaging", "pipeline", "worker", "requirements.txt"],
)
"""What the Dockerfile copies; their content is the image's tag."""
