"""What watches a stack and whom it tells (review/operations.py): the review report's Operations section and the
Operations part of `make preview`, for each stack's own program and the reference program (every component)."""

import math
import re

import pytest

from policy.rules.idle import DASHBOARD, METRIC_ALARM, idle_charges
from policy.rules.monitoring import ALARMABLE, SUBSCRIPTION, TOPIC
from review import preview
from review.markdown import usd
from review.operations import EVENT_RULE, first_sentence, operations, section, text_lines
from review.policies import PolicyOutcome
from review.report import build_report
from tests.conftest import synthesized
from tests.reference import reference_program

PROGRAMS = [synthesized, reference_program]
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"


def watchable(synthesis):
    """Every resource that can fail, but the rules that deliver to the alarm topic (alerts themselves)."""
    topics = {topic.outputs["arn"] for topic in synthesis.of_type(TOPIC)}
    alerts = {t.inputs["rule"] for t in synthesis.of_type(EVENT_TARGET) if t.inputs.get("arn") in topics}
    return [r for r in synthesis.resources if r.type in ALARMABLE and r.inputs.get("name") not in alerts]


def operations_section(synthesis):
    return build_report(synthesis, PolicyOutcome(available=False)).split("## Operations\n")[1].split("\n## ")[0]


@pytest.mark.parametrize("program_of", PROGRAMS, ids=["program", "reference"])
def test_the_report_lists_every_alarm_under_a_resource_and_every_watchable_resource(program_of):
    synthesis = program_of("prod")
    text = operations_section(synthesis)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for alarm in synthesis.of_type(METRIC_ALARM):
        assert f"`{alarm.inputs['name']}`" in text, alarm.name
    resources = {match.group(1) for row in rows for match in [re.match(r"\| `([^`]+)` \(", row)] if match}
    missing = {r.name for r in watchable(synthesis)} - resources
    assert not missing, f"not shown as watched: {sorted(missing)}"


def test_an_alarm_row_says_what_it_watches_when_it_fires_and_what_it_means():
    text = operations_section(reference_program("prod"))
    row = next(line for line in text.splitlines() if "`image-pipeline-prod-convert-errors`" in line)
    expected = (
        "| `image-pipeline-prod-convert-errors` | AWS/Lambda Errors (Sum, 60 s) | > 0 | Invocations failed: the "
        "handler raised, ran out of memory or timed out. | $0.10 |"
    )
    assert row.endswith(expected), row
    rows = text.splitlines()
    owner = next(line for line in reversed(rows[: rows.index(row) + 1]) if not line.startswith("|  |"))
    assert owner.startswith("| `convert-function` (function) |"), "each resource once, on its first row"
    system_errors = next(line for line in text.splitlines() if "jobs-system-errors" in line)
    assert "SUM([m0, m1]) of 2 metrics: AWS/DynamoDB SystemErrors (Sum, 60 s)" in system_errors
    assert system_errors.endswith("| $0.20 |"), "a metric-math alarm bills each metric it reads"
    batch = next(line for line in text.splitlines() if "batch-task-failed" in line)
    assert batch.startswith("| `batch-task-definition` (task definition) |"), "the task's alert is its rule"


def test_the_figures_are_the_idle_costs_of_the_alarms_and_the_dashboard(stack):
    synthesis = synthesized(stack)
    found = operations(synthesis)
    charges = idle_charges((r.urn, r.type, r.inputs) for r in synthesis.resources)
    alarms = sum(c.usd_per_month for c in charges if c.type == METRIC_ALARM)
    dashboards = sum(c.usd_per_month for c in charges if c.type == DASHBOARD)
    assert math.isclose(found.alarms_usd, alarms)
    assert math.isclose(found.dashboards_usd, dashboards)
    assert math.isclose(sum(a.usd_per_month for w in found.watched for a in w.alarms), alarms)
    if alarms or dashboards:
        assert f": {usd(alarms + dashboards)}/month of the idle cost below" in section(synthesis)[0]


def test_prod_shows_its_topic_with_subscribers_its_dashboard_and_its_backups():
    text = operations_section(reference_program("prod"))
    assert "Topic `operations-topic` (`image-pipeline-prod-alarms`, encrypted with `data-key`)." in text
    for subscription in reference_program("prod").of_type(SUBSCRIPTION):
        assert f"| `{subscription.name}` | email | `{subscription.inputs['endpoint']}` |" in text
    assert "| `operations-dashboard` | dashboard image-pipeline-prod-operations: " in text
    assert "| `operations-plan` | backup plan image-pipeline-prod-daily: rule daily at cron(0 3 * * ? *), " in text
    assert "protects `jobs-table`, `ledger-cluster`" in text


def test_dev_says_it_has_no_operations():
    dev = reference_program("dev")
    assert operations(dev).empty
    assert operations_section(dev).strip().startswith("This stack declares no alarms")
    assert text_lines(dev) == ["Operations: none (no alarms, alarm topic, dashboard or backup plan)"]


def test_make_preview_shows_what_watches_each_resource_the_topic_the_dashboard_and_the_backup_plan(capsys):
    assert preview.main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    part = out[out.index("\nOperations:\n") : out.index("\nOutputs:\n")]
    program = synthesized("prod")
    for resource in watchable(program):
        assert f"\n  {ALARMABLE[resource.type]} {resource.name}\n    " in part, resource.name
    for alarm in program.of_type(METRIC_ALARM):
        assert f"\n    alarm {alarm.inputs['name']}: " in part, alarm.name
    alerts = [r for r in program.of_type(EVENT_RULE) if r.parent.endswith("$platform:index:Operations::operations")]
    for rule in alerts:
        assert f"\n    failure events {rule.inputs['name']} -> operations-topic\n" in part, rule.name
    assert "\n  topic operations-topic (image-pipeline-prod-alarms): email ops@example.com\n" in part
    assert "\n  dashboard image-pipeline-prod-operations: " in part
    assert "\n  backup plan image-pipeline-prod-daily: rule daily at cron(0 3 * * ? *), kept 35 days" in part


def test_the_reports_resource_tree_is_the_tree_alone():
    """The report has its own Operations section: the tree it reuses from the preview does not repeat it."""
    assert "\nOperations:" not in preview.render(synthesized("prod"))


@pytest.mark.parametrize(
    ("description", "sentence"),
    [
        ("Writes were throttled. Runbook: docs/runbook.md#table-write-throttles", "Writes were throttled."),
        ("The p99 took 95% of the 30 s timeout: about to time out. Runbook: x", "The p99 took 95% of the 30 s timeout: "
         "about to time out."),
        ("No full stop", "No full stop"),
    ],
)  # fmt: skip
def test_the_meaning_is_the_descriptions_first_sentence(description, sentence):
    assert first_sentence(description) == sentence
