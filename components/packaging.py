"""Deterministic AWS Lambda deployment zips, built for the function's architecture and Python version.

Pulumi compares `source_code_hash`, so a zip whose bytes drift between builds (timestamps, file order, a script
shebang holding the build machine's venv path) makes every `pulumi preview` show every function as changed. Here the
same inputs give the same bytes: sorted entries, one fixed timestamp, fixed permissions and compression, and nothing
taken from the machine that built it. Dependencies are manylinux wheels for the target platform, so a build on an
x86_64 laptop still gets aarch64 extension modules for an arm64 function.

Two caches under `build_dir` make repeat builds cheap: the installed dependency tree, keyed by the lock file, the
Python version and the platform tags, and the finished zip, keyed by a hash of every input. Byte-identical output
across machines assumes the same zlib: a Python built against zlib-ng compresses differently.
"""

import base64
import functools
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NotRequired, TypedDict

import pulumi

__all__ = [
    "LAMBDA_UNZIPPED_LIMIT_BYTES",
    "LAMBDA_ZIPPED_LIMIT_BYTES",
    "CodeSource",
    "FunctionCode",
    "Package",
    "PackagingError",
    "build_package",
    "elf_machines",
]

LAMBDA_ZIPPED_LIMIT_BYTES = 50 * 1024 * 1024
"""Largest zip Lambda accepts as a direct upload, which is how a Pulumi `FileArchive` is sent."""
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
"""Largest unzipped size of a function's code (layers included, so a function with layers has less)."""

_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
"""Lambda architecture name -> the machine name in wheel tags and ELF headers."""
_GLIBC_TAGS_AL2023 = ("manylinux_2_34", "manylinux_2_28", "manylinux_2_17", "manylinux2014")
"""python3.12 and later run on Amazon Linux 2023 (glibc 2.34). pip does not expand `manylinux_2_34` to older
glibc tags, so each accepted tag is named."""
_GLIBC_TAGS_AL2 = ("manylinux_2_17", "manylinux2014")
"""python3.11 and earlier run on Amazon Linux 2 (glibc 2.26), where a manylinux_2_28 wheel fails to import."""
_ELF_MACHINES = {183: "aarch64", 62: "x86_64"}

_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
"""The earliest time a zip entry can hold; any constant would do."""
_COMPRESS_LEVEL = 6
"""Fixed, because the level changes the bytes; zlib's default balances size against build time."""
_CACHE_FORMAT = b"lambda-zip-v2"
"""Part of every cache key: change it when the zip layout or the exclusions change, to invalidate old builds."""

_EXCLUDED_DIRS = frozenset({"__pycache__"})
_EXCLUDED_NAMES = frozenset({".DS_Store"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_EXCLUDED_DEPENDENCY_DIRS = frozenset({"bin"})
"""`pip --target` puts console scripts in `bin/`: unusable in Lambda, and their shebang names the build interpreter."""
_DEPENDENCY_RECORD = re.compile(r"[^/]+\.dist-info/RECORD")
"""pip's RECORD hashes those scripts too, so it differs per machine; nothing at runtime reads it."""
_PINNED = re.compile(r"[A-Za-z0-9][\w.-]*(\[[\w.,\s-]*\])?\s*===?\s*[\w.+!-]+|[A-Za-z0-9][\w.-]*\s*@\s*\S+")
_INCLUDE_OPTION = re.compile(r"(-[rce]\b|--(requirement|constraint|editable)\b)")


class PackagingError(pulumi.RunError):
    """A Lambda package that cannot be built or deployed; the message says what failed and what to change.
    A `RunError`, so the Pulumi CLI prints the message without a traceback."""


class FunctionCode(TypedDict):
    """The code of a Function as plain data (`CodeSource.args` in Python): the zip is built from it during the
    deployment, with its dependencies for the function's architecture."""

    root: str
    """Directory whose listed entries are placed at the zip root, so `handler = "pkg.module.handler"` imports. A
    relative path is relative to the program's working directory."""
    packages: list[str]
    """Entries directly under `root` to include: package directories or single `.py` modules (at least one)."""
    requirements: NotRequired[str | None]
    """Fully pinned lock file (every line `name==version`), installed with `pip --no-deps`; a relative path is
    relative to the program's working directory. Leave out boto3/botocore: the Lambda Python runtime provides them.
    Default: none, no dependencies."""


@dataclass(frozen=True)
class CodeSource:
    """The code of one Lambda function: what goes at the zip root, and the lock file of its dependencies."""

    root: Path
    """Directory whose listed entries are placed at the zip root, so `handler = "pkg.module.handler"` imports."""
    packages: tuple[str, ...]
    """Top-level entries under `root` to include: package directories or single `.py` modules."""
    requirements: Path | None = None
    """Fully pinned lock file, installed with `pip --no-deps`; None (or only comments) means no dependencies.
    Leave out boto3/botocore: the Lambda Python runtime provides them."""

    @property
    def args(self) -> FunctionCode:
        """This source as plain data, for `FunctionArgs.code`."""
        code: FunctionCode = {"root": str(self.root), "packages": list(self.packages)}
        if self.requirements is not None:
            code["requirements"] = str(self.requirements)
        return code

    @classmethod
    def from_args(cls, code: FunctionCode) -> "CodeSource":
        """The source `code` describes; its paths stay as given (relative ones resolve against the working
        directory, as every file operation here does)."""
        requirements = code.get("requirements")
        return cls(
            root=Path(code["root"]),
            packages=tuple(code["packages"]),
            requirements=Path(requirements) if requirements else None,
        )


@dataclass(frozen=True)
class Package:
    """A built zip and the numbers a deployment needs about it."""

    path: Path
    """The zip on disk, inside `build_dir`."""
    sha256_base64: str
    """Base64 of the SHA-256 of the zip bytes: the format of `aws.lambda_.Function.source_code_hash`."""
    zipped_bytes: int
    unzipped_bytes: int


def build_package(source: CodeSource, *, python_version: str, architecture: str, build_dir: Path) -> Package:
    """Build (or reuse) the deployment zip of `source` for a Lambda runtime `python<python_version>` on `architecture`.

    `python_version` is "3.13" style; `architecture` is "arm64" or "x86_64". Raises PackagingError for missing code,
    a lock file that is not fully pinned, pip failures, a module that shadows a dependency, or a zip over a limit.
    """
    tags = _platform_tags(architecture, python_version)
    sources = _source_entries(source)
    requirements = _read_requirements(source.requirements)
    compiler = bytecode_compiler(python_version)
    key = _digest([_CACHE_FORMAT, python_version.encode(), architecture.encode(), requirements or b"",
                   b"bytecode" if compiler else b"source"], _source_key_parts(sources))  # fmt: skip
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / f"{source.root.resolve().name or 'lambda'}-{key[:20]}.zip"
    if path.is_file():
        return _checked(_inspect(path), source)

    dependencies: list[tuple[str, Path]] = []
    if requirements is not None and source.requirements is not None:
        deps_dir = _install_dependencies(source.requirements, requirements, python_version, tags, build_dir)
        dependencies = _dependency_entries(deps_dir)
    _check_shadowing(source.packages, dependencies, source.requirements)

    descriptor, staging_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".zip", dir=build_dir)
    os.close(descriptor)
    staging = Path(staging_name)
    entries = sources + dependencies
    try:
        with tempfile.TemporaryDirectory(dir=build_dir) as bytecode_dir:
            if compiler:
                entries += _bytecode(entries, Path(bytecode_dir), compiler)
            _write_zip(staging, sorted(entries))
        package = _checked(_inspect(staging), source)
        os.replace(staging, path)  # atomic: an interrupted build never leaves a zip that a later build would reuse
    finally:
        staging.unlink(missing_ok=True)
    return replace(package, path=path)


def elf_machines(package: Package) -> dict[str, str]:
    """Map every shared object (`*.so`, `*.so.*`) in the zip to its ELF machine: "aarch64", "x86_64", "other:<n>",
    or "not-elf". Proves the wheels match the function's architecture, which pip's tags alone do not show."""
    machines = {}
    with zipfile.ZipFile(package.path) as archive:
        for name in archive.namelist():
            basename = name.rsplit("/", 1)[-1]
            if not (basename.endswith(".so") or ".so." in basename):
                continue
            with archive.open(name) as member:
                header = member.read(20)
            if header[:4] != b"\x7fELF":
                machines[name] = "not-elf"
                continue
            number = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")  # EI_DATA: 1 = little
            machines[name] = _ELF_MACHINES.get(number, f"other:{number}")
    return machines


def _platform_tags(architecture: str, python_version: str) -> tuple[str, ...]:
    machine = _MACHINES.get(architecture)
    if machine is None:
        raise PackagingError(f"architecture {architecture!r} is not supported; use one of: {', '.join(_MACHINES)}")
    if not re.fullmatch(r"3\.\d{1,2}", python_version):
        raise PackagingError(
            f"python_version {python_version!r} is not allowed; give MAJOR.MINOR such as '3.13' "
            "(the Lambda runtime name without 'python')"
        )
    glibc = _GLIBC_TAGS_AL2023 if int(python_version.split(".")[1]) >= 12 else _GLIBC_TAGS_AL2
    return tuple(f"{tag}_{machine}" for tag in glibc)


def _source_entries(source: CodeSource) -> list[tuple[str, Path]]:
    """(zip path, file) of every included source file, with the exclusions applied."""
    if not source.root.is_dir():
        raise PackagingError(
            f"code root {source.root} is not a directory; point CodeSource.root at the handlers folder"
        )
    if not source.packages:
        raise PackagingError(f"CodeSource.packages is empty for {source.root}; name the handler packages to include")
    entries: dict[str, Path] = {}
    for name in source.packages:
        if name in ("", ".", "..") or "/" in name or "\\" in name:
            raise PackagingError(f"package entry {name!r} must be one name directly under {source.root}")
        if not (source.root / name).exists():
            raise PackagingError(f"package entry {name!r} not found: {source.root / name} does not exist")
        entries.update(_tree(source.root, name))
    return sorted(entries.items())


def _tree(base: Path, entry: str) -> Iterator[tuple[str, Path]]:
    path = base / entry
    if path.is_file():
        if not _excluded(entry):
            yield entry, path
        return
    for directory, dirnames, filenames in os.walk(path):
        dirnames[:] = [name for name in dirnames if name not in _EXCLUDED_DIRS]
        relative = Path(directory).relative_to(base).as_posix()
        yield from ((f"{relative}/{name}", Path(directory, name)) for name in filenames if not _excluded(name))


def _excluded(filename: str) -> bool:
    return filename in _EXCLUDED_NAMES or filename.endswith(_EXCLUDED_SUFFIXES)


def _source_key_parts(sources: list[tuple[str, Path]]) -> Iterator[bytes]:
    for arcname, path in sources:
        yield arcname.encode()
        yield b"x" if _executable(path) else b"-"
        yield path.read_bytes()


def _digest(*groups: Iterable[bytes]) -> str:
    """SHA-256 over length-prefixed parts, so that no two different part lists hash the same stream."""
    digest = hashlib.sha256()
    for group in groups:
        for part in group:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def _read_requirements(requirements: Path | None) -> bytes | None:
    """The lock file's bytes, or None when it installs nothing. Rejects what would make a cache key lie."""
    if requirements is None:
        return None
    if not requirements.is_file():
        raise PackagingError(f"requirements file {requirements} does not exist; fix CodeSource.requirements")
    data = requirements.read_bytes()
    pinned = 0
    for line in data.decode().replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if _INCLUDE_OPTION.match(line):
            raise PackagingError(
                f"{requirements}: {line!r} is not allowed; the cache key covers only this file, so list every "
                "package in it pinned as name==version"
            )
        if not line or line.startswith("-"):  # blank, or a pip option such as --index-url
            continue
        if not _PINNED.fullmatch(line.split(";")[0].split(" --")[0].strip()):
            raise PackagingError(
                f"{requirements}: {line!r} is not pinned; it is installed with --no-deps as a lock, so pin it as "
                "name==version"
            )
        pinned += 1
    return data if pinned else None


def _install_dependencies(
    requirements: Path, data: bytes, python_version: str, tags: tuple[str, ...], build_dir: Path
) -> Path:
    """Install the lock into a cached tree under `build_dir/deps`, calling pip only when the tree is not there yet."""
    target = build_dir / "deps" / _digest([_CACHE_FORMAT, data, python_version.encode(), *map(str.encode, tags)])[:20]
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _pip_install(requirements, python_version, tags, staging)
        try:
            staging.rename(target)  # atomic, so a half-installed tree is never cached
        except OSError:
            if not target.is_dir():  # otherwise a concurrent build finished first, with the same tree
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _pip_install(requirements: Path, python_version: str, tags: tuple[str, ...], target: Path) -> None:
    platforms = [argument for tag in tags for argument in ("--platform", tag)]
    command = [sys.executable, "-m", "pip", "install", "--target", str(target), "--no-deps", "--only-binary=:all:",
               "--implementation", "cp", "--python-version", python_version, *platforms, "--no-compile",
               "--disable-pip-version-check", "--quiet", "-r", str(requirements)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise PackagingError(
            f"pip could not install {requirements} for CPython {python_version} on {', '.join(tags)} "
            f"(exit {result.returncode}):\n{tail}\n"
            "Each pinned version needs a wheel for one of these platforms (or a pure-Python wheel); "
            "pin a version that has one, or drop the requirement."
        )


def _dependency_entries(deps_dir: Path) -> list[tuple[str, Path]]:
    entries = []
    for name in sorted(os.listdir(deps_dir)):
        if name not in _EXCLUDED_DEPENDENCY_DIRS:
            entries.extend(entry for entry in _tree(deps_dir, name) if not _DEPENDENCY_RECORD.fullmatch(entry[0]))
    return entries


def _check_shadowing(
    packages: tuple[str, ...], dependencies: list[tuple[str, Path]], requirements: Path | None
) -> None:
    """A handler module with a dependency's import name would silently replace (or merge with) that dependency."""

    def import_name(entry: str) -> str:
        return entry.partition(".")[0]

    provided = {import_name(arcname.split("/", 1)[0]) for arcname, _ in dependencies}
    clashes = sorted(name for name in packages if import_name(name) in provided)
    if clashes:
        raise PackagingError(
            f"source entries {', '.join(clashes)} shadow dependencies installed from {requirements}; "
            "rename the handler module or drop the requirement"
        )


BYTECODE_PYTHON_ENV = "LAMBDA_BYTECODE_PYTHON"
"""Path of an interpreter of the runtime's version, when it is not this one and not `python3.13` (say) on PATH."""


def bytecode_compiler(python_version: str) -> str | None:
    """An interpreter of the runtime's version to compile bytecode with: this one, $LAMBDA_BYTECODE_PYTHON, or
    `python3.13` (say) on PATH, each checked by running it. Bytecode is only valid for the version that compiled
    it; without such an interpreter the zip ships source only."""
    if python_version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    for candidate in (os.environ.get(BYTECODE_PYTHON_ENV), shutil.which(f"python{python_version}")):
        if candidate and _is_python(candidate, python_version):
            return candidate
    return None


@functools.cache
def _is_python(executable: str, version: str) -> bool:
    """A pyenv shim exists on PATH even when its version is not selected, and then fails: ask, don't assume."""
    probe = subprocess.run(
        [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
    )  # fmt: skip
    return probe.returncode == 0 and probe.stdout.strip() == version


_COMPILE_SCRIPT = """
import json, py_compile, sys
done = []
for source, target, shown in json.load(sys.stdin):
    try:
        py_compile.compile(source, cfile=target, dfile=shown, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        continue
    done.append(target)
json.dump({"tag": sys.implementation.cache_tag, "done": done}, sys.stdout)
"""


def _bytecode(entries: list[tuple[str, Path]], directory: Path, compiler: str) -> list[tuple[str, Path]]:
    """`__pycache__/*.pyc` for every module, so that a cold start imports instead of compiling.

    /var/task is read-only, so without these every cold start compiles every imported module from source. They are
    unchecked-hash pycs: the zip's fixed timestamps do not matter to them, and the same source gives the same bytes.
    Modules that do not compile (a dependency's Python 2 leftovers) stay source only, as Python would leave them.
    """
    tag = subprocess.run(
        [compiler, "-c", "import sys; print(sys.implementation.cache_tag)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    jobs = {}
    for arcname, file in entries:
        if arcname.endswith(".py"):
            folder, _, filename = arcname.rpartition("/")
            pyc = f"{folder}/__pycache__/{filename[:-3]}.{tag}.pyc".lstrip("/")
            (directory / pyc).parent.mkdir(parents=True, exist_ok=True)
            jobs[pyc] = (str(file), str(directory / pyc), f"/var/task/{arcname}")
    result = subprocess.run(
        [compiler, "-I", "-c", _COMPILE_SCRIPT], input=json.dumps(list(jobs.values())), capture_output=True, text=True
    )  # fmt: skip
    if result.returncode != 0:
        raise PackagingError(f"{compiler} could not compile the package's bytecode:\n{result.stderr[-2000:]}")
    done = set(json.loads(result.stdout)["done"])
    return [(pyc, Path(target)) for pyc, (_, target, _) in jobs.items() if target in done]


def _write_zip(path: Path, entries: list[tuple[str, Path]]) -> None:
    """Write `entries` in the given order with nothing from the file system except content and the executable bit."""
    with zipfile.ZipFile(path, "w") as archive:
        for arcname, file in entries:
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE_TIME)
            info.create_system = 3  # Unix, on every build host, so that external_attr carries the mode below
            info.external_attr = (stat.S_IFREG | (0o755 if _executable(file) else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes(), compresslevel=_COMPRESS_LEVEL)


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o111)


def _inspect(path: Path) -> Package:
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return Package(path=path, sha256_base64=sha256, zipped_bytes=len(data), unzipped_bytes=unzipped)


def _checked(package: Package, source: CodeSource) -> Package:
    """Fail at build time rather than at `pulumi up`, where Lambda rejects the upload after the rest has deployed."""
    for measured, limit, kind in (
        (package.zipped_bytes, LAMBDA_ZIPPED_LIMIT_BYTES, "zipped"),
        (package.unzipped_bytes, LAMBDA_UNZIPPED_LIMIT_BYTES, "unzipped"),
    ):
        if measured > limit:
            raise PackagingError(
                f"the Lambda package of {source.root} is {measured:,} bytes ({measured / 2**20:.1f} MiB) {kind}, "
                f"over the {limit:,}-byte ({limit / 2**20:.1f} MiB) limit; move large dependencies to a Lambda layer "
                f"or container image, or drop unused ones from {source.requirements}"
            )
    return package
