"""botocore's parsed service models, shared by every session in the process while a local cloud runs.

A boto3 session parses the JSON model of each service it makes a client for (EC2's alone is megabytes), and the local
cloud makes many sessions: one per Lambda sandbox and container run, each workflow task's role, the deployment's and
moto's own. On AWS each of those is a process of its own that parses once; here they share one interpreter, and the
parsing was about a sixth of an end-to-end test's CPU. The models are read-only data from the same files for every
loader with the same search paths, so sharing one cache per search path changes nothing a client sees. The test
suite shares them for its whole run (tests/conftest.py): moto's mock gives each test new sessions too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from botocore import loaders

_CACHES: dict[tuple[Any, ...], dict[Any, Any]] = {}
"""One `Loader._cache` (botocore's `instance_cache`: a method's name and arguments to its result) per kind of loader."""


@contextmanager
def shared() -> Iterator[None]:
    """Every `botocore.loaders.Loader` created inside takes the process-wide cache of its kind."""
    original = loaders.Loader.__init__

    def sharing(self: loaders.Loader, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        kind = (type(self.file_loader), tuple(self.search_paths), tuple(self.extras_types))
        self._cache = _CACHES.setdefault(kind, {})

    with mock.patch.object(loaders.Loader, "__init__", sharing):
        yield
