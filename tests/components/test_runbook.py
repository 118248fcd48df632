"""docs/runbook.md has a section for every alarm and failure event the platform's components create, and its own
links resolve: an alarm's notification links to its section, so a missing one is a dead end at the worst moment."""

import re
from pathlib import Path

from components.operations import APPLICATION, RUNBOOK
from synth.program import Synthesis
from tests.reference import reference_program

RUNBOOK_PATH = Path(__file__).resolve().parents[2] / RUNBOOK
LINK = re.compile(re.escape(f"Runbook: {RUNBOOK}#") + r"([\w-]+)$")
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"


def runbook_anchors() -> set[str]:
    return set(re.findall(r'<a id="([\w-]+)"></a>', RUNBOOK_PATH.read_text()))


def runbook_links(program: Synthesis) -> dict[str, str]:
    """Each alarm's and alert rule's runbook section, by resource name."""
    links = {}
    for resource in [*program.of_type(ALARM), *program.of_type(RULE)]:
        description = resource.inputs.get("alarmDescription") or resource.inputs.get("description") or ""
        found = LINK.search(description)
        if found:
            links[resource.name] = found[1]
    return links


def test_every_alarm_and_alert_of_the_components_has_a_runbook_section():
    program = reference_program("prod")
    links = runbook_links(program)
    alerts = [r.name for r in program.of_type(RULE) if r.parent.endswith("Operations::operations")]
    assert {r.name for r in program.of_type(ALARM)} | set(alerts) <= set(links), "every alarm and alert links"
    # A program's own alarms are the program's to document (the sample's are: tests/program).
    platform = {name: anchor for name, anchor in links.items() if not anchor.startswith(f"{APPLICATION}-")}
    missing = {name: anchor for name, anchor in platform.items() if anchor not in runbook_anchors()}
    assert not missing, f"no section in {RUNBOOK} for {missing}"


def test_the_runbooks_own_links_resolve():
    targets = set(re.findall(r"\]\(#([\w-]+)\)", RUNBOOK_PATH.read_text()))
    headings = {
        re.sub(r"[^\w -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in RUNBOOK_PATH.read_text().splitlines()
        if line.startswith("## ")
    }
    assert targets <= runbook_anchors() | headings, sorted(targets - runbook_anchors() - headings)
