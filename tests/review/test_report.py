"""`make review`: the whole report of a stack, written and printed, with no credentials."""

import re

import pytest

from review import __main__ as cli
from review import extension
from review.costs import idle_costs
from review.extension import app_sections
from review.markdown import usd
from review.policies import PolicyOutcome
from review.report import build_report
from synth import program as synth
from tests.conftest import synthesized
from tests.reference import reference_program

PLATFORM_SECTIONS = ["## Policy results", "## Resource graph", "## Who may do what (IAM)", "## Operations",
                     "## Idle cost", "## Resource tree"]  # fmt: skip
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
    costs = idle_costs(synthesized(stack))
    total = sum(cost.usd_per_month for cost in costs)
    assert idle == (f"{usd(total)}/month" if costs else "none: nothing is billed by the hour")
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


def idle_section(text):
    return text.split("## Idle cost")[1].split("\n## ")[0]


@pytest.mark.parametrize("program_of", [synthesized, reference_program], ids=["program", "reference"])
def test_the_idle_cost_section_lists_each_charge_with_its_price_and_source(program_of, stack):
    synthesis = program_of(stack)
    costs = idle_costs(synthesis)
    section = idle_section(build_report(synthesis, NO_PACK))
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    names = {resource.urn: resource.name for resource in synthesis.resources}
    assert [row.split(" | ")[0] for row in rows] == [f"| `{names[cost.urn]}`" for cost in costs]
    for row, cost in zip(rows, costs, strict=True):
        assert f" | {cost.what} | {usd(cost.usd_per_month)} | {cost.source} |" in row, row
    if costs:
        assert f"**Total: {usd(sum(cost.usd_per_month for cost in costs))}/month**" in section
    else:
        assert "Nothing in this stack is billed by the hour" in section


def test_a_stack_that_idles_at_a_key_endpoints_and_a_database_says_so_with_sources():
    """The reference program under prod's profile keeps a customer-managed key, interface endpoints and a warm
    database writer."""
    section = idle_section(build_report(reference_program("prod"), NO_PACK))
    assert "customer-managed KMS key" in section
    assert "https://aws.amazon.com/privatelink/pricing/" in section
    assert "`ledger-writer`" in section
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
