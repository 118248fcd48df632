"""The data path's contract (handlers/pipeline/contract.py) is the one place its names are written: the program,
the Lambdas and the worker import them, so a name changed on one side changes on every side.

- No value of the contract is written out as a string anywhere else in __main__.py, app/ or handlers/: not as a
  string of its own, nor (for the values that cannot be an ordinary word: camelCase attribute names, placeholders,
  prefixes, variable names) inside a longer one, such as a DynamoDB expression. Skipped: docstrings, `__all__`,
  log and trace field names, JSONPaths into the workflow state, and the few coincidences in `ALLOWED`.
- The refusal and stale-event names are the handlers' exception classes, and the worker exits with the contract's
  codes for them.
- Every environment variable the data-path handlers read is one the program sets on the function or the task (or
  that Lambda or the image sets), and every variable of the contract is read.
- Every artifact that ships a package importing the contract ships the contract too.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

import pytest

from app.code import LAMBDA_CODE, WORKER_IMAGE
from handlers.pipeline import contract
from synth.program import PROJECT_DIR, Synthesis

HANDLERS = PROJECT_DIR / "handlers"
CONTRACT = HANDLERS / "pipeline" / "contract.py"
SCANNED = sorted(
    path
    for path in [PROJECT_DIR / "__main__.py", *(PROJECT_DIR / "app").rglob("*.py"), *HANDLERS.rglob("*.py")]
    if path != CONTRACT
)
DATA_PATH = ("imaging", "pipeline", "worker")
"""The handler packages the contract is for (the catalog package's migration Lambda has settings of its own)."""

ALLOWED = {
    ("__main__.py", "catalog"): "the Aurora cluster's resource name and its database's name",
    ("app/code.py", "catalog"): "the catalog handler package's directory",
    ("app/catalog.py", "route"): "the catalog insert's SQL parameter (handlers/catalog/schema.py), not the record's",
    ("handlers/catalog/schema.py", "route"): "a column of the catalog's images table",
    ("handlers/worker/main.py", "error"): "a field of the worker's result log line (see its docstring)",
    ("handlers/worker/main.py", "objectKey"): "a field of the worker's result log line (see its docstring)",
    ("handlers/worker/main.py", "reason"): "a field of the worker's result log line, not the metric's dimension",
    ("app/demo/report.py", "error"): "a field of a Step Functions history event's failure details",
    ("app/demo/report.py", "route"): "the header of the catalog table's column (the catalog's own `route` column)",
    ("app/demo/report.py", "reason"): "the header of the terminal table's column of why an upload did not complete",
    ("app/review/retention.py", "status"): "a bucket lifecycle rule's status in the program's inputs",
    ("app/review/levers.py", "status"): "a bucket lifecycle rule's status in the program's inputs",
    ("app/review/assumptions.py", "renditions"): "a key of `make bench`'s results (bench/run.py), not the record's",
}
"""(file, value) -> why that string there is not the contract's value, though it is spelled the same."""


def contract_values() -> dict[str, str]:
    """Every string of the contract (the items of its tuples included) -> the name to import instead."""
    values: dict[str, str] = {}
    for name, value in vars(contract).items():
        if not name.isupper():
            continue
        if isinstance(value, str):
            values[value] = name
        elif isinstance(value, tuple):
            values.update({item: f"{name}[{index}]" for index, item in enumerate(value) if isinstance(item, str)})
    return values


def distinctive(value: str) -> bool:
    """A value no ordinary word or sentence contains by chance: camelCase, or with `_`, `/`, `#` or `:` in it."""
    return bool(re.search(r"[a-z][A-Z]|[_/#:]", value))


def within(value: str) -> re.Pattern[str]:
    """`value` as a whole inside a longer string: not the middle of a longer word."""
    end = r"(?!\w)" if value[-1].isalnum() else ""
    return re.compile(rf"(?<!\w){re.escape(value)}{end}")


def _skipped(tree: ast.AST) -> set[int]:
    """ids of the string constants that are no data: docstrings and other bare strings, `__all__` entries, the
    keys of a logging call's `extra` and the key of a trace annotation (log fields are the logs' own names)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skipped.add(id(node.value))
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            skipped |= {id(item) for item in ast.walk(node.value)}
        elif isinstance(node, ast.Call):
            annotation = isinstance(node.func, ast.Attribute) and node.func.attr == "put_annotation"
            for keyword in node.keywords:
                if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                    skipped |= {id(key) for key in keyword.value.keys if key is not None}
                elif keyword.arg == "key" and annotation:
                    skipped.add(id(keyword.value))
    return skipped


def written_out(source: str, values: dict[str, str]) -> Iterator[tuple[int, str, str]]:
    """(line, value, contract name) for every string constant of `source` that is, or contains, a contract value."""
    tree = ast.parse(source)
    skipped = _skipped(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in skipped:
            continue
        if node.value in values:
            yield node.lineno, node.value, values[node.value]
        elif not node.value.startswith(("$", ".")):  # JSONPaths name the workflow state's fields, not these
            for value, name in values.items():
                if distinctive(value) and within(value).search(node.value):
                    yield node.lineno, value, name


def test_the_contract_values_are_written_only_in_the_contract():
    values = contract_values()
    found, used = [], set()
    for path in SCANNED:
        relative = path.relative_to(PROJECT_DIR).as_posix()
        for line, value, name in written_out(path.read_text(), values):
            if (relative, value) in ALLOWED:
                used.add((relative, value))
            else:
                found.append(
                    f"{relative}:{line}: {value!r} is contract.{name}: import it from handlers/pipeline/contract.py"
                )
    assert not found, "\n".join(found)
    assert used == set(ALLOWED), f"ALLOWED entries that no longer occur: {sorted(set(ALLOWED) - used)}"


@pytest.mark.parametrize(
    "source",
    [
        'UPLOAD_PREFIX = "uploads/"',
        'when = ("$.validation.route", "fargate")',
        'key = {"objectKey": {"S": key}}',
        'condition = "attribute_not_exists(objectKey) OR rawSequencer = :raw"',
        'update = "SET #status = :failed, updatedAt = :now"',
        'errors = ("StaleEvent",)',
        'environment = {"TABLE_NAME": table}',
        'value = f"{bucket}/renditions/{key}"',
    ],
)
def test_a_value_written_out_is_found(source):
    assert list(written_out(source, contract_values())), source


@pytest.mark.parametrize(
    "source",
    [
        '"""Records move from PROCESSING to COMPLETE; the objectKey is the key."""',
        'X = 1\n"""The attribute docstring of X, naming UPLOAD_PREFIX."""',
        '__all__ = ["ObjectNotFound", "StaleEvent"]',
        'logger.info("Validated", extra={"route": route, "error": None})',
        'tracer.put_annotation(key="objectKey", value=key)',
        'path = "$.catalogError.Cause"',
        'message = "the status of an error, and its cause"',
    ],
)
def test_documentation_and_log_fields_are_not_contract_values(source):
    assert not list(written_out(source, contract_values())), source


def test_every_constant_of_the_contract_says_what_depends_on_it():
    body = ast.parse(CONTRACT.read_text()).body
    assert not [node for node in body if isinstance(node, ast.Import | ast.ImportFrom)], (
        "the program imports the contract: the standard library only, and nothing of the handlers"
    )
    for node, following in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.Assign):
            names = [target.id for target in node.targets if isinstance(target, ast.Name)]
            documented = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
            assert documented, f"contract.{names[0]} (line {node.lineno}) has no docstring"


# --- error names and exit codes -----------------------------------------------------------------------------------


def subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *subclasses(direct)}}


def test_the_refusals_are_the_exception_classes_the_handlers_record_and_raise():
    imaging = importlib.import_module("imaging")
    errors = importlib.import_module("pipeline.errors")
    raised = {cls.__name__ for cls in subclasses(imaging.ImageError)} | {errors.ObjectNotFound.__name__}
    assert len(set(contract.REFUSALS)) == len(contract.REFUSALS)
    assert set(contract.REFUSALS) == raised, "a refusal the workflow does not route to Rejected, or one never raised"
    assert errors.StaleEvent.__name__ == contract.STALE_EVENT


def test_the_worker_exits_with_the_contract_codes():
    worker = importlib.import_module("worker.main")
    imaging = importlib.import_module("imaging")
    errors = importlib.import_module("pipeline.errors")
    refusals = [cls("a reason") for cls in subclasses(imaging.ImageError)]
    refusals.append(errors.ObjectNotFound(bucket="uploads", keys=("uploads/a.jpg",)))
    assert {type(error).__name__ for error in refusals} == set(contract.REFUSALS)
    for error in refusals:
        assert worker._exit_code(error) == contract.EXIT_REFUSED, type(error).__name__
    assert worker._exit_code(errors.StaleEvent("uploads/a.jpg", "0A")) == contract.EXIT_STALE
    assert worker._exit_code(RuntimeError("anything else")) == contract.EXIT_FAILED


# --- environment variables ----------------------------------------------------------------------------------------

ENVIRON = frozenset({"environ", "env"})
"""The names the handlers give the environment they read (`os.environ` unless a test or runner passes another)."""
READERS = frozenset({"get", "pop", "setdefault"})
PLATFORM = {
    "AWS_REGION": "Lambda and ECS on Fargate set it",
    "AWS_DEFAULT_REGION": "Lambda and ECS on Fargate set it",
    "AWS_ACCESS_KEY_ID": "Lambda sets it; ECS gives credentials through its endpoint instead, which boto3 finds",
    "AWS_SECRET_ACCESS_KEY": "Lambda sets it; ECS gives credentials through its endpoint instead",
    "AWS_SESSION_TOKEN": "Lambda sets it; ECS gives credentials through its endpoint instead",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "Lambda sets it; the worker sets it from WORKER_MEMORY_MB",
    "_X_AMZN_TRACE_ID": "Lambda sets it for each invocation of a traced function; unset where nothing is traced",
}
"""Variables the platform provides: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
#configuration-envvars-runtime and https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html"""


@dataclass(frozen=True)
class Read:
    where: str
    name: str | None
    """None when the name cannot be resolved to a string."""


def _is_environ(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ENVIRON
    return isinstance(node, ast.Attribute) and node.attr == "environ" and getattr(node.value, "id", None) == "os"


def _resolve(node: ast.AST, module: ModuleType) -> str | None:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None)
        return value if isinstance(value, str) else None
    if isinstance(node, ast.Attribute):
        owner = _resolve_object(node.value, module)
        value = getattr(owner, node.attr, None)
        return value if isinstance(value, str) else None
    return None


def _resolve_object(node: ast.AST, module: ModuleType) -> object:
    if isinstance(node, ast.Name):
        return getattr(module, node.id, None)
    if isinstance(node, ast.Attribute):
        return getattr(_resolve_object(node.value, module), node.attr, None)
    return None


def _parameters(tree: ast.AST) -> set[int]:
    """ids of the Name nodes that read a parameter of the function they are in."""
    found: set[int] = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = function.args
            names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
            found |= {id(node) for node in ast.walk(function) if isinstance(node, ast.Name) and node.id in names}
    return found


def environment_reads(source: str, module: ModuleType) -> Iterator[tuple[int, ast.AST]]:
    """(line, name expression) of every read of the environment: `environ[NAME]`, `environ.get(NAME)`,
    `NAME in environ`, `os.getenv(NAME)`, and a helper given the environment and then a name
    (`_require(environ, NAME)`; inside such a helper, the read of its parameter is the callers' reads)."""
    tree = ast.parse(source)
    forwarded = _parameters(tree)
    for line, expression in _reads(tree, module):
        if id(expression) not in forwarded:
            yield line, expression


def _reads(tree: ast.AST, module: ModuleType) -> Iterator[tuple[int, ast.AST]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_environ(node.value) and isinstance(node.ctx, ast.Load):
            yield node.lineno, node.slice
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
            if _is_environ(node.comparators[0]):
                yield node.lineno, node.left
        elif isinstance(node, ast.Call) and node.args:
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
            if called == "getenv" or (called in READERS and _is_environ(getattr(function, "value", None))):
                yield node.lineno, node.args[0]
            elif len(node.args) >= 2 and _is_environ(node.args[0]) and _resolve(node.args[1], module) is not None:
                yield node.lineno, node.args[1]


def reads_of(package: str) -> list[Read]:
    reads = []
    for path in sorted((HANDLERS / package).rglob("*.py")):
        name = ".".join(path.relative_to(HANDLERS).with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(name)
        for line, expression in environment_reads(path.read_text(), module):
            reads.append(Read(f"handlers/{package}/{path.name}:{line}", _resolve(expression, module)))
    return reads


def image_environment() -> set[str]:
    """The variables the worker's Dockerfile sets with ENV in its final stage."""
    text = re.sub(r"\\\n", " ", (HANDLERS / "worker" / "Dockerfile").read_text())
    final = re.split(r"^FROM ", text, flags=re.MULTILINE)[-1]
    return {
        word.split("=", 1)[0]
        for line in final.splitlines()
        if line.startswith("ENV ")
        for word in shlex.split(line[len("ENV ") :])
    }


def program_environments(program: Synthesis) -> dict[str, set[str]]:
    """What the program sets for each data-path compute: a Lambda's variables; the worker's container variables,
    the heavy-path workflow's overrides and the image's own."""
    found = {}
    for function in program.of_type("aws:lambda/function:Function"):
        if function.inputs["handler"].split(".")[0] in DATA_PATH:
            found[function.name] = set((function.inputs.get("environment") or {}).get("variables", {}))
    [task] = program.of_type("aws:ecs/taskDefinition:TaskDefinition")
    [container] = json.loads(task.inputs["containerDefinitions"])
    heavy = program.one("aws:sfn/stateMachine:StateMachine", "heavy-path-state-machine")
    [override] = json.loads(heavy.inputs["definition"])["States"]["RunWorker"]["Parameters"]["Overrides"][
        "ContainerOverrides"
    ]
    found[task.name] = (
        {variable["name"] for variable in container.get("environment", [])}
        | {variable["Name"] for variable in override["Environment"]}
        | image_environment()
    )
    return found


def test_the_environment_reader_finds_every_form():
    module = ModuleType("probe")
    module.NAMED = "NAMED_VARIABLE"
    module.contract = contract
    source = """
import os
a = os.environ["SUBSCRIPT"]
b = env.get(NAMED)
c = "MEMBER" in environ
d = os.getenv("GETENV")
e = _require(environ, contract.TABLE_NAME_ENV)
f = environ.get(compute())

def _require(environ, name):
    return environ.get(name)
"""
    names = [_resolve(expression, module) for _, expression in environment_reads(source, module)]
    assert sorted(names, key=lambda name: name or "") == [None, "GETENV", "MEMBER", "NAMED_VARIABLE", "SUBSCRIPT",
                                                          "TABLE_NAME"]  # fmt: skip


def test_every_variable_the_handlers_read_is_one_the_program_sets(program):
    reads = {package: reads_of(package) for package in DATA_PATH}
    unresolved = [read.where for package_reads in reads.values() for read in package_reads if read.name is None]
    assert not unresolved, f"environment reads whose name is no constant: {unresolved}"
    environments = program_environments(program)
    assert len(environments) == 2, sorted(environments)  # the process Lambda and the worker
    for compute, provided in environments.items():
        packages = DATA_PATH if compute.startswith("worker") else ("imaging", "pipeline")
        missing = sorted({f"{read.name} ({read.where})" for package in packages for read in reads[package]
                          if read.name not in provided | set(PLATFORM)})  # fmt: skip
        assert not missing, f"stack {program.stack}: {compute} does not set {missing}"


def test_every_variable_of_the_contract_is_read_by_a_handler():
    read = {r.name for package in DATA_PATH for r in reads_of(package)}
    variables = {value for name, value in vars(contract).items() if name.endswith("_ENV")}
    assert variables, "the contract names no environment variable"
    assert variables <= read, f"set for nobody: {sorted(variables - read)}"


# --- packaging ----------------------------------------------------------------------------------------------------


def importers_of_the_contract() -> set[str]:
    """The handler packages with a module that imports the contract (`pipeline.contract` or `.contract`)."""
    importers = set()
    for path in HANDLERS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                node.module == "pipeline.contract"
                or (node.level == 1 and node.module == "contract" and path.parent.name == "pipeline")
            ):
                importers.add(path.relative_to(HANDLERS).parts[0])
    return importers


def test_every_artifact_that_ships_an_importer_of_the_contract_ships_the_contract():
    importers = importers_of_the_contract()
    assert {"imaging", "pipeline", "worker"} <= importers
    for artifact, shipped in (
        ("the Lambda package", LAMBDA_CODE.packages),
        ("the worker image", WORKER_IMAGE["include"]),
    ):
        if importers & set(shipped):
            assert "pipeline" in shipped, f"{artifact} ships {sorted(importers & set(shipped))} but not pipeline/"
    dockerfile = (HANDLERS / "worker" / "Dockerfile").read_text()
    assert re.search(r"^COPY pipeline/ ", dockerfile, re.MULTILINE), "the worker image must copy pipeline/"
