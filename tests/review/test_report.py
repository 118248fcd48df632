"""`make review`: the whole report of a stack, written and printed, with no credentials."""

import re

import pytest

from policy.rules.prices import SECRET_MONTH
from review import __main__ as cli
from review.assumptions import Assumptions
from review.costs import idle_costs
from review.markdown import usd
from review.policies import PolicyOutcome
from review.report import build_report
from review.workload import WorkloadError
from synth import program as synth
from tests.conftest import synthesized

SECTIONS = ["## Policy results", "## Resource graph", "## Who may do what (IAM)", "## Idle cost",
            "## Cost per million images", "## Resource tree"]  # fmt: skip


NO_PACK = PolicyOutcome(available=False)


def report(stack, outcome=NO_PACK):
    return build_report(synthesized(stack), Assumptions(), outcome)


def test_the_report_has_every_section_in_order(stack):
    text = report(stack)
    assert text.startswith(f"# Review of stack `{stack}`\n")
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "```mermaid\nflowchart LR\n" in text
    assert f"Stack {stack}: " in text, "the offline preview's tree, reused"


def test_the_summary_states_idle_cost_and_cost_per_million(stack):
    text = report(stack)
    summary = text[: text.index("## Policy results")]
    idle = re.search(r"\| idle cost \| (.+) \|", summary).group(1)
    assert idle == f"{usd(sum(cost.usd_per_month for cost in idle_costs(synthesized(stack))))}/month"
    if stack == "dev":
        assert idle == f"{usd(2 * SECRET_MONTH.per_unit)}/month", "dev idles at its two Secrets Manager secrets only"
    per_million = re.search(r"\| per million images \| \$([\d.,]+) \|", summary).group(1)
    assert f"**${per_million}**" in text, "the summary's figure is the table's total"


def test_every_price_in_the_cost_table_links_its_source(stack):
    section = report(stack).split("## Cost per million images")[1].split("## Resource tree")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "](" in line]
    assert rows
    assert all("](https://aws.amazon.com/" in row for row in rows)
    assert "as of " in section
    assert "Not included:" in section


def test_dev_lists_its_two_secrets_as_its_whole_idle_cost():
    section = report("dev").split("## Idle cost")[1].split("## Cost per million images")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0] for row in rows] == ["| `catalog-writer-secret`", "| `catalog-cluster`"]
    assert all(SECRET_MONTH.label in row and SECRET_MONTH.source in row for row in rows)


def test_prod_lists_what_it_pays_for_while_idle():
    section = report("prod").split("## Idle cost")[1].split("## Cost per million images")[0]
    assert "customer-managed KMS key" in section
    assert "https://aws.amazon.com/privatelink/pricing/" in section
    assert "**Total: $" in section


def test_a_definition_the_cost_model_cannot_follow_keeps_the_rest_of_the_report(monkeypatch):
    def refuse(synthesis, assumptions):
        raise WorkloadError("state 'Each' is a Map")

    monkeypatch.setattr("review.report.estimate", refuse)
    text = report("dev")
    assert "| per million images | not modelled |" in text
    assert "cannot follow this stack's workflows: state 'Each' is a Map" in text
    assert "## Resource tree" in text


def test_main_writes_and_prints_the_report(tmp_path, capsys):
    assert cli.main(["--stack", "dev", "--output-dir", str(tmp_path)]) == 0
    written = (tmp_path / "dev.md").read_text()
    assert capsys.readouterr().out == written
    assert str(synth.PROJECT_DIR) not in written, "no machine paths in a report posted publicly"


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
