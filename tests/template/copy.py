"""A copy of the repository as a fork would start from it: every file git tracks or would track, no venv, no build
output. The copy runs with this checkout's virtualenv (the same pinned dependencies) and shares its package caches
(`SHARED_CACHES`)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from synth.program import PROJECT_DIR

NESTED = ["-o", "addopts=", "-p", "no:cacheprovider", "-q", "--strict-markers"]
"""How a test here runs pytest inside the copy: one process (the suite's workers already use every core), ids listed
one per line."""


SHARED_CACHES = (".build/lambda", ".build/test-packaging")
"""Where `components.packaging` keeps Lambda zips and installed dependency trees, each under a digest of every input
(sources, lock file, Python version, platform tags): the copy's builds of unchanged code are the checkout's files,
byte for byte, and anything it changes gets a key of its own. A cold build costs seconds of pip and bytecode
compilation per zip, which a fork's first run pays once and this suite would pay again in every copy."""


def copy_repository(target: Path) -> Path:
    """The files, and links to this checkout's virtualenv (so `make` in the copy finds it installed) and package
    caches."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_DIR,
                            check=True, capture_output=True).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = PROJECT_DIR / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / "venv").symlink_to(PROJECT_DIR / "venv")
    for cache in SHARED_CACHES:
        (PROJECT_DIR / cache).mkdir(parents=True, exist_ok=True)
        (target / cache).parent.mkdir(parents=True, exist_ok=True)
        (target / cache).symlink_to(PROJECT_DIR / cache)
    return target


def run(copy: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """`python <args>` in the copy, with this checkout's interpreter; output captured for the assertion message."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    environment.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, *args], cwd=copy, env=environment, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def shell(copy: Path, script: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """A README block, run by bash in the copy as a person would paste it (stopping at the first failure)."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=copy, env=environment, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
