"""The pipeline's part of the review report (app/review/report.py): the cost per million images, in the summary and
in a section of its own, found by the platform's report through its extension point (review/extension.py)."""

import re

from app.review import report as cost_section
from app.review.assumptions import Assumptions
from app.review.workload import WorkloadError
from review.extension import APP_MODULE, app_sections
from review.policies import PolicyOutcome
from review.report import build_report
from tests.conftest import synthesized

NO_PACK = PolicyOutcome(available=False)


def report(stack):
    synthesis = synthesized(stack)
    return build_report(synthesis, NO_PACK, cost_section.sections(synthesis, Assumptions()))


def test_the_review_finds_the_pipelines_section_through_its_extension_point():
    assert APP_MODULE == "app.review"
    found = app_sections(synthesized("dev"))
    assert [section.title for section in found.sections] == ["Cost per million images"]
    assert [what for what, _ in found.summary] == ["per million images"]


def test_the_cost_section_comes_after_the_idle_cost_and_before_the_resource_tree(stack):
    text = report(stack)
    headings = re.findall(r"^## .+$", text, re.MULTILINE)
    assert headings[headings.index("## Idle cost") + 1 :] == ["## Cost per million images", "## Resource tree"]


def test_the_summary_states_the_cost_per_million_of_the_table(stack):
    text = report(stack)
    summary = text[: text.index("## Policy results")]
    per_million = re.search(r"\| per million images \| \$([\d.,]+) \|", summary).group(1)
    assert f"**${per_million}**" in text, "the summary's figure is the table's total"


def test_every_price_in_the_cost_table_links_its_source(stack):
    section = report(stack).split("## Cost per million images")[1].split("## Resource tree")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "](" in line]
    assert rows
    assert all("](https://aws.amazon.com/" in row for row in rows)
    assert "as of " in section
    assert "Not included:" in section
    assert "`app/review/assumptions.py`" in section, "the measured calls' source, where it now lives"


def test_a_definition_the_cost_model_cannot_follow_keeps_the_rest_of_the_report(monkeypatch):
    def refuse(synthesis, assumptions):
        raise WorkloadError("state 'Each' is a Map")

    monkeypatch.setattr(cost_section, "estimate", refuse)
    text = report("dev")
    assert "| per million images | not modelled |" in text
    assert "cannot follow this stack's workflows: state 'Each' is a Map" in text
    assert "## Resource tree" in text
