"""Lambda zips: deterministic, cached, checked. Source-only cases run on tmp_path trees with pip faked; the
`real_package` tests install a pinned dependency that ships compiled code from PyPI for both architectures (cached
in .build/). The application's own package is checked with its tests (tests/program/ in this repository)."""

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from components import packaging
from components.packaging import CodeSource, Package, PackagingError, build_package, elf_machines

REPO = Path(__file__).resolve().parents[2]
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _build(source: CodeSource, build_dir: Path, architecture: str = "arm64", python_version: str = "3.13") -> Package:
    return build_package(source, python_version=python_version, architecture=architecture, build_dir=build_dir)


def _names(package: Package) -> list[str]:
    with zipfile.ZipFile(package.path) as archive:
        return archive.namelist()


@pytest.fixture
def source(tmp_path: Path) -> CodeSource:
    root = tmp_path / "src"
    _write(root, {
        "app/__init__.py": "",
        "app/handler.py": "def handler(event, context):\n    return event\n",
        "app/data/config.json": "{}\n",
        "app/tool.sh": "#!/bin/sh\necho hi\n",
        "app/__pycache__/handler.cpython-313.pyc": "junk",
        "app/stale.pyc": "junk",
        "app/.DS_Store": "junk",
        "helpers.py": "VALUE = 1\n",
        "not_listed.py": "",
    })  # fmt: skip
    (root / "app/tool.sh").chmod(0o775)
    return CodeSource(root=root, packages=("app", "helpers.py"))


REAL_RUN = subprocess.run


class FakePip:
    """Stands in for `subprocess.run` of pip: records each command and installs `files` into its --target."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.files = {
            "dep/__init__.py": "",
            "dep-1.0.dist-info/METADATA": "Name: dep\n",
            "dep-1.0.dist-info/RECORD": "../../bin/dep-cli,sha256=machine-specific,42\n",
            "bin/dep-cli": "#!/home/someone/venv/bin/python\n",
        }
        self.returncode = 0
        self.stderr = ""

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        if "pip" not in command:  # the packager also runs interpreters to compile bytecode: let those through
            return REAL_RUN(command, **kwargs)
        self.calls.append(command)
        if self.returncode == 0:
            _write(Path(command[command.index("--target") + 1]), self.files)
        return subprocess.CompletedProcess(command, self.returncode, stdout="", stderr=self.stderr)


@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> FakePip:
    fake = FakePip()
    monkeypatch.setattr(packaging.subprocess, "run", fake)
    return fake


@pytest.fixture
def with_requirements(source: CodeSource) -> CodeSource:
    lock = source.root.parent / "requirements.txt"
    lock.write_text("# the lock\ndep==1.0  # pinned\n")
    return CodeSource(root=source.root, packages=source.packages, requirements=lock)


def test_same_inputs_give_identical_bytes_in_any_build_dir(source: CodeSource, tmp_path: Path) -> None:
    first = _build(source, tmp_path / "build-a")
    for path in source.root.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    second = _build(source, tmp_path / "build-b")

    assert first.path != second.path
    assert first.path.name == second.path.name
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256_base64 == second.sha256_base64


def test_zip_layout_is_fixed_and_excludes_junk(source: CodeSource, tmp_path: Path) -> None:
    package = _build(source, tmp_path / "build")

    with zipfile.ZipFile(package.path) as archive:
        infos = archive.infolist()
        data = package.path.read_bytes()
    names = [info.filename for info in infos]
    assert names == ["app/__init__.py", "app/data/config.json", "app/handler.py", "app/tool.sh", "helpers.py"]
    assert {info.date_time for info in infos} == {ZIP_EPOCH}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}
    modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in infos}
    assert modes == {name: 0o755 if name == "app/tool.sh" else 0o644 for name in names}
    assert package.sha256_base64 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert package.zipped_bytes == len(data)
    assert package.unzipped_bytes == sum(info.file_size for info in infos)


def test_cache_hit_returns_the_same_zip_without_rebuilding(
    source: CodeSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _build(source, tmp_path / "build")

    def no_rebuild(*args: object) -> None:
        raise AssertionError("the zip was rebuilt although every input is unchanged")

    monkeypatch.setattr(packaging, "_write_zip", no_rebuild)
    assert _build(source, tmp_path / "build") == first


@pytest.mark.parametrize("change", ["content", "new file", "executable bit"])
def test_changed_source_changes_hash(source: CodeSource, tmp_path: Path, change: str) -> None:
    before = _build(source, tmp_path / "build")
    if change == "content":
        (source.root / "helpers.py").write_text("VALUE = 2\n")
    elif change == "new file":
        (source.root / "app/extra.py").write_text("")
    else:
        (source.root / "helpers.py").chmod(0o755)
    after = _build(source, tmp_path / "build")

    assert after.sha256_base64 != before.sha256_base64
    assert after.path != before.path


def test_rejects_unknown_architecture(source: CodeSource, tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match=r"'amd64'.*arm64, x86_64"):
        _build(source, tmp_path / "build", architecture="amd64")


def test_rejects_runtime_name_as_python_version(source: CodeSource, tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match=r"'python3\.13'.*'3\.13'"):
        _build(source, tmp_path / "build", python_version="python3.13")


def test_missing_root_and_package_entry_are_named(source: CodeSource, tmp_path: Path) -> None:
    missing_root = CodeSource(root=tmp_path / "nowhere", packages=("app",))
    with pytest.raises(PackagingError, match="nowhere"):
        _build(missing_root, tmp_path / "build")
    missing_entry = CodeSource(root=source.root, packages=("app", "gone"))
    with pytest.raises(PackagingError, match=r"'gone' not found: .*src/gone"):
        _build(missing_entry, tmp_path / "build")


@pytest.mark.parametrize("limit", ["LAMBDA_ZIPPED_LIMIT_BYTES", "LAMBDA_UNZIPPED_LIMIT_BYTES"])
def test_oversized_package_fails_and_is_not_cached(
    source: CodeSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    monkeypatch.setattr(packaging, limit, 10)
    with pytest.raises(PackagingError, match=r"over the 10-byte .* limit; move large dependencies to a Lambda layer"):
        _build(source, tmp_path / "build")
    assert list((tmp_path / "build").iterdir()) == []

    monkeypatch.undo()
    _build(source, tmp_path / "build")
    monkeypatch.setattr(packaging, limit, 10)
    with pytest.raises(PackagingError, match="over the 10-byte"):  # a cached zip is checked again
        _build(source, tmp_path / "build")


def test_dependencies_install_from_the_lock_for_the_platform(
    with_requirements: CodeSource, tmp_path: Path, fake_pip: FakePip
) -> None:
    package = _build(with_requirements, tmp_path / "build")

    [command] = fake_pip.calls
    assert command[:3] == [sys.executable, "-m", "pip"]
    for flag in ["--no-deps", "--only-binary=:all:", "--no-compile"]:
        assert flag in command
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[-2:] == ["-r", str(with_requirements.requirements)]
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == ["manylinux_2_34_aarch64", "manylinux_2_28_aarch64", "manylinux_2_17_aarch64",
                         "manylinux2014_aarch64"]  # fmt: skip
    names = _names(package)
    assert names == sorted(names), "source and dependency entries must be merged in one sorted order"
    assert "dep/__init__.py" in names
    assert "dep-1.0.dist-info/METADATA" in names
    assert "app/handler.py" in names
    assert not [name for name in names if name.startswith("bin/") or name.endswith("/RECORD")], names


def test_python_before_3_12_gets_only_amazon_linux_2_tags(
    with_requirements: CodeSource, tmp_path: Path, fake_pip: FakePip
) -> None:
    _build(with_requirements, tmp_path / "build", architecture="x86_64", python_version="3.11")
    [command] = fake_pip.calls
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def test_dependency_tree_is_cached_per_platform(
    with_requirements: CodeSource, tmp_path: Path, fake_pip: FakePip
) -> None:
    _build(with_requirements, tmp_path / "build")
    (with_requirements.root / "helpers.py").write_text("VALUE = 3\n")
    _build(with_requirements, tmp_path / "build")
    assert len(fake_pip.calls) == 1, "pip ran again although the lock, Python version and tags are unchanged"

    _build(with_requirements, tmp_path / "build", architecture="x86_64")
    assert len(fake_pip.calls) == 2
    assert [path.name for path in (tmp_path / "build/deps").iterdir() if path.name.startswith(".")] == []


def test_comment_only_lock_does_not_run_pip(source: CodeSource, tmp_path: Path, fake_pip: FakePip) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("# nothing yet\n\n")
    _build(CodeSource(root=source.root, packages=source.packages, requirements=lock), tmp_path / "build")
    assert fake_pip.calls == []


@pytest.mark.parametrize("line", ["pydantic>=2", "pydantic", "-r other.txt", "pydantic==2.*"])
def test_lock_must_be_fully_pinned(source: CodeSource, tmp_path: Path, fake_pip: FakePip, line: str) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"dep==1.0\n{line}\n")
    with pytest.raises(PackagingError, match="name==version"):
        _build(CodeSource(root=source.root, packages=source.packages, requirements=lock), tmp_path / "build")
    assert fake_pip.calls == []


def test_pip_failure_reports_stderr_and_caches_nothing(
    with_requirements: CodeSource, tmp_path: Path, fake_pip: FakePip
) -> None:
    fake_pip.returncode = 1
    fake_pip.stderr = "ERROR: No matching distribution found for dep==1.0\n"
    with pytest.raises(PackagingError, match=r"(?s)exit 1.*No matching distribution found for dep==1\.0"):
        _build(with_requirements, tmp_path / "build")
    assert list((tmp_path / "build/deps").iterdir()) == []
    assert not list((tmp_path / "build").glob("*.zip"))


@pytest.mark.parametrize("dependency_file", ["helpers.py", "app/__init__.py", "helpers/__init__.py"])
def test_source_shadowing_a_dependency_is_rejected(
    with_requirements: CodeSource, tmp_path: Path, fake_pip: FakePip, dependency_file: str
) -> None:
    fake_pip.files[dependency_file] = ""
    with pytest.raises(PackagingError, match="shadow dependencies"):
        _build(with_requirements, tmp_path / "build")


def test_elf_machines_reads_the_header(tmp_path: Path) -> None:
    def elf(machine: int) -> bytes:
        return b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little") + bytes(40)

    path = tmp_path / "libs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a/_ext.cpython-313-aarch64-linux-gnu.so", elf(183))
        archive.writestr("b.libs/libz.so.1.3", elf(62))
        archive.writestr("c/odd.so", elf(40))
        archive.writestr("d/fake.so", b"not an elf file at all")
        archive.writestr("e/module.py", elf(62))
    package = Package(path=path, sha256_base64="", zipped_bytes=0, unzipped_bytes=0)

    assert elf_machines(package) == {
        "a/_ext.cpython-313-aarch64-linux-gnu.so": "aarch64",
        "b.libs/libz.so.1.3": "x86_64",
        "c/odd.so": "other:40",
        "d/fake.so": "not-elf",
    }


COMPILED_DEPENDENCY = ("wrapt==2.5.2", "wrapt/")
"""A small dependency with a C extension in its wheels (its lock line, and where it lands in the zip)."""


@pytest.fixture(scope="module", params=["arm64", "x86_64"])
def real_package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Package]:
    """A package of its own with COMPILED_DEPENDENCY built from PyPI wheels; .build/ keeps the installed tree and the
    zip across runs (it is gitignored)."""
    root = tmp_path_factory.mktemp("real") / "src"
    _write(root, {"app/__init__.py": "", "app/handler.py": "import wrapt\n\n\ndef handler(event, context):\n"
                  "    return event\n"})  # fmt: skip
    lock = root.parent / "requirements.txt"
    lock.write_text(f"# the lock\n{COMPILED_DEPENDENCY[0]}\n")
    source = CodeSource(root=root, packages=("app",), requirements=lock)
    return request.param, _build(source, REPO / ".build" / "test-packaging", architecture=request.param)


def test_a_real_package_has_wheels_for_its_architecture(real_package: tuple[str, Package]) -> None:
    architecture, package = real_package
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    names = _names(package)

    machines = elf_machines(package)
    wrong = {name: found for name, found in machines.items() if found != machine}
    assert [name for name in machines if name.startswith(COMPILED_DEPENDENCY[1])], "the dependency's C extension"
    assert not wrong, f"{architecture} package holds shared objects for another machine: {wrong}"
    assert "app/handler.py" in names


def test_a_real_package_fits_the_lambda_limits(real_package: tuple[str, Package]) -> None:
    _, package = real_package
    assert 0 < package.zipped_bytes <= packaging.LAMBDA_ZIPPED_LIMIT_BYTES
    assert package.zipped_bytes < package.unzipped_bytes <= packaging.LAMBDA_UNZIPPED_LIMIT_BYTES


def test_a_real_package_holds_nothing_from_the_build_machine(real_package: tuple[str, Package]) -> None:
    """A path of this machine inside the zip would change its hash on every other machine that builds it."""
    _, package = real_package
    markers = [os.fsencode(sys.executable), os.fsencode(REPO)]
    with zipfile.ZipFile(package.path) as archive:
        leaks = [name for name in archive.namelist() if any(marker in archive.read(name) for marker in markers)]
    assert leaks == []


RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_no_bytecode_without_an_interpreter_of_that_version(
    source: CodeSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "3.13" if RUNNING != "3.13" else "3.12"
    monkeypatch.setattr(packaging.shutil, "which", lambda name: None)
    assert not [name for name in _names(_build(source, tmp_path / "b", python_version=other)) if name.endswith(".pyc")]


PYENV_313 = Path.home() / ".pyenv/versions/3.13.0/bin/python3.13"


@pytest.mark.skipif(not PYENV_313.is_file(), reason="no Python 3.13 interpreter on this machine")
def test_bytecode_for_another_version_is_compiled_by_that_interpreter(
    source: CodeSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(packaging.BYTECODE_PYTHON_ENV, str(PYENV_313))
    names = _names(_build(source, tmp_path / "b", python_version="3.13"))
    assert "app/__pycache__/handler.cpython-313.pyc" in names


def test_an_interpreter_that_does_not_run_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shim = tmp_path / "python3.13"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(packaging.BYTECODE_PYTHON_ENV, raising=False)
    assert packaging.bytecode_compiler("3.13") is None


def test_bytecode_for_this_python_is_deterministic_and_used_from_a_read_only_copy(
    source: CodeSource, tmp_path: Path
) -> None:
    first = _build(source, tmp_path / "one", python_version=RUNNING)
    second = _build(source, tmp_path / "two", python_version=RUNNING)
    assert first.path.read_bytes() == second.path.read_bytes(), "same source, same bytecode, same zip"
    tag = sys.implementation.cache_tag
    assert {f"app/__pycache__/handler.{tag}.pyc", f"__pycache__/helpers.{tag}.pyc"} <= set(_names(first))

    task = tmp_path / "var-task"
    with zipfile.ZipFile(first.path) as archive:
        archive.extractall(task)
    for path in task.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)  # /var/task is read-only
    loaded = subprocess.run(
        [sys.executable, "-I", "-v", "-c", f"import sys; sys.path.insert(0, {str(task)!r}); import app.handler"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    assert f"code object from '{task}/app/__pycache__/handler.{tag}.pyc'" in loaded, "imported from the bytecode"
