"""Import one module the way a Lambda cold start does and print how long it took, as JSON on stdout.

Run by bench/init_budget.py, once per measurement, in a fresh interpreter of the runtime's Python version:

    python -I bench/cold_import.py '{"module": "pipeline.render", "attribute": "handler",
                                     "paths": ["<the unzipped package>", "<the runtime's SDK>"],
                                     "source_only": ["pipeline", "imaging", ...]}'

`paths` go first on sys.path, as the runtime puts /var/task and its own SDK there. The modules under the top-level
names in `source_only` compile from source whatever bytecode sits beside them, as in a zip without .pyc: /var/task
is read-only, so a cold start compiles every such module it imports, and writes nothing. Everything else (the
standard library, the runtime's boto3) imports from its bytecode. Only `json` is imported before the clock starts:
the Lambda runtime's bootstrap has it loaded too. The timed import includes `attribute`'s lookup, so a handler
module without its handler fails here as it would at INIT.
"""

import json
import sys
import time
from importlib import import_module
from importlib.machinery import EXTENSION_SUFFIXES, SOURCE_SUFFIXES, ExtensionFileLoader, FileFinder, SourceFileLoader


class SourceOnlyLoader(SourceFileLoader):
    """Compiles the listed packages from source: without the source's stats, importlib neither reads nor writes
    their .pyc (see `SourceLoader.get_code`)."""

    source_only: frozenset[str] = frozenset()

    def path_stats(self, path: str) -> dict[str, float]:
        if self.name.partition(".")[0] in self.source_only:
            raise OSError("this package is measured without bytecode")
        return super().path_stats(path)


def main(request: dict) -> None:
    """Import `request["module"]` as described above; print its wall and CPU milliseconds and the Python version."""
    SourceOnlyLoader.source_only = frozenset(request["source_only"])
    sys.path[:0] = request["paths"]
    sys.path_hooks.insert(0, FileFinder.path_hook((ExtensionFileLoader, EXTENSION_SUFFIXES),
                                                  (SourceOnlyLoader, SOURCE_SUFFIXES)))  # fmt: skip
    sys.path_importer_cache.clear()
    started, cpu_started = time.perf_counter(), time.process_time()
    module = import_module(request["module"])
    if request.get("attribute"):
        getattr(module, request["attribute"])
    cpu_ms, ms = (time.process_time() - cpu_started) * 1000, (time.perf_counter() - started) * 1000
    print(json.dumps({"ms": ms, "cpu_ms": cpu_ms, "python": sys.version.split()[0]}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
