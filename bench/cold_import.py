"""Import a module the way a Lambda cold start does: the deployment package's code from source, the rest from .pyc.

The zip holds no .pyc (components/packaging.py leaves them out, and /var/task is read-only, so none is written), so
every cold start compiles each module of the package that it imports. The runtime's own modules (the standard
library, boto3) come with bytecode. Run as `python -X importtime bench/cold_import.py MODULE TOP_LEVEL_NAME...`,
where the names are the zip's top-level entries: their modules compile from source, everything else is as usual.
"""

import sys
from importlib.machinery import EXTENSION_SUFFIXES, SOURCE_SUFFIXES, ExtensionFileLoader, FileFinder, SourceFileLoader

IN_PACKAGE: frozenset[str] = frozenset(sys.argv[2:])


class PackageSourceLoader(SourceFileLoader):
    """Compiles the package's modules from source: without the source's stats, importlib neither reads nor writes
    a .pyc (see `SourceLoader.get_code`)."""

    def path_stats(self, path: str) -> dict[str, float]:
        if self.name.partition(".")[0] in IN_PACKAGE:
            raise OSError("a Lambda package holds no bytecode")
        return super().path_stats(path)


if __name__ == "__main__":
    sys.path_hooks.insert(0, FileFinder.path_hook((ExtensionFileLoader, EXTENSION_SUFFIXES),
                                                  (PackageSourceLoader, SOURCE_SUFFIXES)))  # fmt: skip
    sys.path_importer_cache.clear()
    __import__(sys.argv[1])
