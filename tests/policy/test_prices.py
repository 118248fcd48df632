"""One source for prices: every AWS list price the repository uses is a `Price` in policy/rules/prices.py, with its
pricing page, and no Python source of the project types a price anywhere else.

The scan reads every Python source outside tests/ (the program, components/, policy/, review/, synth/, emulator/,
tools/, and the application's code, whatever its directories are called) and refuses, outside the prices module:

- a dollar figure (`$0.045`, `$1/month`) in a string the code uses: a message, a label, a report line (f-strings
  included); docstrings and comments are prose, not scanned;
- an AWS pricing page (`aws.amazon.com/.../pricing`) in such a string: a price's source is its `Price.source`;
- a number bound to a name about money (`..._USD_...`, `price`, `usd=`), or given to `Price(...)`;
- a number multiplied with HOURS_PER_MONTH (an hourly price typed inline), and 730 or 8760 written out.

A computed figure (`f"${monthly:,.2f}"`) is fine: the number comes from a `Price`.
"""

import ast
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from policy.rules import prices
from policy.rules.prices import Price
from synth.program import PROJECT_DIR

PRICES_MODULE = Path("policy/rules/prices.py")
SKIPPED_DIRS = {"tests", "venv", ".venv", "node_modules", "__pycache__"}
"""Besides hidden directories (.build's packaged dependencies, .git): the tests state expected figures."""
DOLLARS = re.compile(r"(?<![\w$])\$(\d[\d,]*(?:\.\d+)?)")
PRICING_PAGE = re.compile(r"aws\.amazon\.com/[\w./-]*pricing")
MONEY_NAME = re.compile(r"usd|price|dollar", re.IGNORECASE)
HOURS_IN = {730: "hours in a month", 8760: "hours in a year"}


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def python_sources(root: Path) -> Iterator[Path]:
    """Every Python file below `root`, pruning the skipped and hidden directories before walking them (the venv
    and the build directory hold most of the tree)."""
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRS and not d.startswith(".")]
        found += [Path(directory, name) for name in files if name.endswith(".py")]
    yield from sorted(found)


def price_literals(root: Path) -> list[Found]:
    """Every price typed outside `root`/policy/rules/prices.py, by file and line."""
    found: list[Found] = []
    for path in python_sources(root):
        relative = path.relative_to(root)
        if relative != PRICES_MODULE:
            found += _scan(relative.as_posix(), path.read_text())
    return found


def _scan(path: str, source: str) -> list[Found]:
    tree = ast.parse(source)
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    skipped = prose | {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant | ast.JoinedStr) and id(node) not in skipped:
            found += _in_string(path, source, node)
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.keyword):
            found += _money_named(path, node)
        if isinstance(node, ast.Call) and _name(node.func) == "Price" and _numbers(node):
            found.append(Found(path, node.lineno, "Price(...) outside the prices module"))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            factors = _factors(node)
            if any(_name(f) == "HOURS_PER_MONTH" for f in factors) and any(_is_number(f) for f in factors):
                found.append(Found(path, node.lineno, f"hourly price typed inline: {ast.unparse(node)}"))
        if _is_number(node) and node.value in HOURS_IN:
            found.append(Found(path, node.lineno, f"{node.value} ({HOURS_IN[node.value]}): use HOURS_PER_MONTH"))
    return sorted(set(found), key=lambda f: (f.line, f.what))


def _in_string(path: str, source: str, node: ast.Constant | ast.JoinedStr) -> list[Found]:
    parts = node.values if isinstance(node, ast.JoinedStr) else [node]
    texts = [p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)]
    figures = [m.group(0) for t in texts for m in DOLLARS.finditer(t) if float(m.group(1).replace(",", ""))]
    pages = [m.group(0) for t in texts for m in PRICING_PAGE.finditer(t)]
    if not figures and not pages:
        return []  # most strings: spare the source segment, which splits the whole file each time
    segment = ast.get_source_segment(source, node) or ""
    found = []
    for kind, value in [*(("dollar figure", f) for f in figures), *(("pricing page", p) for p in pages)]:
        at = segment.find(value)
        line = node.lineno + (segment[:at].count("\n") if at >= 0 else 0)
        found.append(Found(path, line, f"{kind} {value!r} in a string"))
    return found


def _money_named(path: str, node: ast.Assign | ast.AnnAssign | ast.keyword) -> list[Found]:
    if isinstance(node, ast.keyword):
        names = [node.arg or ""]
    elif isinstance(node, ast.Assign):
        names = [_name(target) for target in node.targets]
    else:
        names = [_name(node.target)]
    if node.value is None or not _numbers(node.value):
        return []
    return [
        Found(path, node.value.lineno, f"number named like a price: {name}")
        for name in names
        if MONEY_NAME.search(name)
    ]


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _numbers(node: ast.AST) -> bool:
    return any(_is_number(child) for child in ast.walk(node))


def _factors(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
        return [*_factors(node.left), *_factors(node.right)]
    return [node]


def test_no_price_is_typed_outside_the_prices_module():
    found = price_literals(PROJECT_DIR)
    assert not found, "prices belong in policy/rules/prices.py as a Price:\n" + "\n".join(map(str, found))


PLATFORM = ("policy", "review", "synth", "emulator", "components", "__main__.py")
APPLICATION = ("app", "handlers", "bench")
"""The sample application's code, scanned as long as it is there (a fork deletes it)."""


def test_the_scan_covers_the_project_but_not_its_tests_or_dependencies():
    scanned = {path.relative_to(PROJECT_DIR).parts[0] for path in python_sources(PROJECT_DIR)}
    application = {name for name in APPLICATION if (PROJECT_DIR / name).exists()}
    assert {*PLATFORM, *application} <= scanned
    assert not scanned & {"tests", "venv", ".build", ".git"}


def test_the_scan_reads_every_directory_it_is_given_but_tests_and_hidden_ones(tmp_path):
    for path in ("program/__main__.py", "functions/orders/handler.py", "tests/test_x.py", ".build/deps/x.py",
                 "venv/lib/x.py", "functions/orders/__pycache__/x.py", "lambda.py"):  # fmt: skip
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    scanned = sorted(path.relative_to(tmp_path).as_posix() for path in python_sources(tmp_path))
    assert scanned == ["functions/orders/handler.py", "lambda.py", "program/__main__.py"]


SCANNED_SAMPLE = '''
"""Docstrings are prose: a NAT gateway costs $0.045/hour, see https://aws.amazon.com/vpc/pricing/."""
HOURS_PER_MONTH = 730
NAT_USD_PER_HOUR = 0.045
zero = "$0"
jsonpath = "$.validation.route"
verifier = "SCRAM-SHA-256$4096:salt"


def nat():
    # comments are prose too: $0.045
    label = f"NAT gateway, ${NAT_USD_PER_HOUR}/hour"
    return ("NAT gateway, "
            "$0.045/hour", 0.045 * zones * HOURS_PER_MONTH, "https://aws.amazon.com/vpc/pricing/")


KEY = Price(1.0, 1, "key-month", KMS)
computed = f"${monthly:,.2f}/month"
charge = Charge(usd=1.0)
'''


def test_the_scan_finds_each_kind_of_typed_price_and_names_its_line():
    found = [(f.line, f.what) for f in _scan("sample.py", SCANNED_SAMPLE)]
    assert found == [
        (3, "730 (hours in a month): use HOURS_PER_MONTH"),
        (4, "number named like a price: NAT_USD_PER_HOUR"),
        (14, "dollar figure '$0.045' in a string"),
        (14, "hourly price typed inline: 0.045 * zones * HOURS_PER_MONTH"),
        (14, "pricing page 'aws.amazon.com/vpc/pricing' in a string"),
        (17, "Price(...) outside the prices module"),
        (19, "number named like a price: usd"),
    ]


def every_price() -> dict[str, Price]:
    found = {}
    for name, value in vars(prices).items():
        if isinstance(value, Price):
            found[name] = value
        elif isinstance(value, dict):
            found |= {f"{name}[{key!r}]": price for key, price in value.items() if isinstance(price, Price)}
    return found


@pytest.mark.parametrize(("name", "price"), every_price().items(), ids=every_price().keys())
def test_every_price_is_positive_and_cites_an_aws_pricing_page(name, price):
    assert price.usd > 0, name
    assert price.quantity > 0, name
    assert re.fullmatch(r"https://aws\.amazon\.com/[\w/.-]+/pricing/([\w-]+/)?", price.source), (
        f"{name}: {price.source}"
    )
    assert price.label.startswith("$"), name
    assert price.label.endswith(price.unit), name
    assert not DOLLARS.search(price.unit), f"{name}: a figure in the unit is a second price nobody computes with"


def test_every_price_is_exported_and_dated():
    assert {name.split("[")[0] for name in every_price()} <= set(prices.__all__)
    assert re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", prices.PRICES_AS_OF)
    assert prices.PRICE_REGION == "us-east-1"
    assert prices.HOURS_PER_MONTH * 12 == 8760


def test_labels_read_like_the_pricing_pages():
    assert prices.LAMBDA_REQUEST.label == "$0.20 per 1M Lambda requests"
    assert prices.LAMBDA_GB_SECOND["arm64"].label == "$0.0000133334 per GB-second of Lambda duration, arm64"
    assert prices.NAT_GATEWAY_HOUR.label == "$0.045 per NAT gateway-hour (data processed billed on top)"
    assert prices.KMS_KEY_MONTH.label == "$1.00 per KMS key per month (customer managed; prorated hourly)"
    assert math.isclose(prices.SECRETS_MANAGER_CALL.per_unit, 0.05 / 10_000)


def test_the_prices_module_is_plain_python_the_pack_and_the_review_share():
    """The pack runs with policy/ as its root (`rules.prices`), the review imports `policy.rules.prices`: the module
    imports only the standard library, and the idle classification imports it relatively."""
    tree = ast.parse((PROJECT_DIR / PRICES_MODULE).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"dataclasses"}
    idle = ast.parse((PROJECT_DIR / "policy/rules/idle.py").read_text())
    assert any(isinstance(n, ast.ImportFrom) and n.level == 1 and n.module == "prices" for n in ast.walk(idle))
