"""The report's extension point: an application adds summary rows and sections through one optional module, found
without importing anything else; without it the report is the platform's alone."""

import argparse
import uuid
from pathlib import Path

import pytest

from review.extension import NO_SECTIONS, AppSections, Section, add_app_arguments, app_sections
from review.policies import PolicyOutcome
from review.report import build_report
from tests.conftest import synthesized

NO_PACK = PolicyOutcome(available=False)
ORDERS = """
from review.extension import AppSections, Section

def sections(synthesis):
    return AppSections(summary=[("per million orders", "$1.20")],
                       sections=[Section("Orders", ["One order, one row."]), Section("Refunds", ["None."])])
"""

ORDERS_WITH_OPTIONS = """
from review.extension import AppSections, Section

def add_arguments(group):
    group.add_argument("--orders-per-day", type=int, default=None)

def sections(synthesis, options):
    return AppSections(sections=[Section("Orders", [f"{options['orders_per_day']} orders a day"])])
"""


def application(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, review_module: str | None) -> str:
    """A package of a name of its own on sys.path, with `review_module` as its `review` module (None: no such
    module); returns the module's dotted name."""
    package = f"fake_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    if review_module is not None:
        (tmp_path / package / "review.py").write_text(review_module)
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{package}.review"


def test_no_application_package_or_no_review_module_adds_nothing(tmp_path, monkeypatch):
    assert app_sections(synthesized("dev"), "no_application_here.review") is NO_SECTIONS
    assert app_sections(synthesized("dev"), application(tmp_path, monkeypatch, None)) is NO_SECTIONS


def test_an_applications_rows_and_sections_take_their_places(tmp_path, monkeypatch):
    synthesis = synthesized("dev")
    added = app_sections(synthesis, application(tmp_path, monkeypatch, ORDERS))
    orders, refunds = Section("Orders", ["One order, one row."]), Section("Refunds", ["None."])
    assert added == AppSections(summary=[("per million orders", "$1.20")], sections=[orders, refunds])
    text = build_report(synthesis, NO_PACK, added)
    order = ["| idle cost |", "| per million orders | $1.20 |", "## Policy results", "## Idle cost", "## Orders",
             "One order, one row.", "## Refunds", "## Resource tree"]  # fmt: skip
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)


def test_a_review_module_without_the_hook_is_refused_with_what_to_define(tmp_path, monkeypatch):
    module = application(tmp_path, monkeypatch, "SECTIONS = []\n")
    with pytest.raises(TypeError, match=rf"{module} has no sections\(synthesis\)"):
        app_sections(synthesized("dev"), module)


def test_a_hook_that_returns_something_else_is_refused(tmp_path, monkeypatch):
    module = application(tmp_path, monkeypatch, "def sections(synthesis):\n    return ['## Orders']\n")
    with pytest.raises(TypeError, match=r"returned list, not a review\.extension\.AppSections"):
        app_sections(synthesized("dev"), module)


def test_an_error_inside_the_applications_module_is_not_hidden(tmp_path, monkeypatch):
    module = application(tmp_path, monkeypatch, "import no_such_dependency_of_the_app\n")
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_of_the_app"):
        app_sections(synthesized("dev"), module)


def platform_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack")
    return parser


def test_an_applications_options_are_added_beside_the_platforms_and_reach_its_hook(tmp_path, monkeypatch):
    module = application(tmp_path, monkeypatch, ORDERS_WITH_OPTIONS)
    parser = platform_parser()
    assert add_app_arguments(parser, module) == ["orders_per_day"]
    options = parser.parse_args(["--stack", "dev", "--orders-per-day", "12"])
    added = app_sections(synthesized("dev"), module, {"orders_per_day": options.orders_per_day})
    assert added.sections[0].lines == ["12 orders a day"]


def test_an_application_without_options_adds_none(tmp_path, monkeypatch):
    parser = platform_parser()
    assert add_app_arguments(parser, application(tmp_path, monkeypatch, ORDERS)) == []
    assert add_app_arguments(parser, "no_application_here.review") == []
    assert vars(parser.parse_args([])) == {"stack": None}
