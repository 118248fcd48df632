"""The platform stands without the sample: no module of components/, synth/, emulator/, review/ or policy/ imports
the sample application (app/, handlers/ and the packages it holds, bench/), or names one of its modules or
directories in its code, so that a platform team can delete the sample and keep a working platform.

One documented exception: the review report's extension point (review/extension.py) looks for the application's
`app.review` by name, and imports it only when it exists. Docstrings and comments are prose, not checked.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from review import extension
from synth.program import PROJECT_DIR

PLATFORM = ("components", "synth", "emulator", "review", "policy")
SAMPLE = ("app", "handlers", "bench")
HANDLERS_DIR = PROJECT_DIR / "handlers"
EXTENSION_POINT = ("review/extension.py", "APP_MODULE")
"""(file, module-level constant): the one place the platform may name an application module."""
DYNAMIC_IMPORTS = frozenset({"import_module", "__import__", "find_spec", "run_module", "import_fresh_module"})


def sample_packages() -> tuple[str, ...]:
    """The sample's top-level names: its directories, and the packages its handlers are imported as when their
    directory is on sys.path (`pipeline`, `catalog`, ...), as long as the sample is there; in a fork that deleted
    it, the directory names alone, so that nothing brings the sample back."""
    if not HANDLERS_DIR.is_dir():
        return SAMPLE
    return SAMPLE + tuple(sorted(path.name for path in HANDLERS_DIR.iterdir() if (path / "__init__.py").is_file()))


@dataclass(frozen=True)
class Reference:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def platform_sources() -> Iterator[Path]:
    for top in PLATFORM:
        yield from sorted(path for path in (PROJECT_DIR / top).rglob("*.py") if "__pycache__" not in path.parts)


def names_sample_module(name: str, packages: tuple[str, ...]) -> bool:
    return name.split(".")[0] in packages


def names_sample_path(text: str) -> bool:
    """`handlers/worker/Dockerfile`, `app/code.py`, `./bench/`: a path into the sample's directories."""
    first, slash, _ = text.strip().removeprefix("./").partition("/")
    return first in SAMPLE and bool(slash)


def names_dotted_module(text: str, packages: tuple[str, ...]) -> bool:
    """`app.review`, `handlers.pipeline.contract`: a dotted module path of the sample (a bare `app` is just a word)."""
    parts = text.split(".")
    return len(parts) > 1 and all(part.isidentifier() for part in parts) and parts[0] in packages


def references(path: Path, packages: tuple[str, ...], root: Path = PROJECT_DIR) -> list[Reference]:
    """Every import of the sample, dynamic ones with a literal name included, every path into its directories and
    every module-level name for one of its modules, in `path`, by line."""
    relative = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(), filename=relative)
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    found: list[Reference] = []

    def add(node: ast.AST, what: str) -> None:
        found.append(Reference(relative, getattr(node, "lineno", 0), what))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if names_sample_module(alias.name, packages):
                    add(node, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if names_sample_module(node.module, packages):
                add(node, f"from {node.module} import ...")
        elif isinstance(node, ast.Call) and _called(node.func) in DYNAMIC_IMPORTS:
            for argument in node.args[:1]:
                if _is_text(argument) and names_sample_module(argument.value, packages):
                    add(node, f"{_called(node.func)}({argument.value!r})")
        elif isinstance(node, ast.Constant) and id(node) not in prose and isinstance(node.value, str):
            if names_sample_path(node.value):
                add(node, f"path {node.value!r}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _names_sample_dir(node.right):
            add(node, f"path {ast.unparse(node)}")  # `PROJECT_DIR / "handlers"`
    for statement in tree.body:  # module-level names for a module: `SOMETHING = "app.x"`
        if isinstance(statement, ast.Assign | ast.AnnAssign) and _is_text(statement.value):
            target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
            name = target.id if isinstance(target, ast.Name) else ""
            if names_dotted_module(statement.value.value, packages) and (relative, name) != EXTENSION_POINT:
                add(statement, f"{name} = {statement.value.value!r}")
    return sorted(found, key=lambda ref: ref.line)


def _called(function: ast.expr) -> str:
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def _names_sample_dir(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in SAMPLE


def _is_text(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def test_no_platform_module_imports_or_names_the_sample():
    packages = sample_packages()
    found = [str(ref) for path in platform_sources() for ref in references(path, packages)]
    assert not found, "the platform depends on the sample application:\n" + "\n".join(found)


def test_the_check_sees_every_kind_of_reference(tmp_path):
    """The check itself can fail: each form of dependency, in a module placed as the platform's would be."""
    source = '''"""A module that mentions app.code and handlers/ in prose only: not a dependency."""
import handlers.pipeline.contract
from app.code import LAMBDA_CODE
from pipeline.context import Dependencies
from .siblings import allowed
import importlib
importlib.import_module("bench.images")
ROOT = "handlers/worker/Dockerfile"
OPTIONAL = "app.costs"
CODE = PROJECT_DIR / "handlers"
DATABASE_NAME = "app"
'''
    module = tmp_path / "emulator" / "leaky.py"
    module.parent.mkdir()
    module.write_text(source)
    found = references(module, ("app", "handlers", "bench", "pipeline"), root=tmp_path)
    assert [(ref.line, ref.what) for ref in found] == [
        (2, "import handlers.pipeline.contract"),
        (3, "from app.code import ..."),
        (4, "from pipeline.context import ..."),
        (7, "import_module('bench.images')"),
        (8, "path 'handlers/worker/Dockerfile'"),
        (9, "OPTIONAL = 'app.costs'"),
        (10, "path PROJECT_DIR / 'handlers'"),
    ]
    assert str(found[0]) == "emulator/leaky.py:2: import handlers.pipeline.contract", "file and line named"


def test_the_one_exception_is_the_documented_optional_extension_point():
    path, constant = EXTENSION_POINT
    assert getattr(extension, constant) == "app.review"
    assert (PROJECT_DIR / path) == Path(extension.__file__).resolve()
    assert "find_spec" in (PROJECT_DIR / path).read_text(), "looked up before it is imported: optional"
