"""The pipeline's part of the review report (app/review/report.py): the cost per million images, in the summary and
in a section of its own, found by the platform's report through its extension point (review/extension.py), with
its parts, its top levers as computed, every assumption with its value, option and reason, and the `make review`
options reaching it."""

import dataclasses
import re

import pytest

from app.review import report as cost_section
from app.review.assumptions import Assumptions, option_name
from app.review.levers import effects
from app.review.per_image import ONE_OFF_PARTS, STORAGE, estimate
from app.review.workload import WorkloadError
from review import __main__ as review_main
from review.extension import APP_MODULE, app_sections
from review.markdown import usd
from review.policies import PolicyOutcome
from review.report import build_report
from tests.conftest import synthesized

NO_PACK = PolicyOutcome(available=False)


def report(stack, assumptions=None):
    synthesis = synthesized(stack)
    return build_report(synthesis, NO_PACK, cost_section.cost_sections(synthesis, assumptions or Assumptions()))


def section(text):
    return text.split("## Cost per million images")[1].split("## Resource tree")[0]


def test_the_review_finds_the_pipelines_section_through_its_extension_point():
    assert APP_MODULE == "app.review"
    found = app_sections(synthesized("dev"))
    assert [section.title for section in found.sections] == ["Cost per million images"]
    assert [what for what, _ in found.summary] == ["per million images", "storage of a million images"]


def test_the_cost_section_comes_after_the_idle_cost_and_before_the_resource_tree(stack):
    text = report(stack)
    headings = re.findall(r"^## .+$", text, re.MULTILINE)
    assert headings[headings.index("## Idle cost") + 1 :] == ["## Cost per million images", "## Resource tree"]


def test_the_summary_states_the_one_off_cost_and_the_storage_of_the_section(stack):
    text = report(stack)
    summary = text[: text.index("## Policy results")]
    per_million = re.search(r"\| per million images \| (\$[\d.,]+) \|", summary).group(1)
    assert f"| **per million images** | **{per_million}** |" in section(text), "the parts table's subtotal"
    result = estimate(synthesized(stack), Assumptions())
    assert per_million == usd(result.one_off_per_million)
    assert f"| storage of a million images | {usd(result.per_million(STORAGE))} for 30 days |" in summary
    assert f"**{usd(result.total_per_million)}**" in section(text), "the line table's total, with storage"


def test_the_parts_table_has_each_part_and_its_subtotal(stack):
    result = estimate(synthesized(stack), Assumptions())
    text = section(report(stack))
    for part in (*ONE_OFF_PARTS, STORAGE):
        assert f"| {part} | {usd(result.per_million(part))} |" in text, part


def test_the_top_three_levers_are_the_three_that_save_most(stack):
    synthesis, assumptions = synthesized(stack), Assumptions()
    ranked = effects(synthesis, assumptions, estimate(synthesis, assumptions))
    listed = re.findall(r"^\d\. \*\*(.+?)\*\*: .*: saves (\$[\d.,]+) per million", section(report(stack)), re.M)
    assert listed == [(effect.lever, usd(effect.saving)) for effect in ranked[:3]]
    assert [effect.saving for effect in ranked] == sorted((effect.saving for effect in ranked), reverse=True)


def test_every_price_in_the_cost_table_links_its_source(stack):
    text = section(report(stack))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "](" in line]
    assert rows
    assert all("](https://aws.amazon.com/" in row for row in rows)
    assert "as of " in text
    assert "Not included:" in text
    assert "`app/review/assumptions.py`" in text, "the measured calls' source, where it now lives"


def test_no_part_the_model_prices_is_listed_as_left_out():
    left_out = "; ".join(cost_section.NOT_INCLUDED)
    for priced in ("INIT", "retries", "refused or failed", "storage (GB-month"):
        assert priced not in left_out


def test_every_assumption_is_listed_with_its_value_its_option_and_why(stack):
    assumptions = dataclasses.replace(Assumptions(), cold_start_share=0.05)
    text = section(report(stack, assumptions))
    for field in dataclasses.fields(Assumptions):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{field.name}` |"))
        assert field.metadata["why"] in row, field.name
        assert (option_name(field.name) in row) == bool(field.metadata.get("option")), field.name
    assert "| `cold_start_share` | 0.05 |" in text
    assert 'REVIEW_ARGS="--cold-start-share 0.05 --refused-share 0.02"' in text, "how to pass the options"


def test_a_definition_the_cost_model_cannot_follow_keeps_the_rest_of_the_report(monkeypatch):
    def refuse(synthesis, assumptions):
        raise WorkloadError("state 'Each' is a Map")

    monkeypatch.setattr(cost_section, "estimate", refuse)
    text = report("dev")
    assert "| per million images | not modelled |" in text
    assert "cannot follow this stack's workflows: state 'Each' is a Map" in text
    assert "## Resource tree" in text


def test_make_reviews_options_reach_the_cost_model(tmp_path):
    argv = ["--stack", "dev", "--quiet", "--output-dir", str(tmp_path), "--refused-share", "0.02", "--storage-days"]
    assert review_main.main([*argv, "7"]) == 0
    text = (tmp_path / "dev.md").read_text()
    assert "2% refused" in text
    assert "to keep them 7 days" in text
    assert "| `refused_share` | 0.02 |" in text


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--cold-start-share", "2"], "argument --cold-start-share: '2' is out of range"),
        (["--retry-share", "often"], "argument --retry-share: 'often' is not a number"),
    ],
)
def test_a_bad_option_stops_make_review_with_the_options_name(argv, named, capsys):
    with pytest.raises(SystemExit) as exit_:
        review_main.main(["--stack", "dev", *argv])
    assert exit_.value.code == 2
    assert named in capsys.readouterr().err


def test_options_that_cannot_hold_together_are_a_usage_error_naming_them(tmp_path, capsys):
    argv = ["--stack", "dev", "--quiet", "--output-dir", str(tmp_path), "--heavy-share", "0.6", "--refused-share"]
    assert review_main.main([*argv, "0.5"]) == 2
    assert "--heavy-share 0.6 and --refused-share 0.5" in capsys.readouterr().err
    assert not (tmp_path / "dev.md").exists()
