"""`make review`: the whole report of a stack, written and printed, with no credentials."""

import re

import pytest

from policy.rules.prices import SECRET_MONTH
from review import __main__ as cli
from review import extension
from review.costs import idle_costs
from review.extension import app_sections
from review.markdown import usd
from review.policies import PolicyOutcome
from review.report import build_report
from synth import program as synth
from tests.conftest import synthesized

PLATFORM_SECTIONS = ["## Policy results", "## Resource graph", "## Who may do what (IAM)", "## Idle cost",
                     "## Resource tree"]  # fmt: skip
"""The platform's own sections, in order; an application's go between the idle cost and the resource tree."""


NO_PACK = PolicyOutcome(available=False)


def report(stack, outcome=NO_PACK):
    """The report as `python -m review` builds it for this repository: with its application's sections."""
    synthesis = synthesized(stack)
    return build_report(synthesis, outcome, app_sections(synthesis))


def test_the_report_has_every_section_in_order(stack):
    text = report(stack)
    added = [f"## {section.title}" for section in app_sections(synthesized(stack)).sections]
    expected = [*PLATFORM_SECTIONS[:-1], *added, PLATFORM_SECTIONS[-1]]
    assert text.startswith(f"# Review of stack `{stack}`\n")
    positions = [text.index(section) for section in expected]
    assert positions == sorted(positions)
    assert "```mermaid\nflowchart LR\n" in text
    assert f"Stack {stack}: " in text, "the offline preview's tree, reused"


def test_the_summary_states_idle_cost_then_the_applications_rows(stack):
    text = report(stack)
    summary = text[: text.index("## Policy results")]
    idle = re.search(r"\| idle cost \| (.+) \|", summary).group(1)
    assert idle == f"{usd(sum(cost.usd_per_month for cost in idle_costs(synthesized(stack))))}/month"
    if stack == "dev":
        assert idle == f"{usd(2 * SECRET_MONTH.per_unit)}/month", "dev idles at its two Secrets Manager secrets only"
    for what, value in app_sections(synthesized(stack)).summary:
        assert summary.index(f"| {what} | {value} |") > summary.index("| idle cost |"), what


def test_without_an_application_the_report_has_the_platform_parts_only(monkeypatch):
    monkeypatch.setattr(extension, "APP_MODULE", "no_application_here.review")
    synthesis = synthesized("dev")
    text = build_report(synthesis, NO_PACK, app_sections(synthesis))
    assert text == build_report(synthesis, NO_PACK)
    assert re.findall(r"^## .+$", text, re.MULTILINE) == PLATFORM_SECTIONS
    summary = text[: text.index("## Policy results")]
    assert [row.split(" | ")[0] for row in summary.splitlines()[4:] if row] == [
        "| resources", "| region", "| policy pack", "| idle cost"]  # fmt: skip


def test_dev_lists_its_two_secrets_as_its_whole_idle_cost():
    section = report("dev").split("## Idle cost")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0] for row in rows] == ["| `catalog-writer-secret`", "| `catalog-cluster`"]
    assert all(SECRET_MONTH.label in row and SECRET_MONTH.source in row for row in rows)


def test_prod_lists_what_it_pays_for_while_idle():
    section = report("prod").split("## Idle cost")[1].split("\n## ")[0]
    assert "customer-managed KMS key" in section
    assert "https://aws.amazon.com/privatelink/pricing/" in section
    assert "**Total: $" in section


def test_main_writes_and_prints_the_report(tmp_path, capsys):
    assert cli.main(["--stack", "dev", "--output-dir", str(tmp_path)]) == 0
    written = (tmp_path / "dev.md").read_text()
    assert capsys.readouterr().out == written
    assert str(synth.PROJECT_DIR) not in written, "no machine paths in a report posted publicly"
    for section in app_sections(synthesized("dev")).sections:
        assert f"\n## {section.title}\n" in written, "the application's sections, found by the extension point"


def test_main_refuses_an_unknown_stack_in_one_line_before_any_synthesis(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "synthesize", lambda *args, **kwargs: pytest.fail("synthesized a refused stack"))
    assert cli.main(["--stack", "staging-typo", "--output-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: no Pulumi.staging-typo.yaml; stacks are: dev, prod\n"
    assert captured.out == ""
    assert not list(tmp_path.iterdir())


def test_main_reports_a_program_error_without_a_traceback(tmp_path, capsys, monkeypatch):
    config = synth.stack_config("dev") | {"platform:profile": '{"protect": "maybe"}'}
    monkeypatch.setattr(synth, "stack_config", lambda stack: config)
    assert cli.main(["--stack", "dev", "--output-dir", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "platform:profile.protect: 'maybe' is not allowed" in err
    assert "Traceback" not in err
